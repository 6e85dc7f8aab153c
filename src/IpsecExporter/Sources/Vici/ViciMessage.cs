using System.Net;
using System.Runtime.InteropServices;
using System.Text;

namespace IpsecExporter.Sources.Vici;

/// <summary>
/// One section of a VICI message tree (the message itself is the implicit root section): key/values, lists and
/// sub-sections, in wire order. charon encodes every value as a string, so values are UTF-8 text. A decoded section
/// keeps its values as bytes of the frame and makes a string of one only when asked (<see cref="Value"/>): a
/// collection reads most values as numbers (<see cref="TryGetUtf8"/>), and a hub's <c>list-sas</c> has hundreds of
/// thousands of them.
/// </summary>
public sealed class ViciSection
{
    /// <summary>The frame a decoded section's values point into; empty for a section built with <see cref="Add"/>.</summary>
    private ReadOnlyMemory<byte> _frame;

    // Built sections hold lists that Add grows; decoded ones ranges of arrays (their own, exactly sized, or a
    // connection's blocks reused from frame to frame: ViciSectionBlocks, which also reuses the sections themselves).
    private List<Entry>? _values;
    private List<(string Name, IReadOnlyList<string> Items)>? _lists;
    private List<(string Name, ViciSection Section)>? _sections;
    private ArraySegment<Entry> _decodedValues;
    private ArraySegment<(string Name, IReadOnlyList<string> Items)> _decodedLists;
    private ArraySegment<(string Name, ViciSection Section)> _decodedSections;

    /// <summary>The strings of values that repeat from answer to answer, for a section decoded into reused blocks.</summary>
    private ViciValuePool? _pool;

    public ViciSection()
    {
    }

    /// <summary>Makes this section a decoded one (<see cref="ViciCodec"/>): its entries over <paramref name="frame"/>.</summary>
    internal ViciSection Decoded(
        ReadOnlyMemory<byte> frame,
        ArraySegment<Entry> values,
        ArraySegment<(string Name, IReadOnlyList<string> Items)> lists,
        ArraySegment<(string Name, ViciSection Section)> sections,
        ViciValuePool? pool)
    {
        _frame = frame;
        _values = null;
        _lists = null;
        _sections = null;
        _decodedValues = values;
        _decodedLists = lists;
        _decodedSections = sections;
        _pool = pool;
        return this;
    }

    /// <summary>The key/values in wire order, as strings (made on each call: meant for encoding and display).</summary>
    public IReadOnlyList<(string Name, string Value)> Values
    {
        get
        {
            var values = new List<(string Name, string Value)>();
            foreach (var entry in ValueEntries)
            {
                values.Add((entry.Name, Text(entry)));
            }

            return values;
        }
    }

    public IReadOnlyList<(string Name, IReadOnlyList<string> Items)> Lists =>
        _lists ?? (_decodedLists.Count > 0 ? _decodedLists : (IReadOnlyList<(string Name, IReadOnlyList<string> Items)>)[]);

    /// <summary>Sub-sections in wire order (their order matters, e.g. CHILD SAs in a <c>list-sa</c> event).</summary>
    public IReadOnlyList<(string Name, ViciSection Section)> Sections =>
        _sections ?? (_decodedSections.Count > 0 ? _decodedSections : (IReadOnlyList<(string Name, ViciSection Section)>)[]);

    /// <summary>The sub-sections as a span: what the collection's hot path walks (the list boxes a decoded section's range).</summary>
    internal ReadOnlySpan<(string Name, ViciSection Section)> SectionSpan => SectionEntries;

    public string? Value(string name) => Find(name, out var entry) ? Text(entry) : null;

    /// <summary>
    /// The UTF-8 bytes of <paramref name="name"/>'s value without making a string of it; false when there is none.
    /// </summary>
    public bool TryGetUtf8(string name, out ReadOnlySpan<byte> value)
    {
        if (!Find(name, out var entry))
        {
            value = default;
            return false;
        }

        value = entry.Text is { } text ? Encoding.UTF8.GetBytes(text) : _frame.Span.Slice(entry.Offset, entry.Length);
        return true;
    }

    /// <summary>
    /// <paramref name="name"/>'s value as a string shared with other sections and, for a section decoded into reused
    /// blocks, with earlier answers: for values that repeat (states, names, SA keys). Null when there is none.
    /// </summary>
    internal string? Shared(string name) => TryGetUtf8(name, out var value) ? ViciNames.Intern(value, _pool) : null;

    /// <summary>
    /// The string of <paramref name="utf8"/> (text made from this section's values, such as an SA key), the one of earlier
    /// answers for a section decoded into reused blocks.
    /// </summary>
    internal string Pooled(ReadOnlySpan<byte> utf8) => ViciValuePool.Text(_pool, utf8);

    /// <summary><paramref name="name"/>'s value as an address (the one of earlier answers, as <see cref="Pooled"/>); null when there is none or it is not one.</summary>
    internal IPAddress? Address(string name)
    {
        if (!TryGetUtf8(name, out var text))
        {
            return null;
        }

        return _pool is not null ? _pool.Address(text) : IPAddress.TryParse(text, out var address) ? address : null;
    }

    public IReadOnlyList<string> List(string name)
    {
        foreach (var (listName, items) in ListEntries)
        {
            if (listName == name)
            {
                return items;
            }
        }

        return [];
    }

    public ViciSection? Section(string name)
    {
        foreach (var (sectionName, section) in SectionEntries)
        {
            if (sectionName == name)
            {
                return section;
            }
        }

        return null;
    }

    public ViciSection Add(string name, string value)
    {
        (_values ??= [.. ValueEntries]).Add(new Entry(name, value, 0, 0));
        return this;
    }

    public ViciSection AddList(string name, IReadOnlyList<string> items)
    {
        (_lists ??= [.. ListEntries]).Add((name, items));
        return this;
    }

    public ViciSection AddSection(string name, ViciSection section)
    {
        (_sections ??= [.. SectionEntries]).Add((name, section));
        return this;
    }

    // Spans: a foreach over the interface allocated an enumerator per lookup, hundreds of thousands per collection of a
    // hub's list-sas (docs/PERFORMANCE.md).
    private ReadOnlySpan<Entry> ValueEntries => _values is not null ? CollectionsMarshal.AsSpan(_values) : _decodedValues.AsSpan();

    private ReadOnlySpan<(string Name, IReadOnlyList<string> Items)> ListEntries =>
        _lists is not null ? CollectionsMarshal.AsSpan(_lists) : _decodedLists.AsSpan();

    private ReadOnlySpan<(string Name, ViciSection Section)> SectionEntries =>
        _sections is not null ? CollectionsMarshal.AsSpan(_sections) : _decodedSections.AsSpan();

    private bool Find(string name, out Entry entry)
    {
        foreach (var candidate in ValueEntries)
        {
            // Decoded names are interned (ViciCodec), so the reference comparison usually decides.
            if (ReferenceEquals(candidate.Name, name) || candidate.Name == name)
            {
                entry = candidate;
                return true;
            }
        }

        entry = default;
        return false;
    }

    private string Text(Entry entry) => entry.Text ?? Encoding.UTF8.GetString(_frame.Span.Slice(entry.Offset, entry.Length));

    /// <summary>A key/value: a string (built sections) or a range of the frame (decoded ones).</summary>
    internal readonly record struct Entry(string Name, string? Text, int Offset, int Length);
}

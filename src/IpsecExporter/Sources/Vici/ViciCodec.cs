using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace IpsecExporter.Sources.Vici;

/// <summary>Packet types of the VICI packet layer (strongSwan <c>src/libcharon/plugins/vici/README.md</c>).</summary>
public enum ViciPacketType : byte
{
    CmdRequest = 0,
    CmdResponse = 1,
    CmdUnknown = 2,
    EventRegister = 3,
    EventUnregister = 4,
    EventConfirm = 5,
    EventUnknown = 6,
    Event = 7,
}

/// <summary>One packet: its type, the name (for named types) and the message (for the types that carry one).</summary>
public sealed record ViciPacket(ViciPacketType Type, string? Name, ViciSection? Message);

/// <summary>The data sent or received was not valid VICI. Only the collection that met it fails.</summary>
public sealed class ViciProtocolException(string message) : Exception(message);

/// <summary>
/// Encodes and decodes VICI packets and messages. A transport frame is a 32-bit big-endian length and that many bytes
/// (at most <see cref="MaxFrameLength"/>); the first byte is the packet type, named types follow with an 8-bit length
/// and the name, and message-carrying types end with a message: a sequence of elements (section start/end,
/// key/value, list start/item/end), names with an 8-bit length, values with a 16-bit big-endian length.
/// </summary>
public static class ViciCodec
{
    /// <summary>charon refuses and never sends segments longer than 512 KiB.</summary>
    public const int MaxFrameLength = 512 * 1024;

    /// <summary>
    /// charon's deepest messages (list-conns: connection, children, child, traffic selectors) nest 4 sections; a frame
    /// of nothing but section starts would otherwise build a tree 170,000 levels deep for whoever walks it.
    /// </summary>
    public const int MaxSectionDepth = 16;

    private const byte SectionStart = 1;
    private const byte SectionEnd = 2;
    private const byte KeyValue = 3;
    private const byte ListStart = 4;
    private const byte ListItem = 5;
    private const byte ListEnd = 6;

    public static bool IsNamed(ViciPacketType type) =>
        type is ViciPacketType.CmdRequest or ViciPacketType.EventRegister or ViciPacketType.EventUnregister or ViciPacketType.Event;

    public static bool HasMessage(ViciPacketType type) =>
        type is ViciPacketType.CmdRequest or ViciPacketType.CmdResponse or ViciPacketType.Event;

    /// <summary>The packet with its 4-byte length prefix, ready to write to the socket.</summary>
    public static byte[] EncodeFrame(ViciPacket packet)
    {
        var body = new List<byte>(64) { 0, 0, 0, 0, (byte)packet.Type };
        if (IsNamed(packet.Type))
        {
            AddName(body, packet.Name ?? throw new ArgumentException($"{packet.Type} packets need a name", nameof(packet)));
        }

        if (HasMessage(packet.Type))
        {
            EncodeMessage(packet.Message ?? new ViciSection(), body);
        }

        var length = body.Count - 4;
        if (length > MaxFrameLength)
        {
            throw new ArgumentException($"packet of {length} bytes exceeds the VICI limit of {MaxFrameLength}", nameof(packet));
        }

        var frame = body.ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)length);
        return frame;
    }

    /// <summary>Decodes one frame's data (without the length prefix) from a copy of <paramref name="data"/>.</summary>
    public static ViciPacket DecodePacket(ReadOnlySpan<byte> data) => DecodeFrame(data.ToArray());

    /// <summary>
    /// Decodes one frame's data (without the length prefix) in place: the message's values stay bytes of
    /// <paramref name="data"/> until they are read, so <paramref name="data"/> must not change while the packet is used.
    /// With <paramref name="blocks"/>, the sections' entries go into those blocks instead of arrays of their own, and
    /// the packet (its sections too: they are the blocks' objects) is only valid until the next frame is decoded with
    /// them (a reused frame buffer's packets already are).
    /// </summary>
    public static ViciPacket DecodeFrame(ReadOnlyMemory<byte> data, ViciSectionBlocks? blocks = null)
    {
        var span = data.Span;
        if (span.IsEmpty)
        {
            throw new ViciProtocolException("empty packet");
        }

        var type = (ViciPacketType)span[0];
        if (!Enum.IsDefined(type))
        {
            throw new ViciProtocolException($"unknown packet type {span[0]}");
        }

        var reader = new Reader(span, 1);
        var name = IsNamed(type) ? reader.Name(new What("packet name")) : null;
        ViciSection? message = null;
        if (HasMessage(type))
        {
            message = DecodeMessage(data, ref reader, blocks);
        }
        else if (!reader.AtEnd)
        {
            throw new ViciProtocolException($"{type} packet carries {span.Length - reader.Offset} unexpected byte(s)");
        }

        return new ViciPacket(type, name, message);
    }

    public static ViciSection DecodeMessage(ReadOnlySpan<byte> data)
    {
        var frame = data.ToArray();
        var reader = new Reader(frame, 0);
        return DecodeMessage(frame, ref reader);
    }

    public static void EncodeMessage(ViciSection section, List<byte> output)
    {
        foreach (var (name, value) in section.Values)
        {
            output.Add(KeyValue);
            AddName(output, name);
            AddValue(output, value);
        }

        foreach (var (name, items) in section.Lists)
        {
            output.Add(ListStart);
            AddName(output, name);
            foreach (var item in items)
            {
                output.Add(ListItem);
                AddValue(output, item);
            }

            output.Add(ListEnd);
        }

        foreach (var (name, sub) in section.Sections)
        {
            output.Add(SectionStart);
            AddName(output, name);
            EncodeMessage(sub, output);
            output.Add(SectionEnd);
        }
    }

    /// <summary>
    /// Decodes the elements from the reader's position to the end of <paramref name="frame"/>. The entries of the open
    /// sections are gathered in per-thread scratch lists (a section's own entries are always the tail when it ends,
    /// its sub-sections' having been taken off before) and copied into exactly sized lists when it ends, or into
    /// <paramref name="blocks"/>, whose pool then also gives the strings of section names and list items.
    /// </summary>
    private static ViciSection DecodeMessage(ReadOnlyMemory<byte> frame, ref Reader reader, ViciSectionBlocks? blocks = null)
    {
        var scratch = Scratch.Current;
        scratch.Clear();
        blocks?.Reset();
        var pool = blocks?.Pool;
        string? listName = null;
        while (!reader.AtEnd)
        {
            var at = reader.Offset;
            var element = reader.Byte(new What("element type"));
            if (listName is not null && element is not (ListItem or ListEnd))
            {
                throw new ViciProtocolException($"element type {element} at offset {at} inside list '{listName}' (only list items may appear there)");
            }

            switch (element)
            {
                case SectionStart:
                    if (scratch.Open.Count == MaxSectionDepth)
                    {
                        throw new ViciProtocolException($"section at offset {at} nested deeper than {MaxSectionDepth} levels");
                    }

                    scratch.Open.Push(new OpenSection(ViciNames.Intern(reader.NameBytes(new What("section name")), pool), scratch.Values.Count, scratch.Lists.Count, scratch.Sections.Count));
                    break;
                case SectionEnd:
                    if (scratch.Open.Count == 0)
                    {
                        throw new ViciProtocolException($"section end at offset {at} without an open section");
                    }

                    var open = scratch.Open.Pop();
                    scratch.Sections.Add((open.Name, scratch.Take(frame, open, blocks)));
                    break;
                case KeyValue:
                    var key = ViciNames.Intern(reader.NameBytes(new What("key name")), pool);
                    var (offset, length) = reader.ValueRange(new What("value of", key));
                    scratch.Values.Add(new ViciSection.Entry(key, null, offset, length));
                    break;
                case ListStart:
                    listName = ViciNames.Intern(reader.NameBytes(new What("list name")), pool);
                    scratch.Items.Clear();
                    break;
                case ListItem:
                    if (listName is null)
                    {
                        throw new ViciProtocolException($"list item at offset {at} outside a list");
                    }

                    scratch.Items.Add(reader.ValueRange(new What("item of list", listName)));
                    break;
                case ListEnd:
                    if (listName is null)
                    {
                        throw new ViciProtocolException($"list end at offset {at} without an open list");
                    }

                    scratch.Lists.Add((listName, scratch.TakeItems(frame.Span, pool)));
                    listName = null;
                    break;
                default:
                    throw new ViciProtocolException($"unknown message element type {element} at offset {at}");
            }
        }

        if (listName is not null)
        {
            throw new ViciProtocolException($"message ends inside list '{listName}'");
        }

        if (scratch.Open.Count > 0)
        {
            throw new ViciProtocolException($"message ends with {scratch.Open.Count} unclosed section(s)");
        }

        return scratch.Take(frame, new OpenSection(string.Empty, 0, 0, 0), blocks);
    }

    private static void AddName(List<byte> output, string name)
    {
        var bytes = Encoding.ASCII.GetBytes(name);
        if (bytes.Length is 0 or > byte.MaxValue)
        {
            throw new ArgumentException($"VICI names are 1-255 ASCII bytes: '{name}'", nameof(name));
        }

        output.Add((byte)bytes.Length);
        output.AddRange(bytes);
    }

    private static void AddValue(List<byte> output, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        if (bytes.Length > ushort.MaxValue)
        {
            throw new ArgumentException($"VICI values are at most {ushort.MaxValue} bytes", nameof(value));
        }

        output.Add((byte)(bytes.Length >> 8));
        output.Add((byte)bytes.Length);
        output.AddRange(bytes);
    }

    /// <summary>What is being read, for the error message: made into text only when the data is invalid (decoding a
    /// hub's <c>list-sas</c> formatted one for every element before).</summary>
    private readonly record struct What(string Kind, string? Name = null, bool LengthOf = false)
    {
        public What Length => this with { LengthOf = true };

        public override string ToString() => (LengthOf ? "length of " : "") + (Name is null ? Kind : $"{Kind} '{Name}'");
    }

    private readonly record struct OpenSection(string Name, int Values, int Lists, int Sections);

    /// <summary>The entries of the sections open while one message is decoded (decoding never awaits: one per thread).</summary>
    private sealed class Scratch
    {
        [ThreadStatic]
        private static Scratch? _current;

        public static Scratch Current => _current ??= new Scratch();

        public List<ViciSection.Entry> Values { get; } = new(64);

        public List<(string Name, IReadOnlyList<string> Items)> Lists { get; } = new(8);

        public List<(string Name, ViciSection Section)> Sections { get; } = new(8);

        public Stack<OpenSection> Open { get; } = new(MaxSectionDepth);

        /// <summary>The items of the open list, as ranges of the frame.</summary>
        public List<(int Offset, int Length)> Items { get; } = new(8);

        public void Clear()
        {
            Values.Clear();
            Lists.Clear();
            Sections.Clear();
            Open.Clear();
            Items.Clear();
        }

        /// <summary>The open list's items as strings; a one-item list (a CHILD SA's selectors) shared through <paramref name="pool"/>.</summary>
        public IReadOnlyList<string> TakeItems(ReadOnlySpan<byte> frame, ViciValuePool? pool)
        {
            if (pool is not null && Items.Count == 1)
            {
                return pool.Single(frame.Slice(Items[0].Offset, Items[0].Length));
            }

            var items = new string[Items.Count];
            for (var i = 0; i < items.Length; i++)
            {
                var utf8 = frame.Slice(Items[i].Offset, Items[i].Length);
                items[i] = ViciValuePool.Text(pool, utf8);
            }

            return items;
        }

        /// <summary>
        /// The section whose entries start at <paramref name="open"/>'s counts: moved out of the scratch lists, into
        /// <paramref name="blocks"/> when given, else into exactly sized arrays.
        /// </summary>
        public ViciSection Take(ReadOnlyMemory<byte> frame, OpenSection open, ViciSectionBlocks? blocks) =>
            (blocks?.NextSection() ?? new ViciSection()).Decoded(
                frame, Move(Values, open.Values, blocks?.Values), Move(Lists, open.Lists, blocks?.Lists), Move(Sections, open.Sections, blocks?.Sections), blocks?.Pool);

        private static ArraySegment<T> Move<T>(List<T> scratch, int start, ViciSectionBlocks.Block<T>? block)
        {
            var count = scratch.Count - start;
            if (count == 0)
            {
                return default;
            }

            var entries = CollectionsMarshal.AsSpan(scratch).Slice(start, count);
            var moved = block is null ? new ArraySegment<T>(entries.ToArray()) : block.Append(entries);
            scratch.RemoveRange(start, count);
            return moved;
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> data, int offset)
    {
        private readonly ReadOnlySpan<byte> _data = data;

        public int Offset { get; private set; } = offset;

        public readonly bool AtEnd => Offset >= _data.Length;

        public byte Byte(What what)
        {
            Need(1, what);
            return _data[Offset++];
        }

        public string Name(What what) => ViciNames.Intern(NameBytes(what));

        public ReadOnlySpan<byte> NameBytes(What what)
        {
            var length = Byte(what.Length);
            Need(length, what);
            var name = _data.Slice(Offset, length);
            Offset += length;
            return name;
        }

        public (int Offset, int Length) ValueRange(What what)
        {
            Need(2, what.Length);
            var length = BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(Offset, 2));
            Offset += 2;
            Need(length, what);
            var range = (Offset, (int)length);
            Offset += length;
            return range;
        }

        private readonly void Need(int count, What what)
        {
            if (_data.Length - Offset < count)
            {
                throw new ViciProtocolException($"truncated {what} at offset {Offset}: {count} byte(s) needed, {_data.Length - Offset} left");
            }
        }
    }
}

/// <summary>
/// Where decoded sections keep their entries when their frame is decoded into a reused buffer (a hub's streamed
/// <c>list-sas</c>: 10,000 frames, each mapped before the next is read): one block per kind of entry, used again from
/// the start for each frame, instead of an exactly sized array per section (a third of what triggered the GC at
/// 10,000 tunnels, docs/PERFORMANCE.md). One per connection: a frame's sections may be read after an await. Its
/// <see cref="Pool"/> keeps the strings of repeating values from one answer to the next.
/// </summary>
public sealed class ViciSectionBlocks
{
    internal Block<ViciSection.Entry> Values { get; } = new(256);

    internal Block<(string Name, IReadOnlyList<string> Items)> Lists { get; } = new(16);

    internal Block<(string Name, ViciSection Section)> Sections { get; } = new(16);

    internal ViciValuePool Pool { get; } = new();

    // The section objects of the frame, used again for the next one (five or more per IKE SA of a list-sas).
    private readonly List<ViciSection> _sectionObjects = [];
    private int _sectionsUsed;

    /// <summary>Starts decoding the frames of another answer (the next poll's <c>list-sas</c>): see <see cref="ViciValuePool.NextAnswer"/>.</summary>
    public void NextAnswer() => Pool.NextAnswer();

    internal void Reset()
    {
        Values.Reset();
        Lists.Reset();
        Sections.Reset();
        _sectionsUsed = 0;
    }

    internal ViciSection NextSection()
    {
        if (_sectionsUsed == _sectionObjects.Count)
        {
            _sectionObjects.Add(new ViciSection());
        }

        return _sectionObjects[_sectionsUsed++];
    }

    internal sealed class Block<T>(int capacity)
    {
        private T[] _items = new T[capacity];
        private int _used;

        /// <summary>A copy of <paramref name="entries"/> in the block; a block that grows leaves earlier ranges in the old array.</summary>
        public ArraySegment<T> Append(ReadOnlySpan<T> entries)
        {
            if (_used + entries.Length > _items.Length)
            {
                _items = new T[Math.Max(2 * _items.Length, _used + entries.Length)];
                _used = 0;
            }

            entries.CopyTo(_items.AsSpan(_used));
            var range = new ArraySegment<T>(_items, _used, entries.Length);
            _used += entries.Length;
            return range;
        }

        public void Reset()
        {
            // The previous frame's entries hold names and sections: let them go.
            _items.AsSpan(0, _used).Clear();
            _used = 0;
        }
    }
}

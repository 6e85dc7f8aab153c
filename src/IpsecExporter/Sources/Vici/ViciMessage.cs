namespace IpsecExporter.Sources.Vici;

/// <summary>
/// One section of a VICI message tree (the message itself is the implicit root section): key/values, lists and
/// sub-sections, in wire order. charon encodes every value as a string, so values are decoded as UTF-8 text.
/// </summary>
public sealed class ViciSection
{
    private readonly List<(string Name, string Value)> _values = [];
    private readonly List<(string Name, IReadOnlyList<string> Items)> _lists = [];
    private readonly List<(string Name, ViciSection Section)> _sections = [];

    public IReadOnlyList<(string Name, string Value)> Values => _values;

    public IReadOnlyList<(string Name, IReadOnlyList<string> Items)> Lists => _lists;

    /// <summary>Sub-sections in wire order (their order matters, e.g. CHILD SAs in a <c>list-sa</c> event).</summary>
    public IReadOnlyList<(string Name, ViciSection Section)> Sections => _sections;

    public string? Value(string name) => _values.Find(v => v.Name == name).Value;

    public IReadOnlyList<string> List(string name) => _lists.Find(l => l.Name == name).Items ?? [];

    public ViciSection? Section(string name) => _sections.Find(s => s.Name == name).Section;

    public ViciSection Add(string name, string value)
    {
        _values.Add((name, value));
        return this;
    }

    public ViciSection AddList(string name, IReadOnlyList<string> items)
    {
        _lists.Add((name, items));
        return this;
    }

    public ViciSection AddSection(string name, ViciSection section)
    {
        _sections.Add((name, section));
        return this;
    }
}

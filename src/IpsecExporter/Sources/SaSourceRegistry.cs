using IpsecExporter.Sources.Vici;

namespace IpsecExporter.Sources;

/// <summary>The one place that maps a source's YAML <c>type</c> to its implementation.</summary>
public sealed class SaSourceRegistry
{
    private readonly Dictionary<string, ISaSourceFactory> _factories;

    public SaSourceRegistry(IEnumerable<ISaSourceFactory> factories)
    {
        _factories = factories.ToDictionary(f => f.Type, StringComparer.Ordinal);
    }

    /// <summary>Every source type this build supports.</summary>
    public static SaSourceRegistry CreateDefault() => new([new ViciSourceFactory()]);

    public IReadOnlyCollection<ISaSourceFactory> Factories => _factories.Values;

    public IReadOnlyCollection<string> Types => _factories.Keys.Order(StringComparer.Ordinal).ToList();

    public ISaSourceFactory? Find(string type) => _factories.GetValueOrDefault(type);
}

using IpsecExporter.Probes.Icmp;

namespace IpsecExporter.Probes;

/// <summary>Creates one kind of probe; registered in <see cref="ProbeRegistry"/> under <see cref="Kind"/>.</summary>
public interface IProbeFactory
{
    string Kind { get; }

    IProbe Create(IServiceProvider services);
}

/// <summary>The one place that maps a probe kind (like blackbox_exporter's prober names) to its implementation.</summary>
public sealed class ProbeRegistry
{
    private readonly Dictionary<string, IProbeFactory> _factories;

    public ProbeRegistry(IEnumerable<IProbeFactory> factories)
    {
        _factories = factories.ToDictionary(f => f.Kind, StringComparer.Ordinal);
    }

    /// <summary>Every probe kind this build supports.</summary>
    public static ProbeRegistry CreateDefault() => new([new IcmpProbeFactory()]);

    public IReadOnlyCollection<string> Kinds => _factories.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>Creates a probe of <paramref name="kind"/>; throws when the kind is not registered.</summary>
    public IProbe Create(string kind, IServiceProvider services) =>
        _factories.TryGetValue(kind, out var factory)
            ? factory.Create(services)
            : throw new InvalidOperationException($"probe kind '{kind}' is not registered (registered: {string.Join(", ", Kinds)})");
}

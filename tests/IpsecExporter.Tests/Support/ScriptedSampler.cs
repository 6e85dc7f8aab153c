using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis;

namespace IpsecExporter.Tests.Support;

/// <summary>Feeds the diagnosis the samples a test decides, per tunnel.</summary>
public sealed class ScriptedSampler : ITunnelSampler
{
    private readonly Dictionary<string, Func<DateTimeOffset, TunnelSample>> _next = new(StringComparer.Ordinal);

    public void Set(string tunnel, Func<DateTimeOffset, TunnelSample> sample) => _next[tunnel] = sample;

    public TunnelSample Sample(ExporterConfig config, TunnelConfig tunnel, DateTimeOffset now, TunnelSample? previous) =>
        _next.TryGetValue(tunnel.Name, out var sample)
            ? sample(now)
            : new TunnelSample(now, false, null, [], null, [], new InternetSample(null, null, null, null), []);
}

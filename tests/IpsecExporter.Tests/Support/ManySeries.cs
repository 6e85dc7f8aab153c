using IpsecExporter.Metrics;

namespace IpsecExporter.Tests.Support;

/// <summary>A contributor of one gauge family with <paramref name="count"/> series, for expositions larger than a chunk.</summary>
public sealed class ManySeries(int count) : IMetricsContributor
{
    public static readonly MetricFamily Family = new("test_many", "Many series.", MetricKind.Gauge, MetricFamilies.TunnelLabels);

    private readonly MetricLabels[] _labels = [.. Enumerable.Range(0, count).Select(i => MetricFamilies.TunnelLabels.Values($"tunnel-{i}"))];

    public async ValueTask WriteAsync(MetricsWriter writer, CancellationToken cancellationToken)
    {
        writer.Family(Family);
        for (var i = 0; i < _labels.Length; i++)
        {
            writer.Sample(_labels[i], i);
            await writer.FlushIfFullAsync(cancellationToken);
        }
    }
}

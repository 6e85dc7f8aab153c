using Prometheus;

namespace IpsecExporter.Metrics;

/// <summary>
/// The exporter process's own metrics: prometheus-net's runtime collector (process_*, dotnet_*) in one isolated
/// registry that <see cref="MetricsExposition"/> renders before the scrape-time families, and
/// <c>ipsec_exporter_build_info</c>, written at scrape time like the others; and the RTT buckets, fixed for the process.
/// </summary>
public sealed class ExporterMetrics : IMetricsContributor
{
    /// <summary>
    /// Default RTT buckets (<c>probes.rtt_buckets</c>): from 50 µs by factors of 4 to ~13 s (10 buckets), so a LAN
    /// (tens of µs) and a bad WAN (seconds) both resolve, at 13 lines per probed target instead of the 22 of
    /// smokeping_prober's doubling (every bound is one of those, so queries across the change still line up).
    /// </summary>
    public static readonly IReadOnlyList<double> DefaultRttBuckets = Histogram.ExponentialBuckets(0.00005, 4, 10);

    private readonly MetricLabels _build;

    /// <param name="rttBuckets">The RTT histograms' bucket bounds; fixed for the process (a reload cannot change them).</param>
    public ExporterMetrics(string version, string revision = "unknown", IReadOnlyList<double>? rttBuckets = null)
    {
        RttBuckets = new HistogramBuckets(rttBuckets ?? DefaultRttBuckets);
        Registry = Prometheus.Metrics.NewCustomRegistry();
        // process_* (CPU, memory, file descriptors, start time) and dotnet_* (GC, threads, JIT) of this process.
        DotNetStats.Register(Registry);
        _build = MetricFamilies.BuildInfo.Labels.Values(version, revision, System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription);
    }

    public CollectorRegistry Registry { get; }

    /// <summary>The bucket bounds the RTT histograms were created with.</summary>
    public HistogramBuckets RttBuckets { get; }

    public ValueTask WriteAsync(MetricsWriter writer, CancellationToken cancellationToken)
    {
        writer.Family(MetricFamilies.BuildInfo);
        writer.Sample(_build, 1);
        return ValueTask.CompletedTask;
    }
}

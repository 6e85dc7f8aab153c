using Prometheus;

namespace IpsecExporter.Metrics;

/// <summary>
/// The metrics still pushed into prometheus-net (process_*, dotnet_*, the site checks, build info, config reload), in
/// one isolated registry that <see cref="MetricsExposition"/> renders before the scrape-time families of
/// <see cref="MetricFamilies"/>; and the RTT buckets, fixed for the process. Units are base units; counters end in
/// <c>_total</c>; nothing is labelled by SPI.
/// </summary>
public sealed class ExporterMetrics
{
    /// <summary>
    /// Default RTT buckets (<c>probes.rtt_buckets</c>): from 50 µs by factors of 4 to ~13 s (10 buckets), so a LAN
    /// (tens of µs) and a bad WAN (seconds) both resolve, at 13 lines per probed target instead of the 22 of
    /// smokeping_prober's doubling (every bound is one of those, so queries across the change still line up).
    /// </summary>
    public static readonly IReadOnlyList<double> DefaultRttBuckets = Histogram.ExponentialBuckets(0.00005, 4, 10);

    /// <param name="rttBuckets">The RTT histograms' bucket bounds; fixed for the process (a reload cannot change them).</param>
    public ExporterMetrics(string version, string revision = "unknown", IReadOnlyList<double>? rttBuckets = null)
    {
        RttBuckets = new HistogramBuckets(rttBuckets ?? DefaultRttBuckets);
        Registry = Prometheus.Metrics.NewCustomRegistry();
        // process_* (CPU, memory, file descriptors, start time) and dotnet_* (GC, threads, JIT) of this process.
        DotNetStats.Register(Registry);
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        var quiet = new GaugeConfiguration { SuppressInitialValue = true };
        var quietCounter = new CounterConfiguration { SuppressInitialValue = true };

        ProbeKernelTimestamps = factory.CreateGauge("ipsec_probe_kernel_timestamps", "1 when every ICMP probe socket times replies with kernel receive timestamps, 0 when one falls back to the monotonic clock or System.Net.NetworkInformation.Ping; absent before the first probe.", quiet);

        PublicIpInfo = factory.CreateGauge("ipsec_public_ip_info", "Observed public IP address of this site, value 1.", ["address"]);
        PublicIpMatchesExpected = factory.CreateGauge("ipsec_public_ip_matches_expected", "1 when the observed public IP equals site.public_ip.", quiet);
        PublicIpChanges = factory.CreateCounter("ipsec_public_ip_changes_total", "Changes of the observed public IP address.", quietCounter);
        PublicIpLookupSuccess = factory.CreateGauge("ipsec_public_ip_lookup_success", "1 when the last public IP lookup answered with an address (lookup: primary or cross_check).", ["lookup"]);
        PublicIpCrossCheckMatches = factory.CreateGauge("ipsec_public_ip_cross_check_matches", "1 when a second opinion agrees with the observed public IP (check: lookup or ike_local_host); absent while unknown.", ["check"]);

        BuildInfo = factory.CreateGauge("ipsec_exporter_build_info", "Build of the exporter, value 1.", ["version", "revision", "runtime"]);
        BuildInfo.WithLabels(version, revision, System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription).Set(1);
        ConfigLastReloadSuccessful = factory.CreateGauge("ipsec_exporter_config_last_reload_successful", "1 when the last configuration (re)load succeeded.");
    }

    public CollectorRegistry Registry { get; }

    /// <summary>The bucket bounds the RTT histograms were created with.</summary>
    public HistogramBuckets RttBuckets { get; }

    public Gauge ProbeKernelTimestamps { get; }

    public Gauge PublicIpInfo { get; }

    public Gauge PublicIpMatchesExpected { get; }

    public Counter PublicIpChanges { get; }

    public Gauge PublicIpLookupSuccess { get; }

    public Gauge PublicIpCrossCheckMatches { get; }

    public Gauge BuildInfo { get; }

    public Gauge ConfigLastReloadSuccessful { get; }

    /// <summary>Renders this registry alone as Prometheus text (<see cref="MetricsExposition"/> renders all of <c>/metrics</c>).</summary>
    public async Task<string> RenderAsync(CancellationToken cancellationToken = default)
    {
        using var stream = new MemoryStream();
        await Registry.CollectAndExportAsTextAsync(stream, cancellationToken);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}

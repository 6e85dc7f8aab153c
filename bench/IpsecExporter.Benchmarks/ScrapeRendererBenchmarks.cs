using System.IO.Compression;
using System.IO.Pipelines;
using System.Text;
using BenchmarkDotNet.Attributes;
using IpsecExporter.Metrics;
using Prometheus;

namespace IpsecExporter.Benchmarks;

/// <summary>
/// One scrape of the tunnel model's IKE and CHILD SA families at hub scale, rendered two ways from the same model
/// (issue 10, "measure both"): <see cref="MetricsWriter"/> from the tracker's snapshot, as <c>/metrics</c> does, and
/// prometheus-net's before-collect callback, which sets a gauge or counter child per series from the same
/// observations and then serializes the registry. Both write into a sink that discards the text; setup checks that
/// they write the same lines. The callback only sets values: the children of the series exist after the first scrape
/// (the warm-up), and a tunnel removed on reload would still have to be removed from the registry by hand.
/// The gzip cases render as <see cref="Writer"/> does through a gzip stream at each level ASP.NET Core offers:
/// what a scrape with <c>Accept-Encoding: gzip</c> adds.
/// </summary>
[MemoryDiagnoser]
public class ScrapeRendererBenchmarks : HubModelBenchmarks
{
    private static readonly GaugeConfiguration Quiet = new() { SuppressInitialValue = true };
    private static readonly CounterConfiguration QuietCounter = new() { SuppressInitialValue = true };
    private CollectorRegistry _registry = null!;

    public override IEnumerable<int> TunnelCounts => [1000, 10000];

    [GlobalSetup(Targets = [nameof(PrometheusNetBeforeCollect)])]
    public void SetupRegistry()
    {
        Setup();
        _registry = Prometheus.Metrics.NewCustomRegistry();
        var families = new PrometheusNetFamilies(Prometheus.Metrics.WithCustomRegistry(_registry));
        _registry.AddBeforeCollectCallback(() => families.Fill(Hub));
        // The same lines either way (families and series may come in another order from prometheus-net).
        if (!Lines(RenderRegistry()).SetEquals(Lines(RenderWriter())))
        {
            throw new InvalidOperationException("prometheus-net and MetricsWriter render different text");
        }
    }

    /// <summary>The tracker's families through <see cref="MetricsWriter"/>, flushed in chunks, as a scrape writes them.</summary>
    [Benchmark(Baseline = true)]
    public Task Writer() => WriteAsync(Stream.Null);

    /// <summary>prometheus-net: the before-collect callback fills the registry from the model, which is then serialized.</summary>
    [Benchmark]
    public Task PrometheusNetBeforeCollect() => _registry.CollectAndExportAsTextAsync(Stream.Null);

    /// <summary><see cref="Writer"/> through gzip at <see cref="CompressionLevel.Fastest"/> (ASP.NET Core's default).</summary>
    [Benchmark]
    public Task WriterGzipFastest() => GzipAsync(CompressionLevel.Fastest);

    /// <summary><see cref="Writer"/> through gzip at <see cref="CompressionLevel.Optimal"/>.</summary>
    [Benchmark]
    public Task WriterGzipOptimal() => GzipAsync(CompressionLevel.Optimal);

    private async Task GzipAsync(CompressionLevel level)
    {
        await using var gzip = new GZipStream(Stream.Null, level);
        await WriteAsync(gzip);
    }

    private async Task WriteAsync(Stream stream)
    {
        var pipe = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
        await MetricsExposition.WriteAsync(new MetricsWriter(pipe, MetricsFormat.PrometheusText), [Hub.Tracker], CancellationToken.None);
        await pipe.CompleteAsync();
    }

    private string RenderWriter()
    {
        using var memory = new MemoryStream();
        WriteAsync(memory).GetAwaiter().GetResult();
        return Encoding.UTF8.GetString(memory.ToArray());
    }

    private string RenderRegistry()
    {
        using var memory = new MemoryStream();
        _registry.CollectAndExportAsTextAsync(memory).GetAwaiter().GetResult();
        return Encoding.UTF8.GetString(memory.ToArray());
    }

    private static HashSet<string> Lines(string text) => [.. text.Split('\n')];

    /// <summary>The tracker's families as prometheus-net collectors, and the callback's work: one child per series.</summary>
    private sealed class PrometheusNetFamilies(MetricFactory factory)
    {
        private readonly Gauge _ikeSas = Gauge(factory, MetricFamilies.IkeSas);
        private readonly Gauge _ikeEstablished = Gauge(factory, MetricFamilies.IkeSaEstablished);
        private readonly Counter _ikeRekeys = Counter(factory, MetricFamilies.IkeSaRekeys);
        private readonly Gauge _ikeRekeyInterval = Gauge(factory, MetricFamilies.IkeSaRekeyInterval);
        private readonly Gauge _childSas = Gauge(factory, MetricFamilies.ChildSas);
        private readonly Counter _receivedBytes = Counter(factory, MetricFamilies.ChildSaReceivedBytes);
        private readonly Counter _sentBytes = Counter(factory, MetricFamilies.ChildSaSentBytes);
        private readonly Counter _receivedPackets = Counter(factory, MetricFamilies.ChildSaReceivedPackets);
        private readonly Counter _sentPackets = Counter(factory, MetricFamilies.ChildSaSentPackets);
        private readonly Gauge _lastReceived = Gauge(factory, MetricFamilies.ChildSaLastReceived);
        private readonly Gauge _lastSent = Gauge(factory, MetricFamilies.ChildSaLastSent);
        private readonly Counter _childRekeys = Counter(factory, MetricFamilies.ChildSaRekeys);
        private readonly Gauge _childRekeyInterval = Gauge(factory, MetricFamilies.ChildSaRekeyInterval);
        private readonly Gauge _lifetime = Gauge(factory, MetricFamilies.ChildSaLifetime);
        private readonly Gauge _pfs = Gauge(factory, MetricFamilies.ChildSaPfs);

        public void Fill(HubModel hub)
        {
            foreach (var tunnel in hub.Store.Current.Tunnels)
            {
                if (hub.Tracker.Get(tunnel.Name) is not { } observed)
                {
                    continue;
                }

                var ike = observed.Ike;
                Set(_ikeSas, ike.SaCount, tunnel.Name);
                Set(_ikeEstablished, ike.SaCount > 0 ? 1 : 0, tunnel.Name);
                IncTo(_ikeRekeys, (ulong)ike.Rekeys, tunnel.Name);
                Set(_ikeRekeyInterval, ike.RekeyInterval?.TotalSeconds, tunnel.Name);
                foreach (var pair in observed.Unmatched is { } unmatched ? [.. observed.Pairs, unmatched] : observed.Pairs)
                {
                    string[] labels = [tunnel.Name, pair.LocalTs, pair.RemoteTs];
                    Set(_childSas, pair.InstalledChildSas, labels);
                    IncTo(_receivedBytes, pair.ReceivedBytes, labels);
                    IncTo(_sentBytes, pair.SentBytes, labels);
                    IncTo(_receivedPackets, pair.ReceivedPackets, labels);
                    IncTo(_sentPackets, pair.SentPackets, labels);
                    Set(_lastReceived, pair.LastReceived?.ToUnixTimeMilliseconds() / 1000.0, labels);
                    Set(_lastSent, pair.LastSent?.ToUnixTimeMilliseconds() / 1000.0, labels);
                    IncTo(_childRekeys, (ulong)pair.Rekeys, labels);
                    Set(_childRekeyInterval, pair.RekeyInterval?.TotalSeconds, labels);
                    Set(_lifetime, pair.Lifetime?.TotalSeconds, labels);
                    Set(_pfs, pair.Pfs is { } pfs ? (pfs ? 1 : 0) : null, labels);
                }
            }
        }

        private static Gauge Gauge(MetricFactory factory, MetricFamily family) =>
            factory.CreateGauge(family.Name, family.Help, [.. family.Labels.Names], Quiet);

        private static Counter Counter(MetricFactory factory, MetricFamily family) =>
            factory.CreateCounter(family.Name, family.Help, [.. family.Labels.Names], QuietCounter);

        // Absent while unknown: a child (created unpublished) is published with its first value.
        private static void Set(Gauge gauge, double? value, params string[] labels)
        {
            if (value is { } known)
            {
                var child = gauge.WithLabels(labels);
                child.Set(known);
                child.Publish();
            }
        }

        private static void IncTo(Counter counter, ulong? value, params string[] labels)
        {
            if (value is { } known)
            {
                var child = counter.WithLabels(labels);
                child.IncTo(known);
                child.Publish();
            }
        }
    }
}

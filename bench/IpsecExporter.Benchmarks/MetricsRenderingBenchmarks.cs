using BenchmarkDotNet.Attributes;

namespace IpsecExporter.Benchmarks;

/// <summary>
/// Rendering <c>/metrics</c> (the text exposition format) for a hub whose tunnel model has seen two polls. Only the
/// tunnel model's series (and the exporter's own) are filled: no probe results, so no RTT histograms.
/// </summary>
[MemoryDiagnoser]
public class MetricsRenderingBenchmarks
{
    private HubModel _hub = null!;

    [Params(100, 1000)]
    public int Tunnels { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _hub = new HubModel(Tunnels);
        _hub.Collect(_hub.NextSnapshot());
        _hub.Collect(_hub.NextSnapshot());
    }

    /// <summary>The renderer under test: the one line to change when the scrape-time renderer replaces it.</summary>
    [Benchmark]
    public Task<string> Render() => _hub.Metrics.RenderAsync();

    [GlobalCleanup]
    public void Cleanup() => _hub.Dispose();
}

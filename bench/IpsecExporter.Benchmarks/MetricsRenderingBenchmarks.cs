using BenchmarkDotNet.Attributes;

namespace IpsecExporter.Benchmarks;

/// <summary>
/// Rendering <c>/metrics</c> (the text exposition format) for a hub whose tunnel model has seen two polls. Only the
/// tunnel model's series (and the exporter's own) are filled: no probe results, so no RTT histograms.
/// </summary>
[MemoryDiagnoser]
public class MetricsRenderingBenchmarks : HubModelBenchmarks
{
    /// <summary>The renderer under test: the one line to change when the scrape-time renderer replaces it.</summary>
    [Benchmark]
    public Task<string> Render() => Hub.Metrics.RenderAsync();
}

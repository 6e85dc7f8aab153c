using BenchmarkDotNet.Attributes;

namespace IpsecExporter.Benchmarks;

/// <summary>
/// Rendering <c>/metrics</c> (the text exposition format) for a hub whose tunnel model has seen two polls. Only the
/// tunnel model's series (and the exporter's own) are filled: no probe results, so no RTT histograms.
/// </summary>
[MemoryDiagnoser]
public class MetricsRenderingBenchmarks : HubModelBenchmarks
{
    /// <summary>The scrape-time renderer, as <c>/metrics</c> runs it (text format).</summary>
    [Benchmark]
    public Task<string> Render() => Hub.Exposition.RenderAsync();
}

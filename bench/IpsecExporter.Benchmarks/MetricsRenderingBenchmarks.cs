using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;

namespace IpsecExporter.Benchmarks;

/// <summary>
/// Rendering <c>/metrics</c> (the text exposition format) for a hub whose tunnel model has seen two polls. Only the
/// tunnel model's series (and the exporter's own) are filled: no probe results, so no RTT histograms.
/// </summary>
[MemoryDiagnoser]
public class MetricsRenderingBenchmarks : HubModelBenchmarks
{
    /// <summary>The whole exposition as one string (what the tests compare).</summary>
    [Benchmark]
    public Task<string> Render() => Hub.Exposition.RenderAsync();

    /// <summary>One scrape through the <c>/metrics</c> handler, into a response body that discards what it gets.</summary>
    [Benchmark]
    public Task Scrape()
    {
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Get;
        context.Response.Body = Stream.Null;
        return Hub.Exposition.HandleAsync(context);
    }
}

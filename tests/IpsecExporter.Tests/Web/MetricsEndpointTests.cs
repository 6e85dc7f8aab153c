using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using IpsecExporter.Configuration;
using IpsecExporter.Metrics;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace IpsecExporter.Tests.Web;

/// <summary>How /metrics is served: the text format by default, OpenMetrics when asked, gzip when the scraper accepts it.</summary>
public sealed class MetricsEndpointTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task Metrics_come_gzipped_when_asked_and_as_OpenMetrics_when_negotiated()
    {
        var registry = TestSources.Registry();
        var path = _directory.Write("ipsec.yaml", "site: { name: hq }\nsources: [ { name: gw, type: scripted } ]\n");
        var (app, baseAddress) = await InProcessExporter.StartAsync(new ConfigLoader(registry).Load(path), registry);
        await using var running = app;
        using var http = new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = baseAddress };
        using var scrapes = await Scrapes.TakeAsync(http);
        var (plain, gzipped, openMetrics) = (scrapes.Plain, scrapes.Gzipped, scrapes.OpenMetrics);

        var text = await plain.Content.ReadAsStringAsync();
        Assert.Empty(plain.Content.Headers.ContentEncoding);
        Assert.Contains("ipsec_exporter_build_info{", text, StringComparison.Ordinal);
        Assert.Equal(["gzip"], gzipped.Content.Headers.ContentEncoding);
        await using var unzip = new GZipStream(await gzipped.Content.ReadAsStreamAsync(), CompressionMode.Decompress);
        Assert.Contains("ipsec_exporter_build_info{", await new StreamReader(unzip).ReadToEndAsync(), StringComparison.Ordinal);
        Assert.StartsWith("application/openmetrics-text", openMetrics.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        var openMetricsText = await openMetrics.Content.ReadAsStringAsync();
        Assert.EndsWith("# EOF\n", openMetricsText, StringComparison.Ordinal);
        // The registry's process_* families and the scrape-time ones are one exposition: one # EOF, at the end.
        Assert.Single(openMetricsText.Split('\n'), line => line == "# EOF");
        Assert.Contains("\n# TYPE process_cpu_seconds counter\n", openMetricsText, StringComparison.Ordinal);
        Assert.Contains("\n# TYPE ipsec_source_up gauge\n", openMetricsText, StringComparison.Ordinal);
        await app.StopAsync();
    }

    [Fact]
    public async Task An_exposition_of_many_chunks_streams_whole_plain_gzipped_and_as_OpenMetrics()
    {
        const int series = 30_000;
        var registry = TestSources.Registry();
        var path = _directory.Write("ipsec.yaml", "site: { name: hq }\nsources: [ { name: gw, type: scripted } ]\n");
        var (app, baseAddress) = await InProcessExporter.StartAsync(
            new ConfigLoader(registry).Load(path), registry, configureServices: services => services.AddSingleton(new ManySeries(series)).AddMetricsContributor<ManySeries>());
        await using var running = app;
        using var http = new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = baseAddress };
        using var scrapes = await Scrapes.TakeAsync(http);
        var (plain, gzipped, openMetrics) = (scrapes.Plain, scrapes.Gzipped, scrapes.OpenMetrics);
        using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "metrics"));

        var text = await plain.Content.ReadAsStringAsync();
        Assert.True(text.Length > 10 * MetricsWriter.ChunkBytes, $"{text.Length} bytes");
        Assert.Equal(series, ManySeriesLines(text).Count);
        Assert.Equal(["gzip"], gzipped.Content.Headers.ContentEncoding);
        await using var unzip = new GZipStream(await gzipped.Content.ReadAsStreamAsync(), CompressionMode.Decompress);
        Assert.Equal(ManySeriesLines(text), ManySeriesLines(await new StreamReader(unzip).ReadToEndAsync()));
        var openMetricsText = await openMetrics.Content.ReadAsStringAsync();
        Assert.Equal(series, ManySeriesLines(openMetricsText).Count);
        Assert.Single(openMetricsText.Split('\n'), line => line == "# EOF");
        Assert.EndsWith("# EOF\n", openMetricsText, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.StartsWith("text/plain; version=0.0.4", head.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        await app.StopAsync();
    }

    /// <summary>One scrape as it is, one asking for gzip, one negotiating OpenMetrics.</summary>
    private sealed class Scrapes(HttpResponseMessage plain, HttpResponseMessage gzipped, HttpResponseMessage openMetrics) : IDisposable
    {
        public HttpResponseMessage Plain { get; } = plain;

        public HttpResponseMessage Gzipped { get; } = gzipped;

        public HttpResponseMessage OpenMetrics { get; } = openMetrics;

        public static async Task<Scrapes> TakeAsync(HttpClient http)
        {
            var plain = await http.GetAsync("metrics");
            using var gzipRequest = new HttpRequestMessage(HttpMethod.Get, "metrics") { Headers = { AcceptEncoding = { new StringWithQualityHeaderValue("gzip") } } };
            var gzipped = await http.SendAsync(gzipRequest);
            using var openMetricsRequest = new HttpRequestMessage(HttpMethod.Get, "metrics") { Headers = { Accept = { MediaTypeWithQualityHeaderValue.Parse("application/openmetrics-text; version=1.0.0") } } };
            return new(plain, gzipped, await http.SendAsync(openMetricsRequest));
        }

        public void Dispose()
        {
            Plain.Dispose();
            Gzipped.Dispose();
            OpenMetrics.Dispose();
        }
    }

    private static List<string> ManySeriesLines(string text) => [.. text.Split('\n').Where(line => line.StartsWith(ManySeries.Family.Name + "{", StringComparison.Ordinal))];

    public void Dispose() => _directory.Dispose();
}

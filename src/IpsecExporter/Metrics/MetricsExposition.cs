using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.Net.Http.Headers;
using Prometheus;

namespace IpsecExporter.Metrics;

/// <summary>
/// What <c>/metrics</c> serves, rendered when it is scraped: prometheus-net's registry (the process_* and dotnet_*
/// families of <see cref="DotNetStats"/>, collected by prometheus-net itself) followed by every
/// <see cref="IMetricsContributor"/>'s families, in the format the scraper negotiated, streamed to the response in
/// chunks (<see cref="MetricsWriter.ChunkBytes"/>) so a scrape's memory does not grow with the exposition.
/// </summary>
public sealed class MetricsExposition(ExporterMetrics metrics, IEnumerable<IMetricsContributor> contributors)
{
    public const string PrometheusTextContentType = "text/plain; version=0.0.4; charset=utf-8";
    public const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    private readonly IMetricsContributor[] _contributors = [.. contributors];

    /// <summary>OpenMetrics when the Accept header offers it (with a non-zero quality), the text format otherwise.</summary>
    public static MetricsFormat Negotiate(IList<string>? accept)
    {
        if (accept is not null && MediaTypeHeaderValue.TryParseList(accept, out var types))
        {
            foreach (var type in types)
            {
                if (type.MediaType.Equals("application/openmetrics-text", StringComparison.OrdinalIgnoreCase) && type.Quality is not 0)
                {
                    return MetricsFormat.OpenMetrics;
                }
            }
        }

        return MetricsFormat.PrometheusText;
    }

    /// <summary>
    /// Writes the whole exposition into <paramref name="output"/>: in chunks, flushed as they fill, when it is a
    /// <see cref="PipeWriter"/>; all of it otherwise.
    /// </summary>
    public async Task RenderAsync(IBufferWriter<byte> output, MetricsFormat format, CancellationToken cancellationToken = default)
    {
        var writer = new MetricsWriter(output, format);
        using (var registry = new MemoryStream())
        {
            await metrics.Registry.CollectAndExportAsTextAsync(
                registry, format == MetricsFormat.OpenMetrics ? ExpositionFormat.OpenMetricsText : ExpositionFormat.PrometheusText, cancellationToken);
            var text = registry.GetBuffer().AsSpan(0, (int)registry.Length);
            // The registry ends its OpenMetrics output; the contributors' families still follow, then the one # EOF.
            writer.Raw(text.EndsWith("# EOF\n"u8) ? text[..^6] : text);
        }

        await WriteAsync(writer, _contributors, cancellationToken);
    }

    /// <summary>Renders the whole exposition as text, exactly as <c>/metrics</c> would.</summary>
    public async Task<string> RenderAsync(MetricsFormat format = MetricsFormat.PrometheusText, CancellationToken cancellationToken = default)
    {
        var buffer = new ArrayBufferWriter<byte>();
        await RenderAsync(buffer, format, cancellationToken);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// Renders the exposition once in each format into nothing. Tiered compilation is off (IpsecExporter.csproj), so
    /// the first scrape would otherwise compile the rendering code (about 0.2 s, docs/PERFORMANCE.md).
    /// </summary>
    public async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        foreach (var format in Enum.GetValues<MetricsFormat>())
        {
            var nothing = PipeWriter.Create(Stream.Null);
            await RenderAsync(nothing, format, cancellationToken);
            await nothing.CompleteAsync();
        }
    }

    /// <summary>Writes the families of <paramref name="owners"/> in order, then ends the exposition and flushes it.</summary>
    public static async ValueTask WriteAsync(MetricsWriter writer, IEnumerable<IMetricsContributor> owners, CancellationToken cancellationToken)
    {
        foreach (var owner in owners)
        {
            await owner.WriteAsync(writer, cancellationToken);
            await writer.FlushIfFullAsync(cancellationToken);
        }

        writer.End();
        await writer.FlushAsync(cancellationToken);
    }

    /// <summary>
    /// The <c>/metrics</c> handler (GET and HEAD; the host refuses other methods, and gzips when asked): streams the
    /// exposition into the response body, without a length (chunked); HEAD gets the headers only.
    /// </summary>
    public async Task HandleAsync(HttpContext context)
    {
        var format = Negotiate(context.Request.Headers.Accept);
        context.Response.ContentType = format == MetricsFormat.OpenMetrics ? OpenMetricsContentType : PrometheusTextContentType;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await RenderAsync(context.Response.BodyWriter, format, context.RequestAborted);
        }
    }
}

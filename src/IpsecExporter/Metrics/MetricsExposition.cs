using System.Buffers;
using System.Text;
using Microsoft.Net.Http.Headers;
using Prometheus;

namespace IpsecExporter.Metrics;

/// <summary>
/// What <c>/metrics</c> serves, rendered when it is scraped: prometheus-net's registry (the process_* and dotnet_*
/// families of <see cref="DotNetStats"/>, and what is still pushed there) followed by every
/// <see cref="IMetricsContributor"/>'s families, in the format the scraper negotiated.
/// </summary>
public sealed class MetricsExposition(ExporterMetrics metrics, IEnumerable<IMetricsContributor> contributors)
{
    public const string PrometheusTextContentType = "text/plain; version=0.0.4; charset=utf-8";
    public const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    private readonly IMetricsContributor[] _contributors = [.. contributors];

    // The last scrape's size: the next one's buffer starts there instead of doubling its way up to megabytes.
    private int _sizeHint = 64 * 1024;

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

    public async Task RenderAsync(IBufferWriter<byte> output, MetricsFormat format, CancellationToken cancellationToken = default)
    {
        using var registry = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(
            registry, format == MetricsFormat.OpenMetrics ? ExpositionFormat.OpenMetricsText : ExpositionFormat.PrometheusText, cancellationToken);
        var writer = new MetricsWriter(output, format);
        var text = registry.GetBuffer().AsSpan(0, (int)registry.Length);
        // The registry ends its OpenMetrics output; the contributors' families still follow, then the one # EOF.
        writer.Raw(text.EndsWith("# EOF\n"u8) ? text[..^6] : text);
        foreach (var contributor in _contributors)
        {
            contributor.Write(writer);
        }

        writer.End();
    }

    /// <summary>Renders the whole exposition as text, exactly as <c>/metrics</c> would.</summary>
    public async Task<string> RenderAsync(MetricsFormat format = MetricsFormat.PrometheusText, CancellationToken cancellationToken = default)
    {
        var buffer = new ArrayBufferWriter<byte>();
        await RenderAsync(buffer, format, cancellationToken);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The <c>/metrics</c> handler (GET and HEAD; the host refuses other methods, and gzips when asked).</summary>
    public async Task HandleAsync(HttpContext context)
    {
        var format = Negotiate(context.Request.Headers.Accept);
        var buffer = new ArrayBufferWriter<byte>(_sizeHint);
        await RenderAsync(buffer, format, context.RequestAborted);
        _sizeHint = Math.Max(buffer.WrittenCount, 64 * 1024);
        context.Response.ContentType = format == MetricsFormat.OpenMetrics ? OpenMetricsContentType : PrometheusTextContentType;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
        }
    }
}

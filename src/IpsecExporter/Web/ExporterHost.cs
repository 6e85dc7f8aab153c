using System.IO.Compression;
using System.Text;
using IpsecExporter.Cli;
using IpsecExporter.Hosting;
using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis;
using IpsecExporter.Metrics;
using IpsecExporter.Sources;
using IpsecExporter.Tunnels;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace IpsecExporter.Web;

/// <summary>Builds the web host: services, background collection, and the HTTP endpoints of docs/ENDPOINTS.md.</summary>
public static class ExporterHost
{
    public const string BasicAuthRealm = "ipsec-exporter";
    private static readonly string[] ReadMethods = [HttpMethods.Get, HttpMethods.Head];

    /// <summary>Tests pass <paramref name="configureServices"/> to replace services (a fake clock, extra source types).</summary>
    public static WebApplication Build(CommandLine commandLine, ExporterConfig config, WebConfig? webConfig, Action<IServiceCollection>? configureServices = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.AddExporterLogging();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(commandLine.Listen, listen =>
            {
                if (webConfig is { TlsEnabled: true })
                {
                    // Options per handshake from the web config in force: a reload changes certificates and policy at once.
                    listen.UseHttps(new TlsHandshakeCallbackOptions
                    {
                        OnConnection = _ => ValueTask.FromResult(kestrel.ApplicationServices.GetRequiredService<WebConfigStore>().Current.ServerOptions()),
                    });
                }
            });
        });

        var services = builder.Services;
        services.AddExporter(config, commandLine.Shard);
        services.AddSingleton(sp => new WebConfigStore(webConfig, sp.GetRequiredService<ILogger<WebConfigStore>>()));
        services.AddHostedService<ConfigReloadService>();

        services.AddHostedService<MetricsWarmUp>();
        services.AddSingleton<BasicAuthenticator>();
        // A hub's /metrics is megabytes of repetitive text: gzip when the scraper asks (Prometheus always does). It
        // holds no secrets, so compressing it over TLS gives nothing away.
        services.AddResponseCompression(compression =>
        {
            compression.EnableForHttps = true;
            compression.Providers.Add<GzipCompressionProvider>();
            compression.MimeTypes = ["text/plain", "application/openmetrics-text"];
        });
        // Fastest (ASP.NET Core's default, stated because it was chosen): at 10,000 tunnels Optimal took a scrape's p50
        // from about 0.3 s to 0.5 s for 2.9 MB instead of 4.5 MB on the wire (docs/PERFORMANCE.md, "gzip").
        services.Configure<GzipCompressionProviderOptions>(gzip => gzip.Level = CompressionLevel.Fastest);
        configureServices?.Invoke(services);

        var app = builder.Build();
        app.Services.GetRequiredService<TunnelInfoPublisher>();
        app.Use(SecurityHeadersMiddleware);
        app.Use(BasicAuthMiddleware);
        app.Use(ReadOnlyMiddleware);
        app.UseWhen(context => context.Request.Path == "/metrics", metrics => metrics.UseResponseCompression());
        MapEndpoints(app);
        return app;
    }

    private static void MapEndpoints(WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<MetricsExposition>();
        app.MapMethods("/metrics", ReadMethods, metrics.HandleAsync);
        app.MapMethods("/healthz", ReadMethods, () => Results.Text("ok\n"));
        app.MapMethods("/readyz", ReadMethods, (SourceCollector collector) => collector.FirstCollectionDone
            ? Results.Text("ready\n")
            : Results.Text("waiting for the first collection\n", statusCode: StatusCodes.Status503ServiceUnavailable));
        app.MapMethods("/", ReadMethods, (ConfigStore store, DiagnosisService diagnosis, SourceCollector sources, TunnelTracker tracker) =>
            Results.Content(StatusPage.Render(store.Current, Summaries(store.Current, diagnosis, sources, tracker)), "text/html; charset=utf-8"));
        app.MapMethods("/api/tunnels", ReadMethods, (ConfigStore store, DiagnosisService diagnosis, SourceCollector sources, TunnelTracker tracker) => Results.Json(
            Summaries(store.Current, diagnosis, sources, tracker),
            ReportJson.Options.GetTypeInfo(typeof(IReadOnlyList<TunnelSummary>))));
        app.MapMethods("/tunnels/{name}/report", ReadMethods, (string name, string? format, ConfigStore store, DiagnosisService diagnosis, TunnelTracker tracker, TimeProvider time) =>
        {
            var reportFormat = format switch
            {
                null or "markdown" or "md" => ReportFormat.Markdown,
                "text" => ReportFormat.Text,
                "json" => ReportFormat.Json,
                _ => (ReportFormat?)null,
            };
            if (reportFormat is null)
            {
                return Results.Text($"unknown format '{format}' (expected markdown, text or json)\n", statusCode: StatusCodes.Status400BadRequest);
            }

            var view = diagnosis.Get(name);
            if (view is null)
            {
                return store.Current.Tunnels.Any(t => t.Name == name)
                    ? Results.Text("no observations yet: try again in a few seconds\n", statusCode: StatusCodes.Status503ServiceUnavailable)
                    : Results.Text($"unknown tunnel '{name}'\n", statusCode: StatusCodes.Status404NotFound);
            }

            var report = PartnerReports.Build(store.Current, view, time.GetUtcNow(), tracker.Get(name));
            return Results.Text(ReportRenderer.Render(report, reportFormat.Value), ReportRenderer.ContentType(reportFormat.Value));
        });
    }

    private static List<TunnelSummary> Summaries(ExporterConfig config, DiagnosisService diagnosis, SourceCollector sources, TunnelTracker tracker) =>
        diagnosis.All().Select(view => TunnelSummaries.Build(config, view, sources.States, tracker.Get(view.Tunnel.Name))).ToList();

    /// <summary>nosniff on every response (error bodies echo input as text/plain), and the configured headers.</summary>
    private static Task SecurityHeadersMiddleware(HttpContext context, Func<Task> next)
    {
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        foreach (var (name, value) in context.RequestServices.GetRequiredService<WebConfigStore>().Current.Config.Headers)
        {
            headers[name] = value;
        }

        return next();
    }

    /// <summary>Every endpoint only reads: anything but GET and HEAD is 405, /metrics included.</summary>
    private static async Task ReadOnlyMiddleware(HttpContext context, Func<Task> next)
    {
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            context.Response.Headers.Allow = "GET, HEAD";
            await context.Response.WriteAsync("method not allowed: the exporter's endpoints are read-only (GET, HEAD)\n");
            return;
        }

        await next();
    }

    private static async Task BasicAuthMiddleware(HttpContext context, Func<Task> next)
    {
        var authenticator = context.RequestServices.GetRequiredService<BasicAuthenticator>();
        if (authenticator.Enabled && !await IsAuthorizedAsync(context.Request.Headers.Authorization.ToString(), authenticator, context.RequestAborted))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = $"Basic realm=\"{BasicAuthRealm}\"";
            await context.Response.WriteAsync("Unauthorized\n");
            return;
        }

        await next();
    }

    private static async Task<bool> IsAuthorizedAsync(string header, BasicAuthenticator authenticator, CancellationToken cancellationToken)
    {
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
        }
        catch (FormatException)
        {
            return false;
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && await authenticator.VerifyAsync(decoded[..colon], decoded[(colon + 1)..], cancellationToken);
    }
}

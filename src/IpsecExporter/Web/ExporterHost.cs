using System.Text;
using IpsecExporter.Cli;
using IpsecExporter.Hosting;
using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis;
using IpsecExporter.Metrics;
using IpsecExporter.Sources;
using IpsecExporter.Tunnels;
using Microsoft.AspNetCore.ResponseCompression;
using Prometheus;

namespace IpsecExporter.Web;

/// <summary>Builds the web host: services, background collection, and the HTTP endpoints of docs/ENDPOINTS.md.</summary>
public static class ExporterHost
{
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
                    listen.UseHttps(System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(webConfig.CertFile!, webConfig.KeyFile));
                }
            });
        });

        var services = builder.Services;
        services.AddExporter(config);
        services.AddHostedService<ConfigReloadService>();
        services.AddSingleton(new BasicAuthenticator(webConfig?.BasicAuthUsers ?? new Dictionary<string, string>()));
        // A hub's /metrics is megabytes of repetitive text: gzip when the scraper asks (Prometheus always does). It
        // holds no secrets, so compressing it over TLS gives nothing away.
        services.AddResponseCompression(compression =>
        {
            compression.EnableForHttps = true;
            compression.Providers.Add<GzipCompressionProvider>();
            compression.MimeTypes = ["text/plain", "application/openmetrics-text"];
        });
        configureServices?.Invoke(services);

        var app = builder.Build();
        app.Services.GetRequiredService<TunnelInfoPublisher>();
        app.Use(BasicAuthMiddleware);
        app.UseWhen(context => context.Request.Path == "/metrics", metrics => metrics.UseResponseCompression());
        MapEndpoints(app);
        return app;
    }

    private static void MapEndpoints(WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<ExporterMetrics>();
        app.MapMetrics("/metrics", metrics.Registry);
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", (SourceCollector collector) => collector.FirstCollectionDone
            ? Results.Text("ready\n")
            : Results.Text("waiting for the first collection\n", statusCode: StatusCodes.Status503ServiceUnavailable));
        app.MapGet("/", (ConfigStore store, DiagnosisService diagnosis, TimeProvider time) =>
            Results.Content(StatusPage.Render(store.Current, diagnosis.All(), time.GetUtcNow()), "text/html; charset=utf-8"));
        app.MapGet("/api/tunnels", (DiagnosisService diagnosis) => Results.Json(
            diagnosis.All().Select(Summary).ToList(),
            ReportJson.Options.GetTypeInfo(typeof(IReadOnlyList<TunnelSummary>))));
        app.MapGet("/tunnels/{name}/report", (string name, string? format, ConfigStore store, DiagnosisService diagnosis, TimeProvider time) =>
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

            var report = PartnerReports.Build(store.Current, view, time.GetUtcNow());
            return Results.Text(ReportRenderer.Render(report, reportFormat.Value), ReportRenderer.ContentType(reportFormat.Value));
        });
    }

    private static TunnelSummary Summary(TunnelView view) => new(
        view.Tunnel.Name,
        view.Tunnel.Description,
        TunnelDiagnosis.StatusLabel(view.Diagnosis.Verdict),
        view.Diagnosis.Reason,
        view.Diagnosis.FirstFailingCheck,
        view.VerdictSince,
        view.Diagnosis.Checks,
        $"/tunnels/{Uri.EscapeDataString(view.Tunnel.Name)}/report");

    private static async Task BasicAuthMiddleware(HttpContext context, Func<Task> next)
    {
        var authenticator = context.RequestServices.GetRequiredService<BasicAuthenticator>();
        if (authenticator.Enabled && !IsAuthorized(context.Request.Headers.Authorization.ToString(), authenticator))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"ipsec-exporter\"";
            await context.Response.WriteAsync("Unauthorized\n");
            return;
        }

        await next();
    }

    private static bool IsAuthorized(string header, BasicAuthenticator authenticator)
    {
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon > 0 && authenticator.Verify(decoded[..colon], decoded[(colon + 1)..]);
        }
        catch (FormatException)
        {
            return false;
        }
    }
}

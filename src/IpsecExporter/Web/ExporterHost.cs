using System.Reflection;
using System.Text;
using IpsecExporter.Cli;
using IpsecExporter.Configuration;
using IpsecExporter.Metrics;
using IpsecExporter.Site;
using IpsecExporter.Sources;
using IpsecExporter.Tunnels;
using Prometheus;

namespace IpsecExporter.Web;

/// <summary>Builds the web host: services, background collection, and the HTTP endpoints of docs/ENDPOINTS.md.</summary>
public static class ExporterHost
{
    public static string Version { get; } =
        typeof(ExporterHost).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>Tests pass <paramref name="configureServices"/> to replace services (a fake clock, extra source types).</summary>
    public static WebApplication Build(CommandLine commandLine, ExporterConfig config, WebConfig? webConfig, Action<IServiceCollection>? configureServices = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // IHttpClientFactory logs every request's URL at Information: noise every interval, and URLs may carry tokens.
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
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
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(new ExporterMetrics(Version));
        services.AddSingleton(SaSourceRegistry.CreateDefault());
        services.AddSingleton(sp => new ConfigLoader(sp.GetRequiredService<SaSourceRegistry>()));
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<ConfigStore>(sp, config));
        services.AddSingleton<TunnelInfoPublisher>();
        services.AddSingleton<SourceCollector>();
        services.AddHostedService(sp => sp.GetRequiredService<SourceCollector>());
        services.AddHostedService<ConfigReloadService>();
        services.AddSiteChecks();
        services.AddSingleton(new BasicAuthenticator(webConfig?.BasicAuthUsers ?? new Dictionary<string, string>()));
        configureServices?.Invoke(services);

        var app = builder.Build();
        app.Services.GetRequiredService<TunnelInfoPublisher>();
        app.Use(BasicAuthMiddleware);
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
        app.MapGet("/", (ConfigStore store) => Results.Content(IndexPage(store.Current), "text/html; charset=utf-8"));
    }

    private static string IndexPage(ExporterConfig config)
    {
        var html = new StringBuilder();
        html.Append("<!doctype html><html><head><meta charset=\"utf-8\"><title>ipsec-exporter</title></head><body>");
        html.Append("<h1>ipsec-exporter</h1><p>Site: ").Append(System.Net.WebUtility.HtmlEncode(config.Site.Name)).Append("</p><ul>");
        foreach (var tunnel in config.Tunnels)
        {
            html.Append("<li>").Append(System.Net.WebUtility.HtmlEncode(tunnel.Name)).Append("</li>");
        }

        html.Append("</ul><p><a href=\"/metrics\">/metrics</a> · <a href=\"/healthz\">/healthz</a> · <a href=\"/readyz\">/readyz</a></p></body></html>");
        return html.ToString();
    }

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

using System.Net;
using IpsecExporter.Cli;
using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis;
using IpsecExporter.Sources;
using IpsecExporter.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace IpsecExporter.Tests.Support;

/// <summary>The exporter's real web host built in the test process, on 127.0.0.1 and a free port.</summary>
public static class InProcessExporter
{
    /// <summary>Builds (does not start) the host; <paramref name="registry"/> gives the source types the test uses.</summary>
    public static (WebApplication App, Uri BaseAddress) Build(
        ExporterConfig config,
        SaSourceRegistry registry,
        WebConfig? webConfig = null,
        Action<IServiceCollection>? configureServices = null)
    {
        var port = FreePorts.Loopback();
        var commandLine = new CommandLine(Command.Run, config.FilePath, new IPEndPoint(IPAddress.Loopback, port), null, null, ReportFormat.Text);
        var app = ExporterHost.Build(commandLine, config, webConfig, services =>
        {
            services.AddSingleton(registry);
            configureServices?.Invoke(services);
        });
        var scheme = webConfig is { TlsEnabled: true } ? "https" : "http";
        return (app, new Uri($"{scheme}://127.0.0.1:{port}/"));
    }

    public static async Task<(WebApplication App, Uri BaseAddress)> StartAsync(
        ExporterConfig config,
        SaSourceRegistry registry,
        WebConfig? webConfig = null,
        Action<IServiceCollection>? configureServices = null)
    {
        var (app, baseAddress) = Build(config, registry, webConfig, configureServices);
        await app.StartAsync();
        return (app, baseAddress);
    }
}

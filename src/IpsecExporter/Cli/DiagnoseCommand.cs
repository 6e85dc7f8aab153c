using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis;
using IpsecExporter.Tunnels;
using IpsecExporter.Hosting;
using IpsecExporter.Sources;

namespace IpsecExporter.Cli;

/// <summary>
/// <c>ipsec-exporter diagnose</c>: runs sources, probes and site checks for a short observation period, then prints
/// the verdict and the partner report of each tunnel (or one). Nothing is served; logs go to stderr.
/// </summary>
public static class DiagnoseCommand
{
    public static async Task<int> RunAsync(CommandLine commandLine, ExporterConfig config, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        var tunnels = commandLine.Tunnel is null ? config.Tunnels : config.Tunnels.Where(t => t.Name == commandLine.Tunnel).ToList();
        if (tunnels.Count == 0)
        {
            await stderr.WriteLineAsync(commandLine.Tunnel is null
                ? "ipsec-exporter: no tunnels configured"
                : $"ipsec-exporter: unknown tunnel '{commandLine.Tunnel}' (tunnels: {string.Join(", ", config.Tunnels.Select(t => t.Name))})");
            return CliApp.InvalidInput;
        }

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.AddExporterLogging().AddFilter(level => level >= LogLevel.Warning);
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        // Everything judges the observation period: the diagnosis window is --duration, whatever diagnosis.window says.
        config = config with { Diagnosis = new DiagnosisConfig(commandLine.Duration) };
        builder.Services.AddExporter(config, commandLine.Shard);
        using var host = builder.Build();
        await host.StartAsync(cancellationToken);
        try
        {
            var collector = host.Services.GetRequiredService<SourceCollector>();
            var diagnosis = host.Services.GetRequiredService<DiagnosisService>();
            var tracker = host.Services.GetRequiredService<TunnelTracker>();
            var time = host.Services.GetRequiredService<TimeProvider>();
            var firstDeadline = time.GetUtcNow() + config.Sources.Select(s => s.Timeout).DefaultIfEmpty(TimeSpan.Zero).Max() + TimeSpan.FromSeconds(1);
            while (!collector.FirstCollectionDone && time.GetUtcNow() < firstDeadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), time, cancellationToken);
            }

            // Counters and probes need time to move: the steps compare the start and the end of this period.
            await diagnosis.CollectOnceAsync(cancellationToken);
            await Task.Delay(commandLine.Duration, time, cancellationToken);
            await collector.CollectOnceAsync(cancellationToken);
            await diagnosis.CollectOnceAsync(cancellationToken);

            var now = time.GetUtcNow();
            var reports = tunnels.Select(t => diagnosis.Get(t.Name)).OfType<TunnelView>()
                .Select(view => PartnerReports.Build(config, view, now, tracker.Get(view.Tunnel.Name)))
                .ToList();
            if (commandLine.Format == ReportFormat.Json)
            {
                // One document: an object for one tunnel, an array for several.
                await stdout.WriteAsync(reports.Count == 1 ? ReportRenderer.Render(reports[0], ReportFormat.Json) : ReportRenderer.RenderJson(reports));
            }
            else
            {
                var separator = commandLine.Format == ReportFormat.Markdown ? "\n---\n\n" : "\n\n";
                await stdout.WriteAsync(string.Join(separator, reports.Select(r => ReportRenderer.Render(r, commandLine.Format))));
            }
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }

        return CliApp.Ok;
    }
}

using System.Reflection;
using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis;
using IpsecExporter.Diagnosis.BestPractices;
using IpsecExporter.Metrics;
using IpsecExporter.Probes;
using IpsecExporter.Site;
using IpsecExporter.Sources;
using IpsecExporter.Tunnels;

namespace IpsecExporter.Hosting;

/// <summary>The services every mode needs (serving, and the one-shot <c>diagnose</c>): collection, probes, diagnosis.</summary>
public static class ExporterServices
{
    public static string Version { get; } = InformationalVersion.Split('+')[0];

    /// <summary>The git commit the SDK stamped into the informational version (<c>1.2.3+sha</c>), "unknown" without one.</summary>
    public static string Revision { get; } = InformationalVersion.Split('+') is [_, var revision, ..] && revision.Length > 0 ? revision : "unknown";

    private static string InformationalVersion =>
        typeof(ExporterServices).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <param name="shard">The command line's <c>--shard</c>, which overrides the file's and which reloads keep.</param>
    public static IServiceCollection AddExporter(this IServiceCollection services, ExporterConfig config, ShardConfig? shard)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(new ExporterMetrics(Version, Revision, config.Probes.RttBuckets));
        services.AddMetricsContributor<ExporterMetrics>();
        services.AddConfigLoader(shard);
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<ConfigStore>(sp, config));
        services.AddMetricsContributor<ConfigStore>();
        services.AddSingleton<MetricsExposition>();
        services.AddSingleton<TunnelInfoPublisher>();
        services.AddMetricsContributor<TunnelInfoPublisher>();
        services.AddSingleton<TunnelTracker>();
        services.AddMetricsContributor<TunnelTracker>();
        services.AddSingleton<ISnapshotObserver>(sp => sp.GetRequiredService<TunnelTracker>());
        services.AddSingleton<IObservedSaFactsProvider>(sp => sp.GetRequiredService<TunnelTracker>());
        services.AddSingleton<SourceCollector>();
        services.AddMetricsContributor<SourceCollector>();
        services.AddHostedService(sp => sp.GetRequiredService<SourceCollector>());
        services.AddSiteChecks();
        services.AddProbes();
        services.AddSingleton<ITunnelSampler, TunnelSampler>();
        services.AddSingleton<DiagnosisService>();
        services.AddMetricsContributor<DiagnosisService>();
        services.AddHostedService(sp => sp.GetRequiredService<DiagnosisService>());
        return services;
    }

    /// <summary>
    /// What reading a configuration takes: the source types and the loader. The host registers it with everything else;
    /// the command line alone, to read the configuration the host is then built with.
    /// </summary>
    public static IServiceCollection AddConfigLoader(this IServiceCollection services, ShardConfig? shard)
    {
        services.AddSaSourceTypes();
        services.AddSingleton(sp => new ConfigLoader(sp.GetRequiredService<SaSourceRegistry>()) { ShardOverride = shard });
        return services;
    }

    /// <summary>One line per message, UTC timestamps: what log collectors and people reading journald expect.</summary>
    public static ILoggingBuilder AddExporterLogging(this ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // IHttpClientFactory logs every request's URL at Information: noise every interval, and URLs may carry tokens.
        logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        return logging;
    }
}

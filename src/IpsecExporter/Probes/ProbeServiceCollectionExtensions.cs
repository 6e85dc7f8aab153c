using IpsecExporter.Metrics;

namespace IpsecExporter.Probes;

public static class ProbeServiceCollectionExtensions
{
    /// <summary>
    /// The gateway and inside probes: the registry of probe kinds, the results store and the scheduler as a hosted
    /// service. Needs a <see cref="TimeProvider"/>, the <c>ExporterMetrics</c>, the <c>ConfigStore</c> and an
    /// <c>IGatewayAddressProvider</c> (the site checks' remote gateway resolver); an <see cref="Icmp.IcmpProbeOptions"/>
    /// registered by the caller overrides the ICMP defaults.
    /// </summary>
    public static IServiceCollection AddProbes(this IServiceCollection services)
    {
        services.AddSingleton(ProbeRegistry.CreateDefault());
        services.AddSingleton<ProbeResults>();
        services.AddSingleton<ProbeScheduler>();
        services.AddMetricsContributor<ProbeScheduler>();
        services.AddHostedService(sp => sp.GetRequiredService<ProbeScheduler>());
        return services;
    }
}

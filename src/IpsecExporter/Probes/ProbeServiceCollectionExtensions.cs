namespace IpsecExporter.Probes;

public static class ProbeServiceCollectionExtensions
{
    /// <summary>
    /// The gateway and inside probes: the registry of probe kinds, the gateway resolver, the results store and the
    /// scheduler as a hosted service. Needs a <see cref="TimeProvider"/>, the <c>ExporterMetrics</c> and the
    /// <c>ConfigStore</c>; an <see cref="Icmp.IcmpProbeOptions"/> registered by the caller overrides the ICMP defaults.
    /// </summary>
    public static IServiceCollection AddProbes(this IServiceCollection services)
    {
        services.AddSingleton(ProbeRegistry.CreateDefault());
        services.AddSingleton<IGatewayAddressProvider, DnsGatewayAddressProvider>();
        services.AddSingleton<ProbeResults>();
        services.AddSingleton<ProbeScheduler>();
        services.AddHostedService(sp => sp.GetRequiredService<ProbeScheduler>());
        return services;
    }
}

using IpsecExporter.Diagnosis.BestPractices;
using IpsecExporter.Metrics;
using IpsecExporter.Site.Connectivity;
using IpsecExporter.Site.Gateways;
using IpsecExporter.Site.Ntp;
using IpsecExporter.Site.PublicIp;
using IpsecExporter.Sources;

namespace IpsecExporter.Site;

public static class SiteServiceCollectionExtensions
{
    /// <summary>
    /// The site checks: Internet connectivity and public IP, remote gateway re-resolution, SNTP clock offset, and the
    /// best-practice evaluation, each a hosted service that tests can also drive through <c>CollectOnceAsync</c>.
    /// </summary>
    public static IServiceCollection AddSiteChecks(this IServiceCollection services)
    {
        services.AddHttpClient(HttpPublicIpLookup.HttpClientName, client =>
        {
            // Our own timeout (site.public_ip_lookup.timeout) governs; this is only a backstop.
            client.Timeout = TimeSpan.FromMinutes(1);
            client.DefaultRequestHeaders.UserAgent.ParseAdd($"ipsec-exporter/{Hosting.ExporterServices.Version}");
        });
        services.AddSingleton<IPublicIpLookup, DnsPublicIpLookup>();
        services.AddSingleton<IPublicIpLookup, HttpPublicIpLookup>();
        services.AddSingleton<PublicIpLookupRegistry>();
        services.AddSingleton<IkeLocalHostObserver>();
        services.AddSingleton<ISnapshotObserver>(sp => sp.GetRequiredService<IkeLocalHostObserver>());
        services.AddSingleton(new LocalNetworkReader());
        services.AddSingleton<SiteNetworkMonitor>();
        services.AddMetricsContributor<SiteNetworkMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<SiteNetworkMonitor>());

        services.AddSingleton<RemoteGatewayResolver>();
        services.AddSingleton<IGatewayAddressProvider>(sp => sp.GetRequiredService<RemoteGatewayResolver>());
        services.AddMetricsContributor<RemoteGatewayResolver>();
        services.AddHostedService(sp => sp.GetRequiredService<RemoteGatewayResolver>());

        services.AddSingleton<SntpClient>();
        services.AddSingleton<ClockMonitor>();
        services.AddMetricsContributor<ClockMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<ClockMonitor>());

        services.AddSingleton<BestPracticeService>();
        services.AddMetricsContributor<BestPracticeService>();
        services.AddHostedService(sp => sp.GetRequiredService<BestPracticeService>());
        return services;
    }
}

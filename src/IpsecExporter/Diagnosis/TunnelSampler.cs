using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis.BestPractices;
using IpsecExporter.Site;
using IpsecExporter.Site.Gateways;
using IpsecExporter.Sources;

namespace IpsecExporter.Diagnosis;

/// <summary>Reads the latest state of the source, the probes and the site checks into one <see cref="TunnelSample"/>.</summary>
public sealed class TunnelSampler(
    SourceCollector sources,
    SiteNetworkMonitor site,
    IGatewayAddressProvider gateways,
    BestPracticeService bestPractices) : ITunnelSampler
{
    public TunnelSample Sample(ExporterConfig config, TunnelConfig tunnel, DateTimeOffset now)
    {
        var sourceUp = sources.States.TryGetValue(tunnel.Source, out var state) && state.Up;
        var siteStatus = site.Status;
        var internet = siteStatus is null
            ? new InternetSample(null, null, null, "not checked yet")
            : new InternetSample(siteStatus.Internet.Up, siteStatus.PublicIp, siteStatus.MatchesExpected, siteStatus.Internet.Reason);
        var practices = bestPractices.Results.GetValueOrDefault(tunnel.Name) ?? [];
        return new TunnelSample(
            now,
            sourceUp,
            IkeEstablished: null,
            IkeSaCount: 0,
            Pairs: [],
            Gateway: null,
            Inside: [],
            internet,
            practices.Select(p => new PracticeResult(p.Label, p.Followed, p.Reason)).ToList())
        {
            RemoteGatewayAddress = gateways.GetAddress(tunnel.Name),
        };
    }
}

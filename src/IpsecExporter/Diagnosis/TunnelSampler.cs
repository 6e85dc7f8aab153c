using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis.BestPractices;
using IpsecExporter.Probes;
using IpsecExporter.Site;
using IpsecExporter.Site.Gateways;
using IpsecExporter.Tunnels;

namespace IpsecExporter.Diagnosis;

/// <summary>Reads the latest state of the source, the probes and the site checks into one <see cref="TunnelSample"/>.</summary>
public sealed class TunnelSampler(
    TunnelTracker tunnels,
    SiteNetworkMonitor site,
    IGatewayAddressProvider gateways,
    ProbeResults probes,
    BestPracticeService bestPractices) : ITunnelSampler
{
    public TunnelSample Sample(ExporterConfig config, TunnelConfig tunnel, DateTimeOffset now)
    {
        var siteStatus = site.Status;
        var internet = siteStatus is null
            ? new InternetSample(null, null, null, "not checked yet")
            : new InternetSample(siteStatus.Internet.Up, siteStatus.PublicIp, siteStatus.MatchesExpected, siteStatus.Internet.Reason);
        var practices = bestPractices.Results.GetValueOrDefault(tunnel.Name) ?? [];
        // Cumulative counters are kept while the source is down; only the current state is then unknown.
        var observed = tunnels.Get(tunnel.Name);
        // The tracker's own view: its counters and its source state come from the same collection, whereas the
        // collector marks a source up a moment before the tracker has applied that collection.
        var sourceUp = observed is { SourceUp: true };
        return new TunnelSample(
            now,
            sourceUp,
            observed?.Ike,
            observed?.Pairs ?? [],
            Gateway: probes.Get(tunnel.Name) is { } gateway ? Counts(gateway) : null,
            Inside(tunnel),
            internet,
            practices)
        {
            RemoteGatewayAddress = gateways.GetAddress(tunnel.Name),
        };
    }

    // Apart from Sample: its closure would be made on every call, also for the many tunnels without inside targets.
    private IReadOnlyList<InsideSample> Inside(TunnelConfig tunnel) => tunnel.Inside?.Targets is { Count: > 0 } targets
        ? [.. targets.Select(target => new InsideSample(target, probes.Get(tunnel.Name, target) is { } inside ? Counts(inside) : new ProbeCounts(0, 0, null)))]
        : [];

    private static ProbeCounts Counts(ProbeTargetResult result) => new((ulong)result.Requests, (ulong)result.Responses, result.LastRoundTrip);
}

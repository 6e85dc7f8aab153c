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
    /// <summary>The internet sample of the latest site status: every tunnel gets the same one until the status changes.</summary>
    private InternetOf? _internet;

    public TunnelSample Sample(ExporterConfig config, TunnelConfig tunnel, DateTimeOffset now, TunnelSample? previous)
    {
        var internet = Internet(site.Status);
        var practices = bestPractices.Results.GetValueOrDefault(tunnel.Name) ?? [];
        // Cumulative counters are kept while the source is down; only the current state is then unknown.
        var observed = tunnels.Get(tunnel.Name);
        // The tracker's own view: its counters and its source state come from the same collection, whereas the
        // collector marks a source up a moment before the tracker has applied that collection.
        var sourceUp = observed is { SourceUp: true };
        return new TunnelSample(
            now,
            sourceUp,
            TunnelSample.Same(observed?.Ike, previous?.Ike),
            observed?.Pairs ?? [],
            Gateway: TunnelSample.Same(probes.Get(tunnel.Name) is { } gateway ? Counts(gateway) : null, previous?.Gateway),
            Inside(tunnel),
            internet,
            practices)
        {
            RemoteGatewayAddress = TunnelSample.Same(gateways.GetAddress(tunnel.Name), previous?.RemoteGatewayAddress),
        };
    }

    private InternetSample Internet(SiteNetworkStatus? status)
    {
        if (_internet is { } last && ReferenceEquals(last.Status, status))
        {
            return last.Sample;
        }

        var sample = status is null
            ? new InternetSample(null, null, null, "not checked yet")
            : new InternetSample(status.Internet.Up, status.PublicIp, status.MatchesExpected, status.Internet.Reason);
        _internet = new InternetOf(status, sample);
        return sample;
    }

    private sealed record InternetOf(SiteNetworkStatus? Status, InternetSample Sample);

    // Apart from Sample: its closure would be made on every call, also for the many tunnels without inside targets.
    private IReadOnlyList<InsideSample> Inside(TunnelConfig tunnel) => tunnel.Inside?.Targets is { Count: > 0 } targets
        ? [.. targets.Select(target => new InsideSample(target, probes.Get(tunnel.Name, target) is { } inside ? Counts(inside) : new ProbeCounts(0, 0, null)))]
        : [];

    private static ProbeCounts Counts(ProbeTargetResult result) => new((ulong)result.Requests, (ulong)result.Responses, result.LastRoundTrip);
}

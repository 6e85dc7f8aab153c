using System.Net;
using IpsecExporter.Configuration;
using IpsecExporter.Sources;

namespace IpsecExporter.Tunnels;

/// <summary>
/// What the tunnel model knew about one configured tunnel after one collection of its source: the facts the
/// troubleshooting steps check (Phase 1 up, one SPI association per network pair, traffic in both directions, rekeys,
/// PFS, lifetimes). Immutable; <see cref="TunnelTracker.Get"/> returns the newest. Counters are cumulative, so growth
/// over a window is the difference between two observations.
/// </summary>
/// <param name="Tunnel">The configured tunnel name.</param>
/// <param name="Source">The configured source it is read from.</param>
/// <param name="Connection">The IKE connection name at the source.</param>
/// <param name="At">When the collection this view comes from finished (or failed).</param>
/// <param name="SourceUp">False when this collection failed: every other field is then as of <paramref name="LastSuccessAt"/>.</param>
/// <param name="LastSuccessAt">When the source was last collected successfully.</param>
/// <param name="ConnectionLoaded">Whether the daemon has the tunnel's connection loaded at all (null when the source cannot tell).</param>
/// <param name="Ike">Phase 1.</param>
/// <param name="Pairs">Phase 2, one entry per configured network pair, in configuration order.</param>
/// <param name="Unmatched">Traffic and CHILD SAs of the connection whose selectors match none of the configured pairs.</param>
/// <param name="Epoch">The run of the gateway's IPsec service behind the source (name, version, start time).</param>
/// <param name="SourceRestarts">Restarts of that service (epoch changes) seen since the exporter started.</param>
public sealed record TunnelObservation(
    string Tunnel,
    string Source,
    string Connection,
    DateTimeOffset At,
    bool SourceUp,
    DateTimeOffset? LastSuccessAt,
    bool? ConnectionLoaded,
    IkeObservation Ike,
    IReadOnlyList<PairObservation> Pairs,
    PairObservation? Unmatched,
    SourceEpoch? Epoch,
    long SourceRestarts);

/// <summary>Phase 1 of a tunnel.</summary>
/// <param name="Established">At least one IKE SA of the connection is ESTABLISHED.</param>
/// <param name="SaCount">ESTABLISHED IKE SAs of the connection (2 briefly during a rekey).</param>
/// <param name="LocalHost">Local address of the newest ESTABLISHED IKE SA.</param>
/// <param name="RemoteHost">Remote address of the newest ESTABLISHED IKE SA.</param>
/// <param name="EstablishedFor">Age of the newest ESTABLISHED IKE SA.</param>
/// <param name="DhGroup">DH group of the newest ESTABLISHED IKE SA.</param>
/// <param name="Rekeys">IKE SA rekeys seen since the exporter started.</param>
/// <param name="Downs">IKE SAs of the connection that went down (deleted, not rekeyed) since the exporter started.</param>
/// <param name="RekeyInterval">Configured IKE rekey interval when the source tells, else the one the newest SA was scheduled with.</param>
/// <param name="LastRekeyAfter">Age of the IKE SA replaced by the last observed rekey: the rekey interval as it happened.</param>
public sealed record IkeObservation(
    bool Established,
    int SaCount,
    IPAddress? LocalHost,
    IPAddress? RemoteHost,
    TimeSpan? EstablishedFor,
    string? DhGroup,
    long Rekeys,
    long Downs,
    TimeSpan? RekeyInterval,
    TimeSpan? LastRekeyAfter)
{
    /// <summary>State of the newest ESTABLISHED IKE SA, else of the newest one in any state; null when the source lists none.</summary>
    public IkeSaState? State { get; init; }

    /// <summary>That SA's state as the source spelled it, for display and reports (never a metric label).</summary>
    public string? StateText { get; init; }
}

/// <summary>Phase 2 of one configured network pair (or of the unmatched CHILD SAs, then <paramref name="Pair"/> is null).</summary>
/// <param name="Pair">The configured pair; null for the unmatched bucket.</param>
/// <param name="LocalTs">The local_ts label value.</param>
/// <param name="RemoteTs">The remote_ts label value.</param>
/// <param name="InstalledChildSas">INSTALLED CHILD SAs (SPI associations) carrying the pair; 1 is healthy.</param>
/// <param name="ReceivedBytes">Cumulative since the exporter started, across rekeys and daemon restarts; null when the source does not count it.</param>
/// <param name="SentBytes">Cumulative, like ReceivedBytes.</param>
/// <param name="ReceivedPackets">Cumulative, like ReceivedBytes.</param>
/// <param name="SentPackets">Cumulative, like ReceivedBytes.</param>
/// <param name="LastReceived">Time of the last packet received on any CHILD SA of the pair.</param>
/// <param name="LastSent">Time of the last packet sent on any CHILD SA of the pair.</param>
/// <param name="Rekeys">CHILD SA rekeys of the pair seen since the exporter started.</param>
/// <param name="RekeyInterval">Configured CHILD rekey interval when the source tells, else the one the newest SA was scheduled with.</param>
/// <param name="Lifetime">Hard lifetime the newest INSTALLED CHILD SA was given.</param>
/// <param name="LastRekeyAfter">Age of the CHILD SA replaced by the last observed rekey.</param>
/// <param name="DhGroup">DH group of the newest SA that had one (PFS group).</param>
/// <param name="Pfs">True when rekeyed CHILD SAs carry a DH group; null until a rekey or a DH group was seen.</param>
public sealed record PairObservation(
    NetworkPair? Pair,
    string LocalTs,
    string RemoteTs,
    int InstalledChildSas,
    ulong? ReceivedBytes,
    ulong? SentBytes,
    ulong? ReceivedPackets,
    ulong? SentPackets,
    DateTimeOffset? LastReceived,
    DateTimeOffset? LastSent,
    long Rekeys,
    TimeSpan? RekeyInterval,
    TimeSpan? Lifetime,
    TimeSpan? LastRekeyAfter,
    string? DhGroup,
    bool? Pfs)
{
    /// <summary>State of the newest INSTALLED CHILD SA of the pair, else of the newest one in any state; null when the source lists none.</summary>
    public ChildSaState? State { get; init; }

    /// <summary>That SA's state as the source spelled it, for display and reports (never a metric label).</summary>
    public string? StateText { get; init; }
}

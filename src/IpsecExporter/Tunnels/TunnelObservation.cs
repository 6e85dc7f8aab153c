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
    // The counters, times and durations are kept as plain values and one set of bits for which are known: a hub holds
    // three observations per network pair (the tracker's, the diagnosis window's latest and its key frame's), and the
    // nullable values took 160 of the record's 248 bytes (docs/PERFORMANCE.md).
    private ulong _receivedBytes = ReceivedBytes.GetValueOrDefault();
    private ulong _sentBytes = SentBytes.GetValueOrDefault();
    private ulong _receivedPackets = ReceivedPackets.GetValueOrDefault();
    private ulong _sentPackets = SentPackets.GetValueOrDefault();
    private long _lastReceivedUtcTicks = LastReceived.GetValueOrDefault().UtcTicks;
    private long _lastSentUtcTicks = LastSent.GetValueOrDefault().UtcTicks;
    private long _rekeyIntervalTicks = RekeyInterval.GetValueOrDefault().Ticks;
    private long _lifetimeTicks = Lifetime.GetValueOrDefault().Ticks;
    private long _lastRekeyAfterTicks = LastRekeyAfter.GetValueOrDefault().Ticks;
    private short _lastReceivedOffsetMinutes = OffsetMinutes(LastReceived);
    private short _lastSentOffsetMinutes = OffsetMinutes(LastSent);
    private Known _known = KnownOf(ReceivedBytes, SentBytes, ReceivedPackets, SentPackets, LastReceived, LastSent, RekeyInterval, Lifetime, LastRekeyAfter);

    [Flags]
    private enum Known : ushort
    {
        ReceivedBytes = 1,
        SentBytes = 2,
        ReceivedPackets = 4,
        SentPackets = 8,
        LastReceived = 16,
        LastSent = 32,
        RekeyInterval = 64,
        Lifetime = 128,
        LastRekeyAfter = 256,
    }

    public ulong? ReceivedBytes
    {
        get => Has(Known.ReceivedBytes) ? _receivedBytes : null;
        init => _receivedBytes = Value(Known.ReceivedBytes, value);
    }

    public ulong? SentBytes
    {
        get => Has(Known.SentBytes) ? _sentBytes : null;
        init => _sentBytes = Value(Known.SentBytes, value);
    }

    public ulong? ReceivedPackets
    {
        get => Has(Known.ReceivedPackets) ? _receivedPackets : null;
        init => _receivedPackets = Value(Known.ReceivedPackets, value);
    }

    public ulong? SentPackets
    {
        get => Has(Known.SentPackets) ? _sentPackets : null;
        init => _sentPackets = Value(Known.SentPackets, value);
    }

    public DateTimeOffset? LastReceived
    {
        get => Has(Known.LastReceived) ? Time(_lastReceivedUtcTicks, _lastReceivedOffsetMinutes) : null;
        init => (_lastReceivedUtcTicks, _lastReceivedOffsetMinutes) = (Value(Known.LastReceived, value).UtcTicks, OffsetMinutes(value));
    }

    public DateTimeOffset? LastSent
    {
        get => Has(Known.LastSent) ? Time(_lastSentUtcTicks, _lastSentOffsetMinutes) : null;
        init => (_lastSentUtcTicks, _lastSentOffsetMinutes) = (Value(Known.LastSent, value).UtcTicks, OffsetMinutes(value));
    }

    public TimeSpan? RekeyInterval
    {
        get => Has(Known.RekeyInterval) ? TimeSpan.FromTicks(_rekeyIntervalTicks) : null;
        init => _rekeyIntervalTicks = Value(Known.RekeyInterval, value).Ticks;
    }

    public TimeSpan? Lifetime
    {
        get => Has(Known.Lifetime) ? TimeSpan.FromTicks(_lifetimeTicks) : null;
        init => _lifetimeTicks = Value(Known.Lifetime, value).Ticks;
    }

    public TimeSpan? LastRekeyAfter
    {
        get => Has(Known.LastRekeyAfter) ? TimeSpan.FromTicks(_lastRekeyAfterTicks) : null;
        init => _lastRekeyAfterTicks = Value(Known.LastRekeyAfter, value).Ticks;
    }

    /// <summary>State of the newest INSTALLED CHILD SA of the pair, else of the newest one in any state; null when the source lists none.</summary>
    public ChildSaState? State { get; init; }

    /// <summary>That SA's state as the source spelled it, for display and reports (never a metric label).</summary>
    public string? StateText { get; init; }

    private static Known KnownOf(ulong? receivedBytes, ulong? sentBytes, ulong? receivedPackets, ulong? sentPackets, DateTimeOffset? lastReceived,
        DateTimeOffset? lastSent, TimeSpan? rekeyInterval, TimeSpan? lifetime, TimeSpan? lastRekeyAfter) =>
        (receivedBytes.HasValue ? Known.ReceivedBytes : 0) | (sentBytes.HasValue ? Known.SentBytes : 0)
        | (receivedPackets.HasValue ? Known.ReceivedPackets : 0) | (sentPackets.HasValue ? Known.SentPackets : 0)
        | (lastReceived.HasValue ? Known.LastReceived : 0) | (lastSent.HasValue ? Known.LastSent : 0)
        | (rekeyInterval.HasValue ? Known.RekeyInterval : 0) | (lifetime.HasValue ? Known.Lifetime : 0)
        | (lastRekeyAfter.HasValue ? Known.LastRekeyAfter : 0);

    private static short OffsetMinutes(DateTimeOffset? time) => (short)(time?.Offset.TotalMinutes ?? 0);

    private static DateTimeOffset Time(long utcTicks, short offsetMinutes) =>
        new DateTimeOffset(utcTicks, TimeSpan.Zero).ToOffset(TimeSpan.FromMinutes(offsetMinutes));

    private bool Has(Known value) => (_known & value) != 0;

    /// <summary>Records whether <paramref name="value"/> is known; its value, or the default.</summary>
    private T Value<T>(Known which, T? value)
        where T : struct
    {
        _known = value.HasValue ? _known | which : _known & ~which;
        return value.GetValueOrDefault();
    }
}

using System.Net;

namespace IpsecExporter.Sources;

/// <summary>
/// What one source saw at one moment, in terms every source can produce (docs/SOURCES.md is the contract). The
/// <c>...Ago</c>/<c>...In</c> times of the SAs in <see cref="IkeSas"/> are relative to <see cref="CollectedAt"/>, those
/// inside a change relative to the change's <c>At</c>.
/// </summary>
public sealed record SaSnapshot(DateTimeOffset CollectedAt, IReadOnlyList<IkeSa> IkeSas)
{
    /// <summary>Which counters the source's CHILD SAs carry; a counter it does not have is null on every SA.</summary>
    public CounterCapabilities Counters { get; init; } = CounterCapabilities.All;

    /// <summary>
    /// True when the source reports the DH group of a CHILD SA's own key exchange, so a rekeyed SA without one proves
    /// there is no PFS. False for sources that never tell (FortiGate's and MikroTik's APIs): PFS then stays unknown
    /// unless <see cref="ChildSa.PfsSetting"/> says.
    /// </summary>
    public bool DhGroupsReported { get; init; } = true;

    /// <summary>
    /// CHILD SAs replaced or deleted since the previous snapshot, with their counters at that moment (from the
    /// source's events), so traffic counted between the last poll and the SA's deletion is not lost. Empty for sources
    /// without events: the tracker then infers replacements from consecutive snapshots and keeps the last polled values.
    /// </summary>
    public IReadOnlyList<ChildSaChange> ChildSaChanges { get; init; } = [];

    /// <summary>IKE SAs rekeyed or deleted since the previous snapshot (from events).</summary>
    public IReadOnlyList<IkeSaChange> IkeSaChanges { get; init; } = [];

    /// <summary>The connections the gateway has loaded, or null when the source cannot tell.</summary>
    public IReadOnlyList<ConnectionInfo>? Connections { get; init; }

    /// <summary>Which incarnation of the gateway's IPsec service answered, when the source can tell.</summary>
    public SourceEpoch? Epoch { get; init; }
}

/// <summary>
/// One run of the service that holds the SAs (a daemon process, a firewall's IPsec subsystem since its last restart).
/// A different <see cref="Id"/> means the service restarted: its SAs and their counters started again. The source
/// decides what identifies a run (a start time, a boot id) and absorbs its own jitter, so the tracker only compares ids.
/// </summary>
/// <param name="Id">Stays equal for the same run, changes with every restart.</param>
/// <param name="Name">The software, for display (<c>charon</c>, <c>FortiOS</c>).</param>
/// <param name="Version">Its version, for display.</param>
/// <param name="StartedAt">When the run started, when known.</param>
public sealed record SourceEpoch(string Id, string Name, string Version, DateTimeOffset? StartedAt);

/// <summary>A loaded IKE connection and its configured rekey intervals (null when not configured or disabled).</summary>
public sealed record ConnectionInfo(string Name, TimeSpan? RekeyInterval, TimeSpan? ReauthInterval, IReadOnlyList<ChildConfigInfo> Children);

/// <summary>A CHILD SA configuration of a connection, with its traffic selectors as configured.</summary>
public sealed record ChildConfigInfo(string Name, TimeSpan? RekeyInterval, IReadOnlyList<string> LocalTs, IReadOnlyList<string> RemoteTs);

/// <summary>Life-cycle of an IKE SA (Phase 1) in source-neutral terms.</summary>
public enum IkeSaState
{
    /// <summary>A state the source reported that has no neutral meaning here; the raw text tells what it was.</summary>
    Unknown,

    /// <summary>Being negotiated: not yet usable.</summary>
    Connecting,

    /// <summary>Up and usable.</summary>
    Established,

    /// <summary>Up, with a rekey under way.</summary>
    Rekeying,

    /// <summary>Replaced by a rekey; only lingers until it is deleted.</summary>
    Rekeyed,

    /// <summary>Being torn down, or down.</summary>
    Deleting,
}

/// <summary>Life-cycle of a CHILD SA (Phase 2, one SPI pair) in source-neutral terms.</summary>
public enum ChildSaState
{
    /// <summary>A state the source reported that has no neutral meaning here; the raw text tells what it was.</summary>
    Unknown,

    /// <summary>Being negotiated or installed: not yet carrying traffic.</summary>
    Installing,

    /// <summary>Installed and carrying traffic.</summary>
    Installed,

    /// <summary>Installed, with a rekey under way.</summary>
    Rekeying,

    /// <summary>Replaced by a rekey; only lingers until it is deleted.</summary>
    Rekeyed,

    /// <summary>Being deleted, deleted or failed: carries nothing any more.</summary>
    Deleted,
}

/// <summary>Which per-direction counters a source's CHILD SAs carry.</summary>
[Flags]
public enum CounterCapabilities
{
    None = 0,
    ReceivedBytes = 1,
    SentBytes = 2,
    ReceivedPackets = 4,
    SentPackets = 8,
    Bytes = ReceivedBytes | SentBytes,
    Packets = ReceivedPackets | SentPackets,
    All = Bytes | Packets,

    /// <summary>
    /// The gateway counts per tunnel (per phase-2 entry), not per SA: its counters run on across rekeys and the source
    /// splits them into per-SA values (<see cref="SaCounterLedger"/>). Totals are exact; what an SA carried between
    /// the last poll and its rekey is counted for its successor.
    /// </summary>
    PerTunnel = 16,
}

/// <summary>
/// Counters of one SA since the SA's <see cref="ChildSa.Key"/> was first reported; null when the source does not
/// count that value (see <see cref="CounterCapabilities"/>). "Received" is inbound, "sent" outbound.
/// </summary>
public readonly record struct SaCounters(ulong? ReceivedBytes, ulong? SentBytes, ulong? ReceivedPackets, ulong? SentPackets)
{
    public static SaCounters Bytes(ulong received, ulong sent) => new(received, sent, null, null);

    /// <summary>True when one of these counters is below the same counter of <paramref name="mark"/>: they started again.
    /// A counter that either side lacks is not compared.</summary>
    public bool IsBelow(SaCounters mark) =>
        ReceivedBytes < mark.ReceivedBytes || SentBytes < mark.SentBytes || ReceivedPackets < mark.ReceivedPackets || SentPackets < mark.SentPackets;
}

/// <param name="Connection">The source's connection name, matched against the tunnel's <c>connection</c> key.</param>
/// <param name="Key">
/// Tells this IKE SA apart from every other one of the same source, also across restarts of the gateway.
/// </param>
/// <param name="State">The neutral state.</param>
/// <param name="StateText">The state as the source spelled it, for display and reports.</param>
public sealed record IkeSa(
    string Connection,
    string Key,
    IkeSaState State,
    string StateText,
    IPAddress? LocalHost,
    IPAddress? RemoteHost,
    TimeSpan? EstablishedAgo,
    TimeSpan? RekeyIn,
    TimeSpan? ReauthIn,
    IReadOnlyList<ChildSa> ChildSas)
{
    public string? DhGroup { get; init; }

    public bool IsEstablished => State == IkeSaState.Established;
}

/// <param name="Name">The source's name for the SA's configuration (a CHILD config, a phase-2 entry).</param>
/// <param name="Key">
/// Chosen by the source, with one rule: it changes whenever the SA's counters start again (a rekey, a new SA after a
/// restart, a counter reset on the gateway), and only then. The tracker keeps the highest counters seen per key.
/// </param>
/// <param name="State">The neutral state.</param>
/// <param name="StateText">The state as the source spelled it, for display and reports.</param>
/// <param name="LocalTs">Local traffic selectors, as CIDR prefixes or address ranges.</param>
/// <param name="RemoteTs">Remote traffic selectors.</param>
/// <param name="Counters">What the SA carried since it was keyed.</param>
public sealed record ChildSa(
    string Name,
    string Key,
    ChildSaState State,
    string StateText,
    IReadOnlyList<string> LocalTs,
    IReadOnlyList<string> RemoteTs,
    SaCounters Counters)
{
    public TimeSpan? LastInAgo { get; init; }

    public TimeSpan? LastOutAgo { get; init; }

    public TimeSpan? InstalledAgo { get; init; }

    public TimeSpan? RekeyIn { get; init; }

    public TimeSpan? LifeIn { get; init; }

    /// <summary>The DH group of the SA's own key exchange; only a CHILD SA negotiated with PFS has one.</summary>
    public string? DhGroup { get; init; }

    /// <summary>The gateway's PFS setting for this SA, for sources that report a setting instead of the DH group.</summary>
    public bool? PfsSetting { get; init; }

    public bool IsInstalled => State == ChildSaState.Installed;

    /// <summary>The SA was replaced by a rekey and only lingers until it is deleted.</summary>
    public bool IsRekeyed => State == ChildSaState.Rekeyed;
}

public enum SaChangeKind
{
    /// <summary>Replaced by a rekey; <c>Replacement</c> is the new SA when the source knows it.</summary>
    Rekeyed,

    /// <summary>Deleted (or failed) without a replacement.</summary>
    Deleted,
}

/// <summary>A CHILD SA went away at <c>At</c>; <c>Old</c> carries its counters at that moment.</summary>
public sealed record ChildSaChange(DateTimeOffset At, string Connection, SaChangeKind Kind, ChildSa Old, ChildSa? Replacement);

/// <summary>An IKE SA was rekeyed or deleted at <c>At</c>.</summary>
public sealed record IkeSaChange(DateTimeOffset At, string Connection, SaChangeKind Kind, IkeSa Old, IkeSa? Replacement);

using System.Net;

namespace IpsecExporter.Sources;

/// <summary>
/// What one source saw at one moment, in terms every source can produce. States use strongSwan's words
/// (<c>ESTABLISHED</c> for IKE SAs, <c>INSTALLED</c> for CHILD SAs); the <c>...Ago</c>/<c>...In</c> times of the SAs in
/// <see cref="IkeSas"/> are relative to <see cref="CollectedAt"/>, those inside a change relative to the change's
/// <c>At</c>.
/// </summary>
public sealed record SaSnapshot(DateTimeOffset CollectedAt, IReadOnlyList<IkeSa> IkeSas)
{
    /// <summary>
    /// CHILD SAs replaced or deleted since the previous snapshot, with their counters at that moment (from the
    /// source's events), so traffic counted between the last poll and the SA's deletion is not lost. Empty for sources
    /// without events; consumers then fall back to the last polled values.
    /// </summary>
    public IReadOnlyList<ChildSaChange> ChildSaChanges { get; init; } = [];

    /// <summary>IKE SAs rekeyed or deleted since the previous snapshot (from events).</summary>
    public IReadOnlyList<IkeSaChange> IkeSaChanges { get; init; } = [];

    /// <summary>The connections the daemon has loaded, or null when the source cannot tell.</summary>
    public IReadOnlyList<ConnectionInfo>? Connections { get; init; }

    /// <summary>Which daemon answered and since when it runs, when the source can tell.</summary>
    public DaemonInfo? Daemon { get; init; }
}

/// <summary>A loaded IKE connection and its configured rekey intervals (null when not configured or disabled).</summary>
public sealed record ConnectionInfo(string Name, TimeSpan? RekeyInterval, TimeSpan? ReauthInterval, IReadOnlyList<ChildConfigInfo> Children);

/// <summary>A CHILD SA configuration of a connection, with its traffic selectors as configured.</summary>
public sealed record ChildConfigInfo(string Name, TimeSpan? RekeyInterval, IReadOnlyList<string> LocalTs, IReadOnlyList<string> RemoteTs);

/// <summary>
/// The daemon behind a source. <paramref name="StartedAt"/> is approximate: charon derives it from the wall clock minus
/// its uptime, in whole seconds, so it wobbles by a second between queries; a larger move means a restart.
/// </summary>
public sealed record DaemonInfo(string Name, string Version, DateTimeOffset? StartedAt)
{
    /// <summary>How far <see cref="StartedAt"/> may move between two answers of the same daemon process.</summary>
    public static readonly TimeSpan StartTimeWobble = TimeSpan.FromSeconds(2);

    /// <summary>True when this answer comes from a daemon started after the one that gave <paramref name="previous"/>.</summary>
    public bool RestartedSince(DaemonInfo previous) =>
        StartedAt is { } now && previous.StartedAt is { } before && (now - before).Duration() > StartTimeWobble;
}

public sealed record IkeSa(
    string Connection,
    string UniqueId,
    string State,
    IPAddress? LocalHost,
    IPAddress? RemoteHost,
    TimeSpan? EstablishedAgo,
    TimeSpan? RekeyIn,
    TimeSpan? ReauthIn,
    IReadOnlyList<ChildSa> ChildSas)
{
    public string? InitiatorSpi { get; init; }

    public string? ResponderSpi { get; init; }

    public string? DhGroup { get; init; }

    public bool IsEstablished => State == "ESTABLISHED";

    /// <summary>
    /// Tells this SA apart from every other SA of the same source, also across daemon restarts (where unique ids start
    /// again from 1 but SPIs are new random numbers).
    /// </summary>
    public string Identity => $"{UniqueId}/{InitiatorSpi}/{ResponderSpi}";
}

public sealed record ChildSa(
    string Name,
    string UniqueId,
    string State,
    IReadOnlyList<string> LocalTs,
    IReadOnlyList<string> RemoteTs,
    ulong BytesIn,
    ulong BytesOut,
    ulong PacketsIn,
    ulong PacketsOut,
    TimeSpan? LastInAgo,
    TimeSpan? LastOutAgo,
    TimeSpan? InstalledAgo,
    TimeSpan? RekeyIn,
    TimeSpan? LifeIn,
    string? DhGroup)
{
    public string? SpiIn { get; init; }

    public string? SpiOut { get; init; }

    public bool IsInstalled => State == "INSTALLED";

    /// <summary>The SA was replaced by a rekey and only lingers until it is deleted.</summary>
    public bool IsRekeyed => State == "REKEYED";

    /// <summary>See <see cref="IkeSa.Identity"/>.</summary>
    public string Identity => $"{UniqueId}/{SpiIn}/{SpiOut}";
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

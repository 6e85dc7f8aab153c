using System.Net;

namespace IpsecExporter.Sources;

/// <summary>
/// What one source saw at one moment, in terms every source can produce. States use strongSwan's words
/// (<c>ESTABLISHED</c> for IKE SAs, <c>INSTALLED</c> for CHILD SAs); times are relative to <see cref="CollectedAt"/>.
/// </summary>
public sealed record SaSnapshot(DateTimeOffset CollectedAt, IReadOnlyList<IkeSa> IkeSas)
{
    /// <summary>
    /// CHILD SAs that went away since the previous snapshot, with their final counters (from rekey/down events), so
    /// traffic counted between the last poll and the SA's deletion is not lost.
    /// </summary>
    public IReadOnlyList<ChildSa> RetiredChildSas { get; init; } = [];
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
    public bool IsEstablished => State == "ESTABLISHED";
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
    public bool IsInstalled => State == "INSTALLED";
}

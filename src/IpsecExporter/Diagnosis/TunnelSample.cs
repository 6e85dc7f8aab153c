using System.Net;
using IpsecExporter.Configuration;

namespace IpsecExporter.Diagnosis;

/// <summary>
/// Everything known about one tunnel at one moment, gathered from the source, the probes and the site checks.
/// Counters are cumulative (monotonic); the diagnosis compares samples across its window. Null means "not known".
/// </summary>
public sealed record TunnelSample(
    DateTimeOffset At,
    bool SourceUp,
    bool? IkeEstablished,
    int IkeSaCount,
    IReadOnlyList<PairSample> Pairs,
    ProbeCounts? Gateway,
    IReadOnlyList<InsideSample> Inside,
    InternetSample Internet,
    IReadOnlyList<PracticeResult> BestPractices)
{
    /// <summary>IKE SA replacements observed so far (cumulative).</summary>
    public ulong IkeRekeys { get; init; }

    /// <summary>Addresses of the ESTABLISHED IKE SA as the gateway sees them (NAT aside, the two public IPs).</summary>
    public IPAddress? IkeLocalHost { get; init; }

    public IPAddress? IkeRemoteHost { get; init; }

    /// <summary>What <c>remote_gateway</c> resolves to now.</summary>
    public IPAddress? RemoteGatewayAddress { get; init; }
}

/// <summary>
/// One configured network pair: INSTALLED CHILD SAs and cumulative per-direction traffic (null for a counter the
/// source does not have).
/// </summary>
public sealed record PairSample(string Local, string Remote, int ChildSas, ulong? SentBytes, ulong? ReceivedBytes, ulong? SentPackets, ulong? ReceivedPackets)
{
    public PairKey Key => new(Local, Remote);

    /// <summary>CHILD SA replacements observed so far (cumulative).</summary>
    public ulong Rekeys { get; init; }

    /// <summary>Observed DH group of rekeyed CHILD SAs (PFS), when known.</summary>
    public string? DhGroup { get; init; }
}

/// <summary>Cumulative echo requests and replies, with the latest RTT seen.</summary>
public sealed record ProbeCounts(ulong Requests, ulong Responses, TimeSpan? LastRtt);

public sealed record InsideSample(IPAddress Target, ProbeCounts Counts);

/// <summary>Local connectivity (an operational interface and a default route) and the observed public IP.</summary>
public sealed record InternetSample(bool? Connected, IPAddress? PublicIp, bool? PublicIpMatchesExpected, string? Detail);

/// <summary>A best-practice verdict with the reason a person can act on.</summary>
public sealed record PracticeResult(string Practice, bool? Ok, string Reason);

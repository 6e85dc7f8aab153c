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

    /// <summary>
    /// <paramref name="sample"/> with the parts equal to <paramref name="previous"/>'s taken from it: the diagnosis
    /// keeps a window of samples per tunnel, and on a hub most parts of most samples (probe counts between probes, the
    /// best practices, the internet check, the pairs of an idle tunnel) are the same as the sample before.
    /// </summary>
    public static TunnelSample SharingWith(TunnelSample sample, TunnelSample? previous)
    {
        if (previous is null)
        {
            return sample;
        }

        return sample with
        {
            Pairs = Same(sample.Pairs, previous.Pairs),
            Gateway = sample.Gateway == previous.Gateway ? previous.Gateway : sample.Gateway,
            Inside = Same(sample.Inside, previous.Inside),
            Internet = sample.Internet == previous.Internet ? previous.Internet : sample.Internet,
            BestPractices = Same(sample.BestPractices, previous.BestPractices),
            IkeLocalHost = Equals(sample.IkeLocalHost, previous.IkeLocalHost) ? previous.IkeLocalHost : sample.IkeLocalHost,
            IkeRemoteHost = Equals(sample.IkeRemoteHost, previous.IkeRemoteHost) ? previous.IkeRemoteHost : sample.IkeRemoteHost,
            RemoteGatewayAddress = Equals(sample.RemoteGatewayAddress, previous.RemoteGatewayAddress) ? previous.RemoteGatewayAddress : sample.RemoteGatewayAddress,
        };

        static IReadOnlyList<T> Same<T>(IReadOnlyList<T> next, IReadOnlyList<T> before) => next.SequenceEqual(before) ? before : next;
    }
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

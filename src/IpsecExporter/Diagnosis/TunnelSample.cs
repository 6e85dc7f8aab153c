using System.Diagnostics.CodeAnalysis;
using System.Net;
using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis.BestPractices;
using IpsecExporter.Tunnels;

namespace IpsecExporter.Diagnosis;

/// <summary>
/// Everything known about one tunnel at one moment, gathered from the source, the probes and the site checks.
/// Counters are cumulative (monotonic); the diagnosis compares samples across its window. Null means "not known".
/// The source's part is the tracker's own immutable observation, referenced, not copied.
/// </summary>
/// <param name="Ike">Phase 1 as last observed (kept while the source is down); null while the source never answered.</param>
/// <param name="Pairs">The tracker's observation of each configured network pair, in configuration order.</param>
/// <param name="BestPractices">The best-practice service's latest verdicts for the tunnel.</param>
public sealed record TunnelSample(
    DateTimeOffset At,
    bool SourceUp,
    IkeObservation? Ike,
    IReadOnlyList<PairObservation> Pairs,
    ProbeCounts? Gateway,
    IReadOnlyList<InsideSample> Inside,
    InternetSample Internet,
    IReadOnlyList<BestPracticeResult> BestPractices)
{
    /// <summary>Whether an IKE SA is ESTABLISHED; null while the source is down (only the current state is then unknown).</summary>
    public bool? IkeEstablished => SourceUp ? Ike?.Established : null;

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

        var pairs = Same(sample.Pairs, previous.Pairs);
        var gateway = Same(sample.Gateway, previous.Gateway);
        var inside = Same(sample.Inside, previous.Inside);
        var internet = Same(sample.Internet, previous.Internet);
        var practices = Same(sample.BestPractices, previous.BestPractices);
        var ike = Same(sample.Ike, previous.Ike);
        var address = Same(sample.RemoteGatewayAddress, previous.RemoteGatewayAddress);
        // Every round: no copy when the sampler already handed over the same instances.
        if (ReferenceEquals(pairs, sample.Pairs) && ReferenceEquals(gateway, sample.Gateway) && ReferenceEquals(inside, sample.Inside)
            && ReferenceEquals(internet, sample.Internet) && ReferenceEquals(practices, sample.BestPractices) && ReferenceEquals(ike, sample.Ike)
            && ReferenceEquals(address, sample.RemoteGatewayAddress))
        {
            return sample;
        }

        return sample with
        {
            Pairs = pairs,
            Gateway = gateway,
            Inside = inside,
            Internet = internet,
            BestPractices = practices,
            Ike = ike,
            RemoteGatewayAddress = address,
        };
    }

    /// <summary><paramref name="before"/> when it equals <paramref name="next"/>: for a sampler that hands a part over again.</summary>
    [return: NotNullIfNotNull(nameof(next))]
    public static T? Same<T>(T? next, T? before)
        where T : class => Equals(next, before) ? before : next;

    /// <summary><paramref name="before"/> when it has the same items as <paramref name="next"/>.</summary>
    public static IReadOnlyList<T> Same<T>(IReadOnlyList<T> next, IReadOnlyList<T> before) => Items.Equal(next, before) ? before : next;
}

/// <summary>Comparisons of the samples' lists by index: <c>SequenceEqual</c> makes two enumerators for lists that are not arrays.</summary>
public static class Items
{
    public static bool Equal<T>(IReadOnlyList<T> a, IReadOnlyList<T> b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (!EqualityComparer<T>.Default.Equals(a[i], b[i]))
            {
                return false;
            }
        }

        return true;
    }
}

public static class PairObservationKey
{
    extension(PairObservation pair)
    {
        /// <summary>The pair as its labels spell it: how the diagnosis finds the same pair in another sample.</summary>
        public PairKey Key => new(pair.LocalTs, pair.RemoteTs);
    }

    /// <summary>The pair of <paramref name="pairs"/> with <paramref name="key"/>, or null: a loop, without LINQ's enumerator and closure per lookup (a lookup per pair per round on a hub).</summary>
    public static PairObservation? Find(IReadOnlyList<PairObservation> pairs, PairKey key)
    {
        for (var i = 0; i < pairs.Count; i++)
        {
            if (pairs[i].Key == key)
            {
                return pairs[i];
            }
        }

        return null;
    }
}

/// <summary>Cumulative echo requests and replies, with the latest RTT seen.</summary>
public sealed record ProbeCounts(ulong Requests, ulong Responses, TimeSpan? LastRtt);

public sealed record InsideSample(IPAddress Target, ProbeCounts Counts);

/// <summary>Local connectivity (an operational interface and a default route) and the observed public IP.</summary>
public sealed record InternetSample(bool? Connected, IPAddress? PublicIp, bool? PublicIpMatchesExpected, string? Detail);

using System.Net;
using IpsecExporter.Diagnosis;
using IpsecExporter.Diagnosis.BestPractices;
using IpsecExporter.Tests.Support;
using IpsecExporter.Tunnels;

namespace IpsecExporter.Tests.Diagnosis;

public sealed class SampleWindowTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 3, 12, 0, 0, TimeSpan.FromHours(1));

    private static TunnelSample Sample(int second, ulong n, int childSas = 1, ulong? receivedPackets = 10, TimeSpan? rtt = null, bool sourceUp = true) => new(
        Start.AddSeconds(second),
        sourceUp,
        Ike: Observations.Ike(localHost: IPAddress.Parse("198.51.100.7"), remoteHost: IPAddress.Parse("203.0.113.9"), rekeys: n / 5),
        Pairs:
        [
            Observations.Pair("10.1.0.0/24", "10.2.0.0/24", childSas, n * 100, n * 90, n, receivedPackets, rekeys: n / 3, dhGroup: "ECP_256"),
            Observations.Pair("fd00:1::/64", "fd00:2::/64", 1, null, n, null, null),
        ],
        Gateway: new ProbeCounts(n, n - 1, rtt),
        Inside: [new InsideSample(IPAddress.Parse("10.2.0.1"), new ProbeCounts(n, n, TimeSpan.FromMicroseconds(480 + n)))],
        new InternetSample(true, IPAddress.Parse("198.51.100.7"), true, null),
        [new BestPracticeResult(BestPractice.Pfs, true, "PFS on")])
    {
        RemoteGatewayAddress = IPAddress.Parse("203.0.113.9"),
    };

    [Fact]
    public void Every_sample_reads_back_as_it_was_added_across_changes_of_counters_of_everything_else_and_of_numbers_that_do_not_fit_in_32_bits()
    {
        TunnelSample[] samples =
        [
            Sample(0, 10),
            Sample(5, 11),
            Sample(10, 11),
            Sample(15, 12, childSas: 2),
            Sample(20, 13, receivedPackets: null),
            Sample(25, 14, rtt: TimeSpan.FromMilliseconds(3)),
            Sample(30, 14, rtt: TimeSpan.FromMilliseconds(4)),
            Sample(35, 14, sourceUp: false),
            Sample(40, 15) with { Internet = new InternetSample(false, null, null, "no default route") },
            Sample(45, 16) with { Gateway = null, Inside = [] },
            Sample(50, 17),
            Sample(55, 5),
            Sample(60, 6, rtt: TimeSpan.FromSeconds(500)),
            Sample(65, 7, rtt: TimeSpan.FromSeconds(500)),
            Sample(70, 50_000_000, rtt: TimeSpan.FromSeconds(1)),
            Sample(75, 50_000_001, rtt: TimeSpan.FromSeconds(2)),
        ];
        var window = new SampleWindow();
        foreach (var sample in samples)
        {
            window.Add(sample);
        }

        Assert.Equal(samples.Length, window.Count);
        Assert.Same(samples[^1], window.Latest);
        Assert.Same(samples[^1], window[^1]);
        for (var i = 0; i < samples.Length; i++)
        {
            AssertSame(samples[i], window[i]);
        }

        Assert.Equal(samples.Select(s => s.At), window.Select(s => s.At));
    }

    [Fact]
    public void The_times_of_the_last_packets_and_the_age_of_the_IKE_SA_read_back_as_they_were_added()
    {
        TunnelSample[] samples = [At(0), At(5), At(10, received: false), At(15, received: false), At(20), At(600), At(605)];
        var window = new SampleWindow();
        foreach (var sample in samples)
        {
            window.Add(sample);
        }

        for (var i = 0; i < samples.Length; i++)
        {
            AssertSame(samples[i], window[i]);
        }

        static TunnelSample At(int second, bool received = true)
        {
            var sample = Sample(second, 10);
            return sample with
            {
                Ike = sample.Ike! with { EstablishedFor = TimeSpan.FromSeconds(100 + second) },
                Pairs = [.. sample.Pairs.Select(p => p with { LastSent = Start.AddSeconds(second - 1), LastReceived = received ? Start.AddSeconds(second - 2) : null })],
            };
        }
    }

    [Fact]
    public void Dropping_keeps_the_newest_sample_before_the_window_start()
    {
        var window = new SampleWindow();
        for (var second = 0; second <= 60; second += 5)
        {
            window.Add(Sample(second, (ulong)second + 1));
        }

        window.DropBefore(Start.AddSeconds(22));

        Assert.Equal([20, 25, 30, 35, 40, 45, 50, 55, 60], window.Select(s => (int)(s.At - Start).TotalSeconds));
        AssertSame(Sample(20, 21), window[0]);

        window.DropBefore(Start.AddSeconds(90));
        Assert.Equal(9, window.Count);
    }

    [Fact]
    public void A_window_moving_along_reads_back_every_sample_it_keeps_and_allocates_nothing_for_a_sample_that_joins_a_run()
    {
        var window = new SampleWindow();
        var added = new List<TunnelSample>();
        for (var second = 0; second <= 310; second += 5)
        {
            // Idle stretches (the same numbers as the sample before) between growing ones, and a new run now and then.
            var sample = Sample(second, (ulong)(second / 15) + 1, childSas: second % 100 == 0 ? 2 : 1);
            added.Add(sample);
            window.Add(sample);
            window.DropBefore(sample.At - TimeSpan.FromSeconds(60));
        }

        var kept = added.Skip(added.Count - window.Count).ToList();
        Assert.Equal(Start.AddSeconds(245), kept[0].At);
        for (var i = 0; i < kept.Count; i++)
        {
            AssertSame(kept[i], window[i]);
        }

        // Made before measuring, sharing what did not change as the service's are: the samples are the caller's.
        var next = new List<TunnelSample>();
        foreach (var n in new[] { 1, 2, 3 })
        {
            next.Add(TunnelSample.SharingWith(Sample(310 + (5 * n), 21 + (ulong)n), next.Count > 0 ? next[^1] : added[^1]));
        }
        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var sample in next)
        {
            window.Add(sample);
            window.DropBefore(sample.At - TimeSpan.FromSeconds(60));
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        AssertSame(next[0], window[^3]);
        AssertSame(next[1], window[^2]);
    }

    [Fact]
    public void A_window_holds_little_more_than_its_samples_however_long_it_moves_along()
    {
        var window = new SampleWindow();
        for (var second = 0; second <= 3600; second += 5)
        {
            var sample = Sample(second, (ulong)second + 1, childSas: second % 600 == 0 ? 2 : 1);
            window.Add(sample);
            window.DropBefore(sample.At - TimeSpan.FromMinutes(2));
        }

        // 2 minutes at 5 s: 25 samples and the one before the window's start; a few more slots as they grow. Numbers
        // per sample of Sample: 7 per pair, 3 per probed target (requests, responses, RTT), 2 of the IKE SA.
        const int numbersPerSample = (2 * 7) + (2 * 3) + 2;
        Assert.Equal(26, window.Count);
        Assert.InRange(window.Capacity.Entries, window.Count, window.Count + 4);
        // Growth since the run's key frame and RTTs in a few bytes each: at most half of 32 bits per number.
        Assert.InRange(window.Capacity.NumberBytes, 24 * numbersPerSample, 30 * numbersPerSample * sizeof(uint) / 2);
    }

    [Fact]
    public void The_fields_a_window_compares_or_keeps_as_numbers_are_all_the_fields_of_the_observations()
    {
        // A field added to an observation must be compared or kept, or samples would read back without it.
        Assert.Equal(Fields<PairObservation>(), SampleWindow.PairFields.Order());
        Assert.Equal(Fields<IkeObservation>(), SampleWindow.IkeFields.Order());

        static IEnumerable<string> Fields<T>() => typeof(T)
            .GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance)
            .Where(p => p.Name != "EqualityContract")
            .Select(p => p.Name)
            .Order();
    }

    private static void AssertSame(TunnelSample expected, TunnelSample actual)
    {
        Assert.Equal(expected.At, actual.At);
        Assert.Equal(expected.At.Offset, actual.At.Offset);
        Assert.Equal(expected.Pairs, actual.Pairs);
        Assert.Equal(expected.Inside, actual.Inside);
        Assert.Equal(expected.BestPractices, actual.BestPractices);
        Assert.Equal(expected, actual with { Pairs = expected.Pairs, Inside = expected.Inside, BestPractices = expected.BestPractices });
    }
}

using System.Net;
using IpsecExporter.Diagnosis;
using IpsecExporter.Diagnosis.BestPractices;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Diagnosis;

public sealed class TunnelSampleTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    private static TunnelSample Sample(int second, ulong sentBytes, ulong gatewayResponses) => new(
        Start.AddSeconds(second),
        SourceUp: true,
        Ike: Observations.Ike(localHost: IPAddress.Parse("198.51.100.7"), remoteHost: IPAddress.Parse("203.0.113.9")),
        Pairs: [Observations.Pair("10.1.0.0/24", "10.2.0.0/24", 1, sentBytes, 100, 10, 10)],
        Gateway: new ProbeCounts(10, gatewayResponses, TimeSpan.FromMilliseconds(3)),
        Inside: [new InsideSample(IPAddress.Parse("10.2.0.1"), new ProbeCounts(4, 4, null))],
        new InternetSample(true, IPAddress.Parse("198.51.100.7"), true, null),
        [new BestPracticeResult(BestPractice.Pfs, true, "PFS on")]);

    [Fact]
    public void A_sample_takes_the_parts_equal_to_the_previous_ones_from_it_and_keeps_its_own_where_they_differ()
    {
        var previous = Sample(0, sentBytes: 1000, gatewayResponses: 10);
        var next = Sample(5, sentBytes: 2000, gatewayResponses: 10);

        var shared = TunnelSample.SharingWith(next, previous);

        Assert.Equal(next, shared with { Pairs = next.Pairs, Inside = next.Inside, BestPractices = next.BestPractices });
        Assert.Same(next.Pairs, shared.Pairs);
        Assert.Same(previous.Gateway, shared.Gateway);
        Assert.Same(previous.Inside, shared.Inside);
        Assert.Same(previous.Internet, shared.Internet);
        Assert.Same(previous.BestPractices, shared.BestPractices);
        Assert.Same(previous.Ike!.LocalHost, shared.Ike!.LocalHost);
        Assert.Same(previous.Ike.RemoteHost, shared.Ike.RemoteHost);
        Assert.Equal(next.At, shared.At);
        Assert.Same(next, TunnelSample.SharingWith(next, null));
    }

    [Fact]
    public void A_sample_that_already_holds_the_previous_ones_parts_is_not_copied()
    {
        var previous = Sample(0, sentBytes: 1000, gatewayResponses: 10);
        var next = Sample(5, sentBytes: 2000, gatewayResponses: 10) with
        {
            Ike = TunnelSample.Same(Sample(5, 2000, 10).Ike, previous.Ike),
            Gateway = TunnelSample.Same(new ProbeCounts(10, 10, TimeSpan.FromMilliseconds(3)), previous.Gateway),
            Inside = previous.Inside,
            Internet = previous.Internet,
            BestPractices = previous.BestPractices,
        };

        Assert.Same(previous.Ike, next.Ike);
        Assert.Same(previous.Gateway, next.Gateway);
        Assert.Same(next, TunnelSample.SharingWith(next, previous));
    }
}

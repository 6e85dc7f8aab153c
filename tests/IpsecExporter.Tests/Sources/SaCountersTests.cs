using IpsecExporter.Sources;

namespace IpsecExporter.Tests.Sources;

public sealed class SaCountersTests
{
    private static readonly SaCounters Mark = new(100, 200, 10, 20);

    [Theory]
    [InlineData(99UL, 200UL, 10UL, 20UL)]
    [InlineData(100UL, 199UL, 10UL, 20UL)]
    [InlineData(100UL, 200UL, 9UL, 20UL)]
    [InlineData(500UL, 500UL, 50UL, 19UL)]
    public void Counters_with_one_value_below_the_mark_are_below_it(ulong receivedBytes, ulong sentBytes, ulong receivedPackets, ulong sentPackets)
    {
        Assert.True(new SaCounters(receivedBytes, sentBytes, receivedPackets, sentPackets).IsBelow(Mark));
    }

    [Fact]
    public void Counters_at_or_above_the_mark_are_not_below_it()
    {
        Assert.False(Mark.IsBelow(Mark));
        Assert.False(new SaCounters(101, 200, 10, 21).IsBelow(Mark));
    }

    [Fact]
    public void A_counter_either_side_lacks_is_not_compared()
    {
        Assert.False(new SaCounters(null, null, 10, 20).IsBelow(Mark));
        Assert.False(new SaCounters(0, 0, 0, 0).IsBelow(new SaCounters(null, null, null, null)));
        Assert.True(SaCounters.Bytes(99, 200).IsBelow(Mark));
    }
}

using IpsecExporter.Tunnels;

namespace IpsecExporter.Tests.Tunnels;

public sealed class PairObservationTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 5, 7, 0, 0, TimeSpan.FromHours(2));

    private static PairObservation Full() => new(
        null, "10.1.0.0/24", "10.2.0.0/24", 1, ReceivedBytes: 0, SentBytes: ulong.MaxValue, ReceivedPackets: 7, SentPackets: 8,
        LastReceived: At, LastSent: At.AddSeconds(-3).ToOffset(TimeSpan.FromMinutes(-330)), Rekeys: 2,
        RekeyInterval: TimeSpan.FromHours(1), Lifetime: TimeSpan.Zero, LastRekeyAfter: TimeSpan.FromTicks(1), DhGroup: "ECP_256", Pfs: true);

    [Fact]
    public void Every_value_reads_back_as_given_zero_and_the_largest_included_with_the_times_offsets()
    {
        var pair = Full();

        Assert.Equal(
            ((ulong?)0, (ulong?)ulong.MaxValue, (ulong?)7, (ulong?)8, (TimeSpan?)TimeSpan.FromHours(1), (TimeSpan?)TimeSpan.Zero, (TimeSpan?)TimeSpan.FromTicks(1)),
            (pair.ReceivedBytes, pair.SentBytes, pair.ReceivedPackets, pair.SentPackets, pair.RekeyInterval, pair.Lifetime, pair.LastRekeyAfter));
        Assert.Equal(At, pair.LastReceived);
        Assert.Equal(TimeSpan.FromHours(2), pair.LastReceived!.Value.Offset);
        Assert.Equal(At.AddSeconds(-3), pair.LastSent);
        Assert.Equal(TimeSpan.FromMinutes(-330), pair.LastSent!.Value.Offset);
    }

    [Fact]
    public void Unknown_values_stay_unknown_and_with_sets_and_clears_each_on_its_own()
    {
        var none = new PairObservation(null, "a", "b", 0, null, null, null, null, null, null, 0, null, null, null, null, null);
        Assert.All(
            new object?[] { none.ReceivedBytes, none.SentBytes, none.ReceivedPackets, none.SentPackets, none.LastReceived, none.LastSent, none.RekeyInterval, none.Lifetime, none.LastRekeyAfter },
            Assert.Null);

        var full = Full();
        var cleared = full with { SentBytes = null, LastSent = null, Lifetime = null };
        Assert.Equal((null, null, null), (cleared.SentBytes, cleared.LastSent, cleared.Lifetime));
        Assert.Equal((full.ReceivedBytes, full.LastReceived, full.RekeyInterval), (cleared.ReceivedBytes, cleared.LastReceived, cleared.RekeyInterval));
        Assert.Equal(full, cleared with { SentBytes = full.SentBytes, LastSent = full.LastSent, Lifetime = full.Lifetime });
        Assert.NotEqual(none, none with { ReceivedBytes = 0 });
    }
}

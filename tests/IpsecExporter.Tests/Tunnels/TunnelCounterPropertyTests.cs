using IpsecExporter.Metrics;
using CsCheck;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Tunnels;

/// <summary>
/// For any interleaving of CHILD SAs appearing, carrying traffic, being rekeyed, deleted (with or without a final event),
/// IKE rekeys moving them onto a new IKE SA, daemon restarts (unique ids start again), failed collections and configuration reloads, the exported counters never
/// go backwards, never count a byte twice, and lag the true traffic by no more than the traffic of one collection
/// interval on the SAs that vanished in it without a final event.
/// </summary>
public sealed class TunnelCounterPropertyTests
{
    private const string Config = TrackerHarness.TwoPairConfig;

    /// <summary>The same tunnel after a reload: pairs reordered and one added; counters of the kept pairs must survive.</summary>
    private static readonly string ReloadedConfig = Config.Replace(
        "      - { local: 10.1.0.0/24, remote: 10.2.0.0/24 }\n      - { local: 10.3.0.0/24, remote: 10.4.0.0/24 }",
        "      - { local: 10.5.0.0/24, remote: 10.6.0.0/24 }\n      - { local: 10.3.0.0/24, remote: 10.4.0.0/24 }\n      - { local: 10.1.0.0/24, remote: 10.2.0.0/24 }",
        StringComparison.Ordinal);

    private static readonly Gen<Op> Operation = Gen.Frequency(
        (3, Gen.Int[0, 2].Select(pair => (Op)new Appear(pair))),
        (10, Gen.Select(Gen.Int[0, 99], Gen.UInt[0, 5000], Gen.UInt[0, 5000], (sa, received, sent) => (Op)new Grow(sa, received, sent))),
        (3, Gen.Select(Gen.Int[0, 99], Gen.Bool, (sa, withEvent) => (Op)new Rekey(sa, withEvent))),
        (2, Gen.Select(Gen.Int[0, 99], Gen.Bool, (sa, withEvent) => (Op)new Delete(sa, withEvent))),
        (2, Gen.Int[0, 99].Select(sa => (Op)new Vanish(sa))),
        (1, Gen.Bool.Select(graceful => (Op)new Restart(graceful))),
        (1, Gen.Bool.Select(oldListed => (Op)new RekeyIke(oldListed))),
        (6, Gen.Const((Op)new Poll())),
        (1, Gen.Const((Op)new FailedPoll())),
        (1, Gen.Const((Op)new Reload())));

    [Fact]
    public void Counters_are_monotonic_and_equal_the_true_traffic_within_one_interval()
    {
        Operation.Array[1, 80].Sample(Run, iter: 300, threads: 1);
    }

    private static void Run(Op[] operations)
    {
        using var harness = new TrackerHarness(Config);
        var daemon = new SimulatedChildSas();
        var exported = new ulong[SimulatedChildSas.Series.Length * 2];
        var lag = new ulong[exported.Length];
        var trafficSincePoll = new ulong[exported.Length];
        var reloaded = false;
        foreach (var operation in operations.Append(new Poll()))
        {
            switch (operation)
            {
                case Poll:
                    harness.Time.Advance(TimeSpan.FromSeconds(5));
                    harness.Collect(daemon.Poll(harness.Time.GetUtcNow()));
                    for (var i = 0; i < exported.Length; i++)
                    {
                        var now = Exported(harness, i);
                        var truth = Bytes(daemon.Truth(i / 2), i);
                        Assert.True(now <= truth, $"series {i}: exported {now} > true traffic {truth}: counted twice");
                        Assert.Equal(Bytes(daemon.Observed(i / 2), i), now);
                        var newLag = truth - now;
                        Assert.True(newLag <= lag[i] + trafficSincePoll[i], $"series {i}: lag grew by {newLag - lag[i]}, more than the {trafficSincePoll[i]} of traffic since the last poll");
                        lag[i] = newLag;
                        trafficSincePoll[i] = 0;
                    }

                    break;
                case FailedPoll:
                    harness.Collect(null);
                    break;
                case Reload:
                    harness.Reload(reloaded ? Config : ReloadedConfig);
                    reloaded = !reloaded;
                    break;
                default:
                    foreach (var (series, amount) in Apply(daemon, operation))
                    {
                        trafficSincePoll[series] += amount;
                    }

                    break;
            }

            for (var i = 0; i < exported.Length; i++)
            {
                var now = Exported(harness, i);
                Assert.True(now >= exported[i], $"series {i} went backwards from {exported[i]} to {now} after {operation}");
                exported[i] = now;
            }
        }
    }

    /// <summary>Received (even index) or sent (odd index) bytes of a series; 0 while it does not exist.</summary>
    private static ulong Exported(TrackerHarness harness, int index)
    {
        var family = index % 2 == 0 ? MetricFamilies.ChildSaReceivedBytes : MetricFamilies.ChildSaSentBytes;
        return (ulong)(MetricsText.Value(harness.Tracker, family, SimulatedChildSas.Series[index / 2]) ?? 0);
    }

    /// <summary>Received (even index) or sent (odd index) bytes.</summary>
    private static ulong Bytes((ulong Received, ulong Sent) bytes, int index) => index % 2 == 0 ? bytes.Received : bytes.Sent;

    /// <summary>Applies a change to the daemon; returns the traffic it carried, per series index.</summary>
    private static IEnumerable<(int Series, ulong Amount)> Apply(SimulatedChildSas daemon, Op operation)
    {
        var listed = daemon.Listed;
        var installed = daemon.Installed;
        switch (operation)
        {
            case Appear appear:
                daemon.Install(appear.Selector);
                break;
            case Grow grow when listed.Count > 0:
                var sa = listed[grow.Sa % listed.Count];
                sa.Grow(grow.Received, grow.Sent);
                return [(sa.Selector * 2, grow.Received), ((sa.Selector * 2) + 1, grow.Sent)];
            case Rekey rekey when installed.Count > 0:
                daemon.Replace(installed[rekey.Sa % installed.Count], "DELETED", rekey.WithEvent);
                break;
            case Delete delete when installed.Count > 0:
                daemon.Delete(installed[delete.Sa % installed.Count], delete.WithEvent);
                break;
            case Vanish vanish when listed.Count > 0:
                daemon.Remove(listed[vanish.Sa % listed.Count]);
                break;
            case Restart restart:
                daemon.Restart(restart.Graceful);
                break;
            case RekeyIke rekeyIke:
                daemon.RekeyIke(rekeyIke.OldListed);
                break;
        }

        return [];
    }

    private abstract record Op;

    private sealed record Appear(int Selector) : Op;

    private sealed record Grow(int Sa, uint Received, uint Sent) : Op;

    /// <summary>Replaced by a new SA; the old one lingers (DELETED) until it vanishes. The event may be lost.</summary>
    private sealed record Rekey(int Sa, bool WithEvent) : Op;

    /// <summary>Deleted; lingers until it vanishes. The event may be lost.</summary>
    private sealed record Delete(int Sa, bool WithEvent) : Op;

    /// <summary>Gone from the daemon's list without any further event.</summary>
    private sealed record Vanish(int Sa) : Op;

    /// <summary>Every SA gone; a graceful stop sends their final counters, a crash does not. Unique ids start again at 1.</summary>
    private sealed record Restart(bool Graceful) : Op;

    /// <summary>The IKE SA is rekeyed (its CHILD SAs move with their keys); the next poll lists the old one as REKEYED or not at all.</summary>
    private sealed record RekeyIke(bool OldListed) : Op;

    private sealed record Poll : Op;

    private sealed record FailedPoll : Op;

    private sealed record Reload : Op;
}

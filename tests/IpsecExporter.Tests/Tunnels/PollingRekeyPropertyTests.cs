using IpsecExporter.Metrics;
using CsCheck;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Tunnels;

/// <summary>
/// A source without events (every firewall API, or charon after a lost event connection): for any sequence of
/// snapshots in which CHILD SAs carry traffic, are replaced under their IKE SA (the old one lingering as DELETED or
/// REKEYED, or simply gone), are added or deleted, and the IKE SA is rekeyed (alone or together with CHILD SAs between
/// the same two polls; the old IKE SA listed as REKEYED or gone), the exported counters never go backwards, equal the
/// highest values the polls showed, and every replacement a poll could see counts exactly one rekey.
/// </summary>
public sealed class PollingRekeyPropertyTests
{
    private static readonly Gen<Op> Operation = Gen.Frequency(
        (2, Gen.Int[0, 2].Select(selector => (Op)new Appear(selector))),
        (10, Gen.Select(Gen.Int[0, 99], Gen.UInt[0, 5000], Gen.UInt[0, 5000], (sa, received, sent) => (Op)new Grow(sa, received, sent))),
        (4, Gen.Select(Gen.Int[0, 99], Gen.Enum<Linger>(), (sa, linger) => (Op)new Replace(sa, linger))),
        (1, Gen.Int[0, 99].Select(sa => (Op)new Delete(sa))),
        (2, Gen.Bool.Select(oldListed => (Op)new RekeyIke(oldListed))),
        (2, Gen.Int[0, 99].Select(sa => (Op)new Vanish(sa))),
        (4, Gen.Const((Op)new Poll())),
        (1, Gen.Const((Op)new FailedPoll())));

    public enum Linger
    {
        Deleted,
        Rekeyed,
        Gone,
    }

    [Fact]
    public void Counters_stay_monotonic_and_each_replacement_counts_one_rekey()
    {
        Operation.Array[1, 60].Sample(Run, iter: 300, threads: 1);
    }

    private static void Run(Op[] operations)
    {
        using var harness = new TrackerHarness(TrackerHarness.TwoPairConfig);
        var gateway = new SimulatedChildSas();
        var exported = new double[SimulatedChildSas.Series.Length * 3];
        foreach (var operation in operations.Append(new Poll()))
        {
            switch (operation)
            {
                case FailedPoll:
                    harness.Collect(null);
                    break;
                case Poll:
                    Collect();
                    break;
                default:
                    // A change of the SA set is seen by the next poll before anything else changes it.
                    if (Apply(gateway, operation))
                    {
                        Collect();
                    }

                    break;
            }

            for (var i = 0; i < exported.Length; i++)
            {
                var now = Exported(harness, i);
                Assert.True(now >= exported[i], $"value {i} went backwards from {exported[i]} to {now} after {operation}");
                exported[i] = now;
            }
        }

        void Collect()
        {
            harness.Time.Advance(TimeSpan.FromSeconds(5));
            harness.Collect(gateway.Poll(harness.Time.GetUtcNow()));
            for (var series = 0; series < SimulatedChildSas.Series.Length; series++)
            {
                Assert.Equal(gateway.Observed(series).Received, Exported(harness, series * 3));
                Assert.Equal(gateway.Observed(series).Sent, Exported(harness, (series * 3) + 1));
                Assert.Equal(gateway.Replacements[series], Exported(harness, (series * 3) + 2));
            }
        }
    }

    /// <summary>Per series: received bytes, sent bytes, rekeys; 0 while the series does not exist.</summary>
    private static double Exported(TrackerHarness harness, int index)
    {
        var family = (index % 3) switch
        {
            0 => MetricFamilies.ChildSaReceivedBytes,
            1 => MetricFamilies.ChildSaSentBytes,
            _ => MetricFamilies.ChildSaRekeys,
        };
        return MetricsText.Value(harness.Tracker, family, SimulatedChildSas.Series[index / 3]) ?? 0;
    }

    /// <summary>Applies a change to the gateway; true when it changed which SAs are installed (a poll must see it).</summary>
    private static bool Apply(SimulatedChildSas gateway, Op operation)
    {
        var installed = gateway.Installed;
        var lingering = gateway.Lingering;
        switch (operation)
        {
            case Appear appear:
                gateway.Install(appear.Selector);
                return true;
            case Grow grow when installed.Count > 0:
                installed[grow.Sa % installed.Count].Grow(grow.Received, grow.Sent);
                return false;
            case Replace replace when installed.Count > 0:
                var old = installed[replace.Sa % installed.Count];
                gateway.Replace(old, replace.Linger == Linger.Rekeyed ? "REKEYED" : "DELETED", withEvent: false);
                if (replace.Linger == Linger.Gone)
                {
                    gateway.Remove(old);
                }

                return true;
            case Delete delete when installed.Count > 0:
                gateway.Delete(installed[delete.Sa % installed.Count], withEvent: false);
                return true;
            case RekeyIke rekey:
                // No poll of its own: a CHILD SA replacement may follow before the next one.
                gateway.RekeyIke(rekey.OldListed);
                return false;
            case Vanish vanish when lingering.Count > 0:
                gateway.Remove(lingering[vanish.Sa % lingering.Count]);
                return false;
            default:
                return false;
        }
    }

    private abstract record Op;

    private sealed record Appear(int Selector) : Op;

    private sealed record Grow(int Sa, uint Received, uint Sent) : Op;

    private sealed record Replace(int Sa, Linger Linger) : Op;

    private sealed record Delete(int Sa) : Op;

    /// <summary>The IKE SA is rekeyed; the next poll lists the old one as REKEYED or not at all.</summary>
    private sealed record RekeyIke(bool OldListed) : Op;

    /// <summary>A lingering (no longer installed) SA leaves the list.</summary>
    private sealed record Vanish(int Sa) : Op;

    private sealed record Poll : Op;

    private sealed record FailedPoll : Op;
}

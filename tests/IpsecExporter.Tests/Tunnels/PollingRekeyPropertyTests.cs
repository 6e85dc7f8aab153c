using IpsecExporter.Metrics;
using System.Globalization;
using CsCheck;
using IpsecExporter.Sources;
using IpsecExporter.Tests.Support;
using IpsecExporter.Tunnels;

namespace IpsecExporter.Tests.Tunnels;

/// <summary>
/// A source without events (every firewall API, or charon after a lost event connection): for any sequence of
/// snapshots in which CHILD SAs carry traffic, are replaced under their IKE SA (the old one lingering as DELETED or
/// REKEYED, or simply gone), are added or deleted, the exported counters never go backwards, equal the highest values
/// the polls showed, and every replacement a poll could see counts exactly one rekey.
/// </summary>
public sealed class PollingRekeyPropertyTests
{
    private static readonly (string Local, string Remote)[] Selectors = [("10.1.0.0/24", "10.2.0.0/24"), ("10.3.0.0/24", "10.4.0.0/24"), ("192.168.0.0/24", "192.168.1.0/24")];

    private static readonly string[][] Series =
    [
        ["t1", "10.1.0.0/24", "10.2.0.0/24"],
        ["t1", "10.3.0.0/24", "10.4.0.0/24"],
        ["t1", TunnelTracker.UnmatchedLabel, TunnelTracker.UnmatchedLabel],
    ];

    private static readonly Gen<Op> Operation = Gen.Frequency(
        (2, Gen.Int[0, 2].Select(selector => (Op)new Appear(selector))),
        (10, Gen.Select(Gen.Int[0, 99], Gen.UInt[0, 5000], Gen.UInt[0, 5000], (sa, received, sent) => (Op)new Grow(sa, received, sent))),
        (4, Gen.Select(Gen.Int[0, 99], Gen.Enum<Linger>(), (sa, linger) => (Op)new Replace(sa, linger))),
        (1, Gen.Int[0, 99].Select(sa => (Op)new Delete(sa))),
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
        var gateway = new SimulatedGateway();
        var exported = new double[Series.Length * 3];
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
                    if (gateway.Apply(operation))
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
            for (var series = 0; series < Series.Length; series++)
            {
                Assert.Equal(gateway.PolledReceived(series), Exported(harness, series * 3));
                Assert.Equal(gateway.PolledSent(series), Exported(harness, (series * 3) + 1));
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
        return MetricsText.Value(harness.Tracker, family, Series[index / 3]) ?? 0;
    }

    private abstract record Op;

    private sealed record Appear(int Selector) : Op;

    private sealed record Grow(int Sa, uint Received, uint Sent) : Op;

    private sealed record Replace(int Sa, Linger Linger) : Op;

    private sealed record Delete(int Sa) : Op;

    /// <summary>A lingering (no longer installed) SA leaves the list.</summary>
    private sealed record Vanish(int Sa) : Op;

    private sealed record Poll : Op;

    private sealed record FailedPoll : Op;

    /// <summary>One IKE SA that stays; its CHILD SAs as the gateway lists them, and the truth to compare with.</summary>
    private sealed class SimulatedGateway
    {
        private readonly List<Sa> _listed = [];
        private readonly List<Sa> _all = [];
        private int _next = 1;

        public double[] Replacements { get; } = new double[Series.Length];

        /// <summary>Applies a change; true when it changed which SAs are installed (a poll must see it).</summary>
        public bool Apply(Op operation)
        {
            var installed = _listed.Where(s => s.State == "INSTALLED").ToList();
            var lingering = _listed.Where(s => s.State != "INSTALLED").ToList();
            switch (operation)
            {
                case Appear appear:
                    Install(appear.Selector);
                    return true;
                case Grow grow when installed.Count > 0:
                    var sa = installed[grow.Sa % installed.Count];
                    sa.Received += grow.Received;
                    sa.Sent += grow.Sent;
                    return false;
                case Replace replace when installed.Count > 0:
                    var old = installed[replace.Sa % installed.Count];
                    old.State = replace.Linger == Linger.Rekeyed ? "REKEYED" : "DELETED";
                    if (replace.Linger == Linger.Gone)
                    {
                        _listed.Remove(old);
                    }

                    Install(old.Selector);
                    Replacements[old.Selector]++;
                    return true;
                case Delete delete when installed.Count > 0:
                    installed[delete.Sa % installed.Count].State = "DELETED";
                    return true;
                case Vanish vanish when lingering.Count > 0:
                    _listed.Remove(lingering[vanish.Sa % lingering.Count]);
                    return false;
                default:
                    return false;
            }
        }

        public SaSnapshot Poll(DateTimeOffset at)
        {
            foreach (var sa in _listed)
            {
                sa.PolledReceived = sa.Received;
                sa.PolledSent = sa.Sent;
            }

            return Sas.Snapshot(at, Sas.Ike("1", [.. _listed.Select(sa => Sas.Child(sa.UniqueId, Selectors[sa.Selector].Local, Selectors[sa.Selector].Remote, sa.Received, sa.Sent, sa.State))]));
        }

        public double PolledReceived(int selector) => _all.Where(s => s.Selector == selector).Sum(s => (double)s.PolledReceived);

        public double PolledSent(int selector) => _all.Where(s => s.Selector == selector).Sum(s => (double)s.PolledSent);

        private void Install(int selector)
        {
            var sa = new Sa(selector, (_next++).ToString(CultureInfo.InvariantCulture));
            _listed.Add(sa);
            _all.Add(sa);
        }

        private sealed class Sa(int selector, string uniqueId)
        {
            public int Selector { get; } = selector;

            public string UniqueId { get; } = uniqueId;

            public string State { get; set; } = "INSTALLED";

            public ulong Received { get; set; }

            public ulong Sent { get; set; }

            public ulong PolledReceived { get; set; }

            public ulong PolledSent { get; set; }
        }
    }
}

using IpsecExporter.Metrics;
using CsCheck;
using IpsecExporter.Sources;
using IpsecExporter.Tests.Support;
using IpsecExporter.Tunnels;

namespace IpsecExporter.Tests.Tunnels;

/// <summary>
/// For any interleaving of CHILD SAs appearing, carrying traffic, being rekeyed, deleted (with or without a final event),
/// daemon restarts (unique ids start again), failed collections and configuration reloads, the exported counters never
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

    /// <summary>Selectors of the simulated SAs: the two configured pairs and one the configuration does not know.</summary>
    private static readonly (string Local, string Remote)[] Selectors = [("10.1.0.0/24", "10.2.0.0/24"), ("10.3.0.0/24", "10.4.0.0/24"), ("192.168.0.0/24", "192.168.1.0/24")];

    private static readonly string[][] Series =
    [
        ["t1", "10.1.0.0/24", "10.2.0.0/24"],
        ["t1", "10.3.0.0/24", "10.4.0.0/24"],
        ["t1", TunnelTracker.UnmatchedLabel, TunnelTracker.UnmatchedLabel],
    ];

    private static readonly Gen<Op> Operation = Gen.Frequency(
        (3, Gen.Int[0, 2].Select(pair => (Op)new Appear(pair))),
        (10, Gen.Select(Gen.Int[0, 99], Gen.UInt[0, 5000], Gen.UInt[0, 5000], (sa, received, sent) => (Op)new Grow(sa, received, sent))),
        (3, Gen.Select(Gen.Int[0, 99], Gen.Bool, (sa, withEvent) => (Op)new Rekey(sa, withEvent))),
        (2, Gen.Select(Gen.Int[0, 99], Gen.Bool, (sa, withEvent) => (Op)new Delete(sa, withEvent))),
        (2, Gen.Int[0, 99].Select(sa => (Op)new Vanish(sa))),
        (1, Gen.Bool.Select(graceful => (Op)new Restart(graceful))),
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
        var daemon = new SimulatedDaemon();
        var exported = new ulong[Series.Length * 2];
        var lag = new ulong[Series.Length * 2];
        var trafficSincePoll = new ulong[Series.Length * 2];
        var reloaded = false;
        foreach (var operation in operations.Append(new Poll()))
        {
            switch (operation)
            {
                case Poll:
                    harness.Time.Advance(TimeSpan.FromSeconds(5));
                    harness.Collect(daemon.Snapshot(harness.Time.GetUtcNow()));
                    for (var i = 0; i < exported.Length; i++)
                    {
                        var now = Exported(harness, i);
                        var truth = daemon.Truth[i];
                        Assert.True(now <= truth, $"series {i}: exported {now} > true traffic {truth}: counted twice");
                        Assert.Equal(daemon.Observed[i], now);
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
                    foreach (var (series, amount) in daemon.Apply(operation))
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
        return (ulong)(MetricsText.Value(harness.Tracker, family, Series[index / 2]) ?? 0);
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

    private sealed record Poll : Op;

    private sealed record FailedPoll : Op;

    private sealed record Reload : Op;

    /// <summary>What charon would hold and report, plus the truth the exporter is measured against.</summary>
    private sealed class SimulatedDaemon
    {
        private readonly List<Sa> _sas = [];
        private readonly List<Sa> _all = [];
        private readonly List<ChildSaChange> _pending = [];
        private int _nextUniqueId = 1;
        private int _nextSpi = 1;

        /// <summary>All traffic that ever happened, per series (received, sent per selector).</summary>
        public ulong[] Truth { get; } = new ulong[Series.Length * 2];

        /// <summary>Per series, the sum over all SAs of the highest counters a poll or a delivered event showed.</summary>
        public ulong[] Observed
        {
            get
            {
                var observed = new ulong[Series.Length * 2];
                foreach (var sa in _all)
                {
                    observed[sa.Selector * 2] += sa.ObservedReceived;
                    observed[(sa.Selector * 2) + 1] += sa.ObservedSent;
                }

                return observed;
            }
        }

        public IEnumerable<(int Series, ulong Amount)> Apply(Op operation)
        {
            switch (operation)
            {
                case Appear appear:
                    Install(appear.Selector);
                    break;
                case Grow grow when _sas.Count > 0:
                    var sa = _sas[grow.Sa % _sas.Count];
                    sa.Received += grow.Received;
                    sa.Sent += grow.Sent;
                    Truth[sa.Selector * 2] += grow.Received;
                    Truth[(sa.Selector * 2) + 1] += grow.Sent;
                    return [(sa.Selector * 2, grow.Received), ((sa.Selector * 2) + 1, grow.Sent)];
                case Rekey rekey when Installed().Count > 0:
                    var old = Installed()[rekey.Sa % Installed().Count];
                    old.State = "DELETED";
                    var replacement = Install(old.Selector);
                    if (rekey.WithEvent)
                    {
                        _pending.Add(new ChildSaChange(DateTimeOffset.UnixEpoch, "site", SaChangeKind.Rekeyed, old.ToChildSa(), replacement.ToChildSa()));
                        old.Deliver();
                    }

                    break;
                case Delete delete when Installed().Count > 0:
                    var deleted = Installed()[delete.Sa % Installed().Count];
                    deleted.State = "DELETED";
                    if (delete.WithEvent)
                    {
                        _pending.Add(new ChildSaChange(DateTimeOffset.UnixEpoch, "site", SaChangeKind.Deleted, deleted.ToChildSa(), null));
                        deleted.Deliver();
                    }

                    break;
                case Vanish vanish when _sas.Count > 0:
                    _sas.RemoveAt(vanish.Sa % _sas.Count);
                    break;
                case Restart restart:
                    foreach (var gone in _sas.Where(_ => restart.Graceful))
                    {
                        _pending.Add(new ChildSaChange(DateTimeOffset.UnixEpoch, "site", SaChangeKind.Deleted, gone.ToChildSa(), null));
                        gone.Deliver();
                    }

                    _sas.Clear();
                    _nextUniqueId = 1;
                    break;
            }

            return [];
        }

        /// <summary>A poll: the listed SAs are observed now, and the pending events are handed over with it.</summary>
        public SaSnapshot Snapshot(DateTimeOffset at)
        {
            var ike = Sas.Ike("1", [.. _sas.Select(sa => sa.ToChildSa())]);
            foreach (var sa in _sas)
            {
                sa.Deliver();
            }

            var snapshot = Sas.Snapshot(at, ike) with { ChildSaChanges = _pending.Select(c => c with { At = at }).ToList() };
            _pending.Clear();
            return snapshot;
        }

        private List<Sa> Installed() => _sas.Where(s => s.State == "INSTALLED").ToList();

        private Sa Install(int selector)
        {
            var sa = new Sa(selector, (_nextUniqueId++).ToString(System.Globalization.CultureInfo.InvariantCulture), $"{_nextSpi++:x8}");
            _sas.Add(sa);
            _all.Add(sa);
            return sa;
        }

        private sealed class Sa(int selector, string uniqueId, string spi)
        {
            private ulong _reportedReceived;
            private ulong _reportedSent;

            public int Selector { get; } = selector;

            public string State { get; set; } = "INSTALLED";

            public ulong Received { get; set; }

            public ulong Sent { get; set; }

            public ulong ObservedReceived { get; private set; }

            public ulong ObservedSent { get; private set; }

            /// <summary>Counters as they are at this moment, as a poll or an event would report them.</summary>
            public ChildSa ToChildSa()
            {
                _reportedReceived = Received;
                _reportedSent = Sent;
                return Sas.Child(uniqueId, Selectors[Selector].Local, Selectors[Selector].Remote, Received, Sent, State, spi: spi);
            }

            /// <summary>What was last reported reached the exporter.</summary>
            public void Deliver()
            {
                ObservedReceived = Math.Max(ObservedReceived, _reportedReceived);
                ObservedSent = Math.Max(ObservedSent, _reportedSent);
            }
        }
    }
}

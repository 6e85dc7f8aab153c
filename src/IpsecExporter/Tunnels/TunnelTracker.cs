using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis.BestPractices;
using IpsecExporter.Metrics;
using IpsecExporter.Sources;

namespace IpsecExporter.Tunnels;

/// <summary>
/// The tunnel model: maps every snapshot of a source onto the configured tunnels (IKE SAs by connection name, CHILD SAs
/// onto network pairs by their selectors), keeps counters that never go backwards, publishes the Phase 1/Phase 2
/// metrics and keeps the newest time-stamped <see cref="TunnelObservation"/> per tunnel for the diagnosis.
/// </summary>
/// <remarks>
/// Counters: every SA is tracked by its <see cref="ChildSa.Identity"/> with the highest counter values ever seen for it
/// (by a poll or by an event carrying its last values). Only increases over that mark are added to the pairs the SA
/// carries, so an SA seen twice (a poll and its rekey event, or an old SA lingering in a rekey overlap) is never
/// counted twice, a new SA after a rekey or a daemon restart adds from zero, and the sum only grows. SAs absent from a
/// few collections are forgotten. docs/VICI.md explains the design.
/// </remarks>
public sealed class TunnelTracker : ISnapshotObserver, IObservedSaFactsProvider, IDisposable
{
    /// <summary>The <c>local_ts</c>/<c>remote_ts</c> value of CHILD SAs whose selectors match no configured pair.</summary>
    public const string UnmatchedLabel = "unmatched";

    /// <summary>SAs absent from this many collections are forgotten (their events could still be in flight before).</summary>
    public const int ForgetAfterCollections = 3;

    private readonly ConfigStore _config;
    private readonly ExporterMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    /// <summary>What each SA endpoint has been seen to count, keyed by <see cref="LedgerKey"/>: by the daemon it reads, not
    /// by the source's name, so that renaming a source on reload does not count its live SAs a second time.</summary>
    private readonly Dictionary<string, SourceLedger> _ledgers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TrackedTunnel> _tunnels = new(StringComparer.Ordinal);

    public TunnelTracker(ConfigStore config, ExporterMetrics metrics, TimeProvider time)
    {
        _config = config;
        _metrics = metrics;
        _time = time;
        foreach (var tunnel in config.Current.Tunnels)
        {
            _tunnels[tunnel.Name] = new TrackedTunnel(tunnel);
        }

        config.Changed += OnConfigChanged;
    }

    /// <summary>The newest view of <paramref name="tunnel"/>; null when it is not configured or its source was never collected.</summary>
    public TunnelObservation? Get(string tunnel)
    {
        lock (_lock)
        {
            return _tunnels.GetValueOrDefault(tunnel)?.Latest;
        }
    }

    /// <summary>
    /// PFS and rekey intervals for the best practices: PFS off as soon as one pair shows it off; the intervals the
    /// gateway is configured with (or scheduled its newest SAs with), not the age of SAs at their last rekey, which a
    /// manual rekey would make meaningless.
    /// </summary>
    public ObservedSaFacts FactsFor(string tunnel)
    {
        if (Get(tunnel) is not { } observed)
        {
            return ObservedSaFacts.None;
        }

        var pfs = observed.Pairs.Select(p => p.Pfs).ToList();
        return new ObservedSaFacts(
            pfs.Contains(false) ? false : pfs.Contains(true) ? true : null,
            observed.Pairs.Select(p => p.DhGroup).FirstOrDefault(g => g is not null),
            observed.Ike.RekeyInterval,
            observed.Pairs.Select(p => p.RekeyInterval).FirstOrDefault(i => i is not null));
    }

    public void OnCollected(SourceConfig source, SaSnapshot? snapshot)
    {
        lock (_lock)
        {
            var tunnels = _tunnels.Values.Where(t => t.Config.Source == source.Name).ToList();
            if (snapshot is null)
            {
                var now = _time.GetUtcNow();
                foreach (var tunnel in tunnels)
                {
                    tunnel.SourceUp = false;
                    Record(tunnel, now);
                }

                return;
            }

            if (!_ledgers.TryGetValue(LedgerKey(source), out var ledger))
            {
                ledger = new SourceLedger();
                _ledgers[LedgerKey(source)] = ledger;
            }

            Apply(ledger, tunnels, snapshot);
            foreach (var tunnel in tunnels)
            {
                tunnel.SourceUp = true;
                tunnel.LastSuccessAt = snapshot.CollectedAt;
                Publish(tunnel);
                Record(tunnel, snapshot.CollectedAt);
            }
        }
    }

    public void OnRemoved(string sourceName)
    {
        lock (_lock)
        {
            // Keep the ledger of an endpoint that is still configured (under another name).
            var kept = _config.Current.Sources.Select(LedgerKey).ToHashSet(StringComparer.Ordinal);
            foreach (var key in _ledgers.Keys.Where(k => !kept.Contains(k)).ToList())
            {
                _ledgers.Remove(key);
            }
        }
    }

    private static string LedgerKey(SourceConfig source) => $"{source.Type}\n{source.Uri}";

    public void Dispose() => _config.Changed -= OnConfigChanged;

    private static void Apply(SourceLedger ledger, List<TrackedTunnel> tunnels, SaSnapshot snapshot)
    {
        var byConnection = tunnels.ToLookup(t => t.Config.Connection, StringComparer.Ordinal);
        ledger.Collections++;
        ledger.NoteDaemon(snapshot.Daemon);
        foreach (var tunnel in tunnels)
        {
            tunnel.StartCollection(snapshot);
        }

        // Events first: they happened before the poll that follows them.
        foreach (var change in snapshot.IkeSaChanges.OrderBy(c => c.At))
        {
            var track = ledger.Ike(change.Old.Identity);
            foreach (var tunnel in byConnection[change.Connection])
            {
                if (change.Kind == SaChangeKind.Rekeyed && !track.RekeyCounted)
                {
                    tunnel.Ike.Rekeys++;
                    tunnel.Ike.LastRekeyAfter = change.Old.EstablishedAgo;
                }
                else if (change.Kind == SaChangeKind.Deleted && !track.DownCounted)
                {
                    tunnel.Ike.Downs++;
                }
            }

            track.RekeyCounted |= change.Kind == SaChangeKind.Rekeyed;
            track.DownCounted |= change.Kind == SaChangeKind.Deleted;
        }

        foreach (var change in snapshot.ChildSaChanges.OrderBy(c => c.At))
        {
            var targets = Targets(byConnection[change.Connection], change.Old);
            var track = Account(ledger, change.Old, change.At, targets);
            if (change.Kind == SaChangeKind.Rekeyed && !track.RekeyCounted)
            {
                track.RekeyCounted = true;
                foreach (var pair in targets)
                {
                    pair.Rekeys++;
                    pair.LastRekeyAfter = change.Old.InstalledAgo;
                    if (change.Replacement is { } replacement)
                    {
                        pair.Pfs = replacement.DhGroup is not null;
                        pair.DhGroup = replacement.DhGroup ?? pair.DhGroup;
                    }
                }
            }

            if (change.Replacement is { } next)
            {
                Account(ledger, next, change.At, Targets(byConnection[change.Connection], next));
            }
        }

        foreach (var ike in snapshot.IkeSas)
        {
            var ikeTrack = ledger.Ike(ike.Identity);
            var owners = byConnection[ike.Connection];
            foreach (var tunnel in owners)
            {
                tunnel.ObserveIke(ike, countRekey: ike.State == "REKEYED" && !ikeTrack.RekeyCounted);
            }

            ikeTrack.RekeyCounted |= ike.State == "REKEYED";
            foreach (var child in ike.ChildSas)
            {
                var targets = Targets(owners, child);
                var track = Account(ledger, child, snapshot.CollectedAt, targets);
                foreach (var pair in targets)
                {
                    pair.ObservePolled(child, countRekey: child.IsRekeyed && !track.RekeyCounted);
                }

                track.RekeyCounted |= child.IsRekeyed;
            }
        }

        foreach (var tunnel in tunnels)
        {
            tunnel.FinishCollection(snapshot);
        }

        ledger.ForgetAbsent();
    }

    /// <summary>The pairs a CHILD SA carries in each tunnel of its connection (the tunnel's unmatched bucket when none).</summary>
    private static List<TrackedPair> Targets(IEnumerable<TrackedTunnel> owners, ChildSa child)
    {
        var targets = new List<TrackedPair>();
        List<TrafficSelector>? local = null;
        List<TrafficSelector>? remote = null;
        foreach (var tunnel in owners)
        {
            local ??= TrafficSelector.ParseAll(child.LocalTs);
            remote ??= TrafficSelector.ParseAll(child.RemoteTs);
            var matched = tunnel.Pairs.Values.Where(p => p.Matches(local, remote)).ToList();
            targets.AddRange(matched.Count > 0 ? matched : [tunnel.UnmatchedPair()]);
        }

        return targets;
    }

    /// <summary>Adds what <paramref name="child"/> counted beyond the highest values seen for it before.</summary>
    private static ChildTrack Account(SourceLedger ledger, ChildSa child, DateTimeOffset at, List<TrackedPair> targets)
    {
        var track = ledger.Child(child.Identity);
        var growth = track.Raise(child);
        foreach (var pair in targets)
        {
            pair.Add(growth);
            pair.LastReceived = Latest(pair.LastReceived, at - child.LastInAgo);
            pair.LastSent = Latest(pair.LastSent, at - child.LastOutAgo);
        }

        return track;
    }

    private static DateTimeOffset? Latest(DateTimeOffset? known, DateTimeOffset? seen) =>
        known is null || seen > known ? seen ?? known : known;

    private void Publish(TrackedTunnel tunnel)
    {
        var name = tunnel.Config.Name;
        var ike = tunnel.Ike;
        _metrics.IkeSas.WithLabels(name).Set(ike.SaCount);
        _metrics.IkeSaEstablished.WithLabels(name).Set(ike.SaCount > 0 ? 1 : 0);
        _metrics.IkeSaRekeys.WithLabels(name).IncTo(ike.Rekeys);
        if (ike.RekeyInterval is { } ikeInterval)
        {
            _metrics.IkeSaRekeyInterval.WithLabels(name).Set(ikeInterval.TotalSeconds);
        }

        foreach (var pair in tunnel.AllPairs)
        {
            string[] labels = [name, pair.LocalLabel, pair.RemoteLabel];
            _metrics.ChildSas.WithLabels(labels).Set(pair.Installed);
            _metrics.ChildSaReceivedBytes.WithLabels(labels).IncTo(pair.Traffic.ReceivedBytes);
            _metrics.ChildSaSentBytes.WithLabels(labels).IncTo(pair.Traffic.SentBytes);
            _metrics.ChildSaReceivedPackets.WithLabels(labels).IncTo(pair.Traffic.ReceivedPackets);
            _metrics.ChildSaSentPackets.WithLabels(labels).IncTo(pair.Traffic.SentPackets);
            _metrics.ChildSaRekeys.WithLabels(labels).IncTo(pair.Rekeys);
            SetIfKnown(_metrics.ChildSaLastReceived, labels, pair.LastReceived?.ToUnixTimeMilliseconds() / 1000.0);
            SetIfKnown(_metrics.ChildSaLastSent, labels, pair.LastSent?.ToUnixTimeMilliseconds() / 1000.0);
            SetIfKnown(_metrics.ChildSaRekeyInterval, labels, pair.RekeyInterval?.TotalSeconds);
            SetIfKnown(_metrics.ChildSaLifetime, labels, pair.Lifetime?.TotalSeconds);
            SetIfKnown(_metrics.ChildSaPfs, labels, pair.Pfs is { } pfs ? (pfs ? 1 : 0) : null);
        }

        static void SetIfKnown(Prometheus.Gauge gauge, string[] labels, double? value)
        {
            if (value is { } known)
            {
                gauge.WithLabels(labels).Set(known);
            }
        }
    }

    private void Record(TrackedTunnel tunnel, DateTimeOffset at)
    {
        var ike = tunnel.Ike;
        var ledger = _config.Current.Sources.FirstOrDefault(s => s.Name == tunnel.Config.Source) is { } source
            ? _ledgers.GetValueOrDefault(LedgerKey(source))
            : null;
        tunnel.Latest = new TunnelObservation(
            tunnel.Config.Name,
            tunnel.Config.Source,
            tunnel.Config.Connection,
            at,
            tunnel.SourceUp,
            tunnel.LastSuccessAt,
            tunnel.ConnectionLoaded,
            new IkeObservation(ike.SaCount > 0, ike.SaCount, ike.Newest?.LocalHost, ike.Newest?.RemoteHost, ike.Newest?.EstablishedAgo, ike.Newest?.DhGroup,
                ike.Rekeys, ike.Downs, ike.RekeyInterval, ike.LastRekeyAfter),
            tunnel.Pairs.Values.Select(p => p.Observe()).ToList(),
            tunnel.Unmatched?.Observe(),
            ledger?.Daemon,
            ledger?.DaemonRestarts ?? 0);
    }

    private void OnConfigChanged(ExporterConfig old, ExporterConfig next)
    {
        lock (_lock)
        {
            var kept = next.Tunnels.ToDictionary(t => t.Name, StringComparer.Ordinal);
            foreach (var (name, state) in _tunnels.ToList())
            {
                if (!kept.TryGetValue(name, out var config))
                {
                    _tunnels.Remove(name);
                    RemoveSeries(name, null);
                    continue;
                }

                foreach (var removed in state.Reconfigure(config))
                {
                    RemoveSeries(name, removed);
                }
            }

            foreach (var tunnel in next.Tunnels.Where(t => !_tunnels.ContainsKey(t.Name)))
            {
                _tunnels[tunnel.Name] = new TrackedTunnel(tunnel);
            }
        }
    }

    /// <summary>Drops this model's series of a tunnel, or only those of one of its pairs.</summary>
    private void RemoveSeries(string tunnel, NetworkPair? pair)
    {
        if (pair is null)
        {
            foreach (var collector in new Prometheus.Collector[] { _metrics.IkeSas, _metrics.IkeSaEstablished, _metrics.IkeSaRekeys, _metrics.IkeSaRekeyInterval })
            {
                RemoveWhere(collector, labels => labels[0] == tunnel);
            }
        }

        foreach (var collector in PairCollectors())
        {
            RemoveWhere(collector, labels => labels[0] == tunnel && (pair is null || (labels[1] == pair.LocalText && labels[2] == pair.RemoteText)));
        }
    }

    private Prometheus.Collector[] PairCollectors() =>
    [
        _metrics.ChildSas, _metrics.ChildSaReceivedBytes, _metrics.ChildSaSentBytes, _metrics.ChildSaReceivedPackets, _metrics.ChildSaSentPackets,
        _metrics.ChildSaLastReceived, _metrics.ChildSaLastSent, _metrics.ChildSaRekeys, _metrics.ChildSaRekeyInterval, _metrics.ChildSaLifetime, _metrics.ChildSaPfs,
    ];

    private static void RemoveWhere(Prometheus.Collector collector, Func<string[], bool> predicate)
    {
        switch (collector)
        {
            case Prometheus.Gauge gauge:
                foreach (var labels in gauge.GetAllLabelValues().Where(predicate).ToList())
                {
                    gauge.RemoveLabelled(labels);
                }

                break;
            case Prometheus.Counter counter:
                foreach (var labels in counter.GetAllLabelValues().Where(predicate).ToList())
                {
                    counter.RemoveLabelled(labels);
                }

                break;
        }
    }

    /// <summary>What is remembered about the SAs of one source, independent of the configured tunnels.</summary>
    private sealed class SourceLedger
    {
        private readonly Dictionary<string, ChildTrack> _children = new(StringComparer.Ordinal);
        private readonly Dictionary<string, IkeTrack> _ikes = new(StringComparer.Ordinal);

        public long Collections { get; set; }

        public DaemonInfo? Daemon { get; private set; }

        public long DaemonRestarts { get; private set; }

        public void NoteDaemon(DaemonInfo? daemon)
        {
            if (daemon is not null && Daemon is not null && daemon.RestartedSince(Daemon))
            {
                DaemonRestarts++;
            }

            Daemon = daemon ?? Daemon;
        }

        public ChildTrack Child(string identity)
        {
            if (!_children.TryGetValue(identity, out var track))
            {
                track = new ChildTrack();
                _children[identity] = track;
            }

            track.LastSeen = Collections;
            return track;
        }

        public IkeTrack Ike(string identity)
        {
            if (!_ikes.TryGetValue(identity, out var track))
            {
                track = new IkeTrack();
                _ikes[identity] = track;
            }

            track.LastSeen = Collections;
            return track;
        }

        public void ForgetAbsent()
        {
            foreach (var (identity, track) in _children.Where(c => Collections - c.Value.LastSeen >= ForgetAfterCollections).ToList())
            {
                _children.Remove(identity);
            }

            foreach (var (identity, track) in _ikes.Where(c => Collections - c.Value.LastSeen >= ForgetAfterCollections).ToList())
            {
                _ikes.Remove(identity);
            }
        }
    }

    private sealed class ChildTrack
    {
        private TrafficCounts _highest;

        public long LastSeen { get; set; }

        public bool RekeyCounted { get; set; }

        /// <summary>Raises the high-water marks to <paramref name="child"/>'s counters and returns by how much each rose.</summary>
        public TrafficCounts Raise(ChildSa child)
        {
            var seen = new TrafficCounts(child.BytesIn, child.BytesOut, child.PacketsIn, child.PacketsOut);
            var growth = new TrafficCounts(
                Rise(_highest.ReceivedBytes, seen.ReceivedBytes),
                Rise(_highest.SentBytes, seen.SentBytes),
                Rise(_highest.ReceivedPackets, seen.ReceivedPackets),
                Rise(_highest.SentPackets, seen.SentPackets));
            _highest = new TrafficCounts(
                Math.Max(_highest.ReceivedBytes, seen.ReceivedBytes),
                Math.Max(_highest.SentBytes, seen.SentBytes),
                Math.Max(_highest.ReceivedPackets, seen.ReceivedPackets),
                Math.Max(_highest.SentPackets, seen.SentPackets));
            return growth;

            static ulong Rise(ulong mark, ulong value) => value > mark ? value - mark : 0;
        }
    }

    private sealed class IkeTrack
    {
        public long LastSeen { get; set; }

        public bool RekeyCounted { get; set; }

        public bool DownCounted { get; set; }
    }
}

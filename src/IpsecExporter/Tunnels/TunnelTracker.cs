using System.Collections.Frozen;
using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis.BestPractices;
using IpsecExporter.Metrics;
using IpsecExporter.Sources;
using ConnectionInfo = IpsecExporter.Sources.ConnectionInfo;

namespace IpsecExporter.Tunnels;

/// <summary>
/// The tunnel model: maps every snapshot of a source onto the configured tunnels (IKE SAs by connection name, CHILD SAs
/// onto network pairs by their selectors), keeps counters that never go backwards, publishes the Phase 1/Phase 2
/// metrics (written at scrape time from a snapshot swapped after each collection) and keeps the newest time-stamped <see cref="TunnelObservation"/> per tunnel for the diagnosis.
/// </summary>
/// <remarks>
/// Counters: every SA is tracked by its <see cref="ChildSa.Key"/> with the highest counter values ever seen for it
/// (by a poll or by an event carrying its last values). Only increases over that mark are added to the pairs the SA
/// carries, so an SA seen twice (a poll and its rekey event, or an old SA lingering in a rekey overlap) is never
/// counted twice, a new SA after a rekey or a daemon restart adds from zero, and the sum only grows. SAs absent from a
/// few collections are forgotten, but their marks are kept a while longer, so one that comes back is not counted
/// again. docs/SOURCES.md ("What the tracker derives") explains the design.
/// </remarks>
public sealed class TunnelTracker : ISnapshotObserver, IObservedSaFactsProvider, IMetricsContributor, IDisposable
{
    /// <summary>The <c>local_ts</c>/<c>remote_ts</c> value of CHILD SAs whose selectors match no configured pair.</summary>
    public const string UnmatchedLabel = "unmatched";

    /// <summary>SAs absent from this many collections are forgotten (their events could still be in flight before).</summary>
    public const int ForgetAfterCollections = 3;

    /// <summary>
    /// A forgotten CHILD SA's high-water marks are kept this many collections more (2.5 minutes at the default 5 s): a
    /// listing can skip an SA for a few polls (charon's <c>noblock</c> skips a busy IKE SA, a firewall API can omit one)
    /// and an SA that comes back with counters that did not restart must not be counted again. Longer costs memory on a
    /// hub: every rekey leaves one entry (the soak, 50 rekeys a second, grew RSS 13 % in 10 minutes at 720).
    /// </summary>
    public const int RetainForgottenCollections = 30;

    /// <summary>At most this many forgotten CHILD SAs are kept per source (the oldest go first): an event flood of SAs
    /// that come and go must not grow memory for an hour.</summary>
    public const int MaxForgottenChildSas = 100_000;

    private readonly ConfigStore _config;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly IDisposable _configSubscription;
    /// <summary>What each SA endpoint has been seen to count, keyed by <see cref="LedgerKey"/>: by the daemon it reads, not
    /// by the source's name, so that renaming a source on reload does not count its live SAs a second time.</summary>
    private readonly Dictionary<string, SourceLedger> _ledgers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TrackedTunnel> _tunnels = new(StringComparer.Ordinal);

    /// <summary>
    /// The configured tunnels by name, for reading their <see cref="TrackedTunnel.Latest"/> without the lock: the
    /// diagnosis reads every tunnel every few seconds and must not wait for a hub's collection to be applied. Replaced,
    /// never changed, on reload; a concurrent dictionary written per tunnel and collection instead spun on its locks for
    /// a point of a core at 10,000 tunnels (docs/PERFORMANCE.md).
    /// </summary>
    private volatile FrozenDictionary<string, TrackedTunnel> _readable;

    /// <summary>The tunnels in configuration order (the order of their series).</summary>
    private List<TrackedTunnel> _ordered = [];

    /// <summary>Each source's tunnels, by source name: made at its first collection after each reload.</summary>
    private readonly Dictionary<string, SourceTunnels> _bySource = new(StringComparer.Ordinal);

    /// <summary>What scrapes render: replaced, never changed, after each collection and reload.</summary>
    private volatile TunnelSeries[] _series = [];

    public TunnelTracker(ConfigStore config, TimeProvider time)
    {
        _config = config;
        _time = time;
        foreach (var tunnel in config.Current.Tunnels)
        {
            _tunnels[tunnel.Name] = new TrackedTunnel(tunnel);
        }

        _ordered = [.. config.Current.Tunnels.Select(t => _tunnels[t.Name])];
        _readable = _tunnels.ToFrozenDictionary(StringComparer.Ordinal);
        _configSubscription = config.OnChanged(ConfigStage.TunnelModel, nameof(TunnelTracker), OnConfigChanged);
    }

    /// <summary>The newest view of <paramref name="tunnel"/>; null when it is not configured or its source was never collected.</summary>
    public TunnelObservation? Get(string tunnel) => _readable.GetValueOrDefault(tunnel)?.Latest;

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
            if (!_bySource.TryGetValue(source.Name, out var sourceTunnels))
            {
                sourceTunnels = new SourceTunnels(_tunnels.Values.Where(t => t.Config.Source == source.Name));
                _bySource[source.Name] = sourceTunnels;
            }

            var tunnels = sourceTunnels.All;
            if (snapshot is null)
            {
                var now = _time.GetUtcNow();
                var known = CurrentLedger(source.Name);
                foreach (var tunnel in tunnels)
                {
                    tunnel.SourceUp = false;
                    Record(tunnel, now, known);
                }

                return;
            }

            if (!_ledgers.TryGetValue(LedgerKey(source), out var ledger))
            {
                ledger = new SourceLedger();
                _ledgers[LedgerKey(source)] = ledger;
            }

            var current = CurrentLedger(source.Name);

            Apply(ledger, sourceTunnels, snapshot);
            foreach (var tunnel in tunnels)
            {
                tunnel.SourceUp = true;
                tunnel.LastSuccessAt = snapshot.CollectedAt;
                Record(tunnel, snapshot.CollectedAt, current);
                tunnel.Series = TunnelSeries.Of(tunnel);
            }

            PublishSeries();
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

    private static string LedgerKey(SourceConfig source) => $"{source.Type}\n{source.Options.Endpoint}";

    public void Dispose() => _configSubscription.Dispose();

    private static void Apply(SourceLedger ledger, SourceTunnels tunnels, SaSnapshot snapshot)
    {
        // The first of a name wins, as a search in list order would find it.
        var connections = new Dictionary<string, ConnectionInfo>(StringComparer.Ordinal);
        foreach (var connection in snapshot.Connections ?? [])
        {
            connections.TryAdd(connection.Name, connection);
        }

        ledger.Collections++;
        ledger.NoteEpoch(snapshot.Epoch);
        foreach (var tunnel in tunnels.All)
        {
            tunnel.StartCollection(snapshot, connections.GetValueOrDefault(tunnel.Config.Connection));
        }

        // Events first: they happened before the poll that follows them.
        foreach (var change in snapshot.IkeSaChanges.OrderBy(c => c.At))
        {
            var track = ledger.Ike(change.Old.Key);
            if (change.Kind == SaChangeKind.Rekeyed)
            {
                CountIkeRekey(track, tunnels[change.Connection], change.Old.EstablishedAgo);
            }
            else if (!track.DownCounted)
            {
                foreach (var tunnel in tunnels[change.Connection])
                {
                    tunnel.Ike.Downs++;
                }
            }

            track.DownCounted |= change.Kind == SaChangeKind.Deleted;
        }

        foreach (var change in snapshot.ChildSaChanges.OrderBy(c => c.At))
        {
            var track = ledger.Child(change.Old);
            var targets = Targets(tunnels[change.Connection], track.Selectors);
            Account(track, change.Old, change.At, targets);
            if (change.Kind == SaChangeKind.Rekeyed)
            {
                CountChildRekey(track, targets, change.Old.InstalledAgo, change.Replacement);
            }

            if (change.Replacement is { } next)
            {
                var nextTrack = ledger.Child(next);
                Account(nextTrack, next, change.At, Targets(tunnels[change.Connection], nextTrack.Selectors));
            }
        }

        InheritAcrossIkeRekeys(ledger, snapshot);
        foreach (var ike in snapshot.IkeSas)
        {
            var ikeTrack = ledger.Ike(ike.Key);
            var owners = tunnels[ike.Connection];
            if (ike.State == IkeSaState.Rekeyed)
            {
                CountIkeRekey(ikeTrack, owners, ike.EstablishedAgo);
            }

            foreach (var tunnel in owners)
            {
                tunnel.ObserveIke(ike);
            }

            // By index: a foreach over the interface made an enumerator per IKE SA.
            for (var c = 0; c < ike.ChildSas.Count; c++)
            {
                var child = ike.ChildSas[c];
                var track = ledger.Child(child);
                var targets = track.TargetsIn(owners);
                Account(track, child, snapshot.CollectedAt, targets);
                if (child.IsRekeyed)
                {
                    CountChildRekey(track, targets, child.InstalledAgo, null);
                }

                foreach (var pair in targets)
                {
                    pair.ObservePolled(child);
                }

                if (track.IkeKey != ike.Key)
                {
                    // IKEv2 moves the CHILD SAs of a rekeyed IKE SA onto its replacement: a move is that rekey.
                    if (track.IkeKey is { } previousIke && ledger.FindIke(previousIke) is { } moved)
                    {
                        CountIkeRekey(moved, owners, AgeAtReplacement(moved.LastEstablishedAgo, moved.LastSeenAt, ike.EstablishedAgo, snapshot.CollectedAt));
                    }

                    // The ledger's instance, not the snapshot's: a snapshot is garbage once applied.
                    track.IkeKey = ikeTrack.Key;
                }
            }

            InferChildRekeys(ledger, ikeTrack, ike, owners, snapshot.CollectedAt);
            ikeTrack.LastEstablishedAgo = ike.EstablishedAgo;
            ikeTrack.LastSeenAt = snapshot.CollectedAt;
        }

        foreach (var tunnel in tunnels.All)
        {
            tunnel.FinishCollection(connections.GetValueOrDefault(tunnel.Config.Connection));
        }

        ledger.ForgetAbsent();
    }

    /// <summary>
    /// Rekeys seen by polling alone: a CHILD SA installed under this IKE SA (or the one it replaced by a rekey, see
    /// <see cref="InheritAcrossIkeRekeys"/>) at the previous collection is no longer installed (gone, or lingering as
    /// deleted or rekeyed) and a new one carrying the same pair is. Each replaced SA counts once, however many polls it
    /// lingers for and whether or not its event arrives later.
    /// </summary>
    private static void InferChildRekeys(SourceLedger ledger, IkeTrack ikeTrack, IkeSa ike, IEnumerable<TrackedTunnel> owners, DateTimeOffset at)
    {
        // The steady state (the same SAs installed as at the previous collection) replaces nothing: only the views move.
        if (ikeTrack.InstalledAtCollection == ledger.Collections - 1 && SameInstalled(ikeTrack.Installed, ike.ChildSas))
        {
            foreach (var child in ike.ChildSas)
            {
                if (child.IsInstalled)
                {
                    ikeTrack.Installed[child.Key] = new InstalledChild(child.InstalledAgo, at);
                }
            }

            ikeTrack.InstalledAtCollection = ledger.Collections;
            return;
        }

        var installed = ike.ChildSas.Where(c => c.IsInstalled).ToList();
        if (ikeTrack.InstalledAtCollection == ledger.Collections - 1 && ikeTrack.Installed.Count > 0)
        {
            var fresh = installed.Where(c => !ikeTrack.Installed.ContainsKey(c.Key)).ToList();
            foreach (var (key, old) in ikeTrack.Installed)
            {
                if (fresh.Count == 0)
                {
                    break;
                }

                if (installed.Exists(c => c.Key == key) || ledger.FindChild(key) is not { RekeyCounted: false } oldTrack)
                {
                    continue;
                }

                // The freshest view of the old SA: lingering in this poll, else the previous one.
                var last = ike.ChildSas.FirstOrDefault(c => c.Key == key) is { } lingering ? new InstalledChild(lingering.InstalledAgo, at) : old;
                var oldTargets = Targets(owners, oldTrack.Selectors);
                var replacement = fresh.FirstOrDefault(n => Targets(owners, ledger.FindChild(n.Key)!.Selectors).Exists(oldTargets.Contains));
                if (replacement is null)
                {
                    continue;
                }

                fresh.Remove(replacement);
                CountChildRekey(oldTrack, oldTargets, AgeAtReplacement(last, replacement, at), replacement);
            }
        }

        // Keyed by the ledger's instances of the keys: the snapshot's strings must not outlive it.
        ikeTrack.Installed = installed.ToDictionary(c => ledger.FindChild(c.Key)!.Key, c => new InstalledChild(c.InstalledAgo, at), StringComparer.Ordinal);
        ikeTrack.InstalledAtCollection = ledger.Collections;
    }

    /// <summary>
    /// An IKE SA polled for the first time that replaced another by a rekey takes over the CHILD SAs the old one had
    /// installed at the previous collection (IKEv2 moves them onto the new IKE SA), so that a CHILD SA rekeyed in the same
    /// interval is inferred as a rekey under the new one. The rekey is recognised as it is counted: an IKE rekey event
    /// naming the new SA, a CHILD SA listed under the new SA that was under the old one, or the old SA listed as rekeyed
    /// beside a new one of its connection between the same hosts. A new IKE SA without any of these (a reauthentication,
    /// a reconnect) takes over nothing.
    /// </summary>
    private static void InheritAcrossIkeRekeys(SourceLedger ledger, SaSnapshot snapshot)
    {
        // The IKE SAs listed as rekeyed: looked for once, when a new IKE SA first needs them, not once per new IKE SA
        // (all of a hub's are new at its first collection).
        List<IkeSa>? rekeyed = null;
        // By index: an enumerator of the interface would be allocated on every collection, for nothing in the steady state.
        for (var i = 0; i < snapshot.IkeSas.Count; i++)
        {
            var ike = snapshot.IkeSas[i];
            if (ledger.FindIke(ike.Key) is { InstalledAtCollection: >= 0 }
                || Predecessor(ledger, snapshot, ike, ref rekeyed) is not { } old
                || old.InstalledAtCollection != ledger.Collections - 1)
            {
                continue;
            }

            TakeOver(ledger.Ike(ike.Key), old, snapshot);
        }
    }

    /// <summary>
    /// <paramref name="track"/> takes over the CHILD SAs <paramref name="old"/> had installed, except those the old IKE SA
    /// still has installed.
    /// A method of its own: its lambdas' closure would otherwise be allocated for every IKE SA of every collection.
    /// </summary>
    private static void TakeOver(IkeTrack track, IkeTrack old, SaSnapshot snapshot)
    {
        var stillInstalled = snapshot.IkeSas.FirstOrDefault(i => i.Key == old.Key)?.ChildSas.Where(c => c.IsInstalled).Select(c => c.Key).ToHashSet(StringComparer.Ordinal);
        track.Installed = old.Installed.Where(c => stillInstalled?.Contains(c.Key) != true).ToDictionary(StringComparer.Ordinal);
        track.InstalledAtCollection = old.InstalledAtCollection;
    }

    /// <summary>The IKE SA that <paramref name="ike"/> replaced by a rekey, if this snapshot shows one.</summary>
    private static IkeTrack? Predecessor(SourceLedger ledger, SaSnapshot snapshot, IkeSa ike, ref List<IkeSa>? rekeyed)
    {
        foreach (var change in snapshot.IkeSaChanges)
        {
            if (change.Kind == SaChangeKind.Rekeyed && change.Replacement?.Key == ike.Key && ledger.FindIke(change.Old.Key) is { } replaced)
            {
                return replaced;
            }
        }

        foreach (var child in ike.ChildSas)
        {
            if (ledger.FindChild(child.Key)?.IkeKey is { } previous && previous != ike.Key && ledger.FindIke(previous) is { } moved)
            {
                return moved;
            }
        }

        rekeyed ??= [.. snapshot.IkeSas.Where(i => i.State == IkeSaState.Rekeyed)];
        foreach (var other in rekeyed)
        {
            if (other.Key != ike.Key && other.Connection == ike.Connection
                && Equals(other.LocalHost, ike.LocalHost) && Equals(other.RemoteHost, ike.RemoteHost) && ledger.FindIke(other.Key) is { } listed)
            {
                return listed;
            }
        }

        return null;
    }

    private static bool SameInstalled(Dictionary<string, InstalledChild> before, IReadOnlyList<ChildSa> children)
    {
        var count = 0;
        foreach (var child in children)
        {
            if (child.IsInstalled)
            {
                if (!before.ContainsKey(child.Key))
                {
                    return false;
                }

                count++;
            }
        }

        return count == before.Count;
    }

    private static void CountChildRekey(ChildTrack track, List<TrackedPair> targets, TimeSpan? replacedAfter, ChildSa? replacement)
    {
        if (track.RekeyCounted)
        {
            return;
        }

        track.RekeyCounted = true;
        foreach (var pair in targets)
        {
            pair.Rekeys++;
            pair.LastRekeyAfter = replacedAfter;
            if (replacement is not null)
            {
                pair.ObserveKeyExchange(replacement);
            }
        }
    }

    private static void CountIkeRekey(IkeTrack track, IEnumerable<TrackedTunnel> owners, TimeSpan? replacedAfter)
    {
        if (track.RekeyCounted)
        {
            return;
        }

        track.RekeyCounted = true;
        foreach (var tunnel in owners)
        {
            tunnel.Ike.Rekeys++;
            tunnel.Ike.LastRekeyAfter = replacedAfter;
        }
    }

    /// <summary>How old an SA was when its successor started: the successor's start minus its own (null when unknown).</summary>
    private static TimeSpan? AgeAtReplacement(InstalledChild old, ChildSa replacement, DateTimeOffset at) =>
        AgeAtReplacement(old.InstalledAgo, old.SeenAt, replacement.InstalledAgo, at);

    private static TimeSpan? AgeAtReplacement(TimeSpan? oldAge, DateTimeOffset oldSeenAt, TimeSpan? replacementAge, DateTimeOffset at) =>
        oldAge is { } old && replacementAge is { } newAge ? (at - newAge) - (oldSeenAt - old) : null;

    /// <summary>The pairs a CHILD SA carries in each tunnel of its connection (the tunnel's unmatched bucket when none); never changed by the caller.</summary>
    private static List<TrackedPair> Targets(IEnumerable<TrackedTunnel> owners, ParsedSelectors selectors)
    {
        var targets = new List<TrackedPair>();
        var (local, remote) = selectors;
        foreach (var tunnel in owners)
        {
            var before = targets.Count;
            foreach (var pair in tunnel.Pairs.Values)
            {
                if (pair.Matches(local, remote))
                {
                    targets.Add(pair);
                }
            }

            if (targets.Count == before)
            {
                targets.Add(tunnel.UnmatchedPair());
            }
        }

        return targets.Count == 1 ? targets[0].Alone : targets;
    }

    /// <summary>Adds what <paramref name="child"/> counted beyond the highest values seen for it before.</summary>
    private static void Account(ChildTrack track, ChildSa child, DateTimeOffset at, List<TrackedPair> targets)
    {
        var growth = track.Raise(child);
        foreach (var pair in targets)
        {
            pair.Add(growth);
            pair.LastReceived = Latest(pair.LastReceived, at - child.LastInAgo);
            pair.LastSent = Latest(pair.LastSent, at - child.LastOutAgo);
        }
    }

    private static DateTimeOffset? Latest(DateTimeOffset? known, DateTimeOffset? seen) =>
        known is null || seen > known ? seen ?? known : known;

    /// <summary>The ledger of the source configured now under <paramref name="sourceName"/>, if any.</summary>
    private SourceLedger? CurrentLedger(string sourceName) =>
        _config.Current.Sources.FirstOrDefault(s => s.Name == sourceName) is { } source ? _ledgers.GetValueOrDefault(LedgerKey(source)) : null;

    private static void Record(TrackedTunnel tunnel, DateTimeOffset at, SourceLedger? ledger)
    {
        var ike = tunnel.Ike;
        tunnel.Latest = new TunnelObservation(
            tunnel.Config.Name,
            tunnel.Config.Source,
            tunnel.Config.Connection,
            at,
            tunnel.SourceUp,
            tunnel.LastSuccessAt,
            tunnel.ConnectionLoaded,
            new IkeObservation(ike.SaCount > 0, ike.SaCount, ike.Established?.LocalHost, ike.Established?.RemoteHost, ike.Established?.EstablishedAgo,
                ike.Established?.DhGroup, ike.Rekeys, ike.Downs, ike.RekeyInterval, ike.LastRekeyAfter)
            {
                State = ike.ShownState,
                StateText = ike.ShownStateText,
            },
            ObservePairs(tunnel),
            tunnel.Unmatched?.Observe(tunnel.Counters),
            ledger?.Epoch,
            ledger?.EpochChanges ?? 0);
    }

    /// <summary>The configured pairs' observations, in configuration order (a loop: LINQ made a closure and an iterator per tunnel).</summary>
    private static PairObservation[] ObservePairs(TrackedTunnel tunnel)
    {
        var configured = tunnel.Config.NetworkPairs;
        var pairs = new PairObservation[configured.Count];
        for (var i = 0; i < pairs.Length; i++)
        {
            pairs[i] = tunnel.Pairs[configured[i]].Observe(tunnel.Counters);
        }

        return pairs;
    }

    private void OnConfigChanged(ExporterConfig old, ExporterConfig next)
    {
        lock (_lock)
        {
            _bySource.Clear();
            var kept = next.Tunnels.ToDictionary(t => t.Name, StringComparer.Ordinal);
            foreach (var (name, state) in _tunnels.ToList())
            {
                if (!kept.TryGetValue(name, out var config))
                {
                    _tunnels.Remove(name);
                    continue;
                }

                if (state.Reconfigure(config).Count > 0 && state.Series is { } series)
                {
                    // A dropped pair's series go now, not at the next collection; new pairs appear with it.
                    state.Series = series with { Pairs = [.. series.Pairs.Where(p => p.Pair is null || state.Pairs.ContainsKey(p.Pair))] };
                }
            }

            foreach (var tunnel in next.Tunnels.Where(t => !_tunnels.ContainsKey(t.Name)))
            {
                _tunnels[tunnel.Name] = new TrackedTunnel(tunnel);
            }

            _ordered = [.. next.Tunnels.Select(t => _tunnels[t.Name])];
            _readable = _tunnels.ToFrozenDictionary(StringComparer.Ordinal);
            PublishSeries();
        }
    }

    /// <summary>Swaps in the series of every tunnel collected successfully at least once, in configuration order.</summary>
    private void PublishSeries()
    {
        // Sized exactly: LINQ grew a list for it, at 10,000 tunnels a large-object array per collection.
        var count = 0;
        foreach (var tunnel in _ordered)
        {
            count += tunnel.Series is null ? 0 : 1;
        }

        var series = new TunnelSeries[count];
        count = 0;
        foreach (var tunnel in _ordered)
        {
            if (tunnel.Series is { } published)
            {
                series[count++] = published;
            }
        }

        _series = series;
    }

    /// <summary>Writes the IKE and CHILD SA families from the last published series; takes no lock.</summary>
    public async ValueTask WriteAsync(MetricsWriter writer, CancellationToken cancellationToken)
    {
        var tunnels = _series;
        using var tunnelRows = new SeriesTable(MetricFamilies.TunnelLabels, TunnelFamilies.Length, tunnels.Length);
        using var pairRows = new SeriesTable(MetricFamilies.PairLabels, PairFamilies.Length, 2 * tunnels.Length);
        Gather(tunnels, tunnelRows, pairRows);
        for (var i = 0; i < TunnelFamilies.Length; i++)
        {
            await writer.FamilyAsync(TunnelFamilies[i].Family, tunnelRows, i, cancellationToken);
        }

        for (var i = 0; i < PairFamilies.Length; i++)
        {
            await writer.FamilyAsync(PairFamilies[i].Family, pairRows, i, cancellationToken);
        }
    }

    private static readonly (MetricFamily Family, Func<TunnelSeries, double?> Value)[] TunnelFamilies =
    [
        (MetricFamilies.IkeSas, t => t.Ike.SaCount),
        (MetricFamilies.IkeSaEstablished, t => t.Ike.SaCount > 0 ? 1 : 0),
        (MetricFamilies.IkeSaRekeys, t => t.Ike.Rekeys),
        (MetricFamilies.IkeSaRekeyInterval, t => t.Ike.RekeyInterval?.TotalSeconds),
    ];

    // A counter the source does not have is absent (null), never a zero that would read as "idle".
    private static readonly (MetricFamily Family, Func<PairObservation, double?> Value)[] PairFamilies =
    [
        (MetricFamilies.ChildSas, p => p.InstalledChildSas),
        (MetricFamilies.ChildSaReceivedBytes, p => p.ReceivedBytes),
        (MetricFamilies.ChildSaSentBytes, p => p.SentBytes),
        (MetricFamilies.ChildSaReceivedPackets, p => p.ReceivedPackets),
        (MetricFamilies.ChildSaSentPackets, p => p.SentPackets),
        (MetricFamilies.ChildSaLastReceived, p => p.LastReceived?.ToUnixTimeMilliseconds() / 1000.0),
        (MetricFamilies.ChildSaLastSent, p => p.LastSent?.ToUnixTimeMilliseconds() / 1000.0),
        (MetricFamilies.ChildSaRekeys, p => p.Rekeys),
        (MetricFamilies.ChildSaRekeyInterval, p => p.RekeyInterval?.TotalSeconds),
        (MetricFamilies.ChildSaLifetime, p => p.Lifetime?.TotalSeconds),
        (MetricFamilies.ChildSaPfs, p => p.Pfs is { } pfs ? (pfs ? 1 : 0) : null),
    ];

    /// <summary>Every tunnel's and pair's values, read once for all their families.</summary>
    private static void Gather(TunnelSeries[] tunnels, SeriesTable tunnelRows, SeriesTable pairRows)
    {
        Span<double?> tunnelValues = stackalloc double?[TunnelFamilies.Length];
        Span<double?> pairValues = stackalloc double?[PairFamilies.Length];
        foreach (var tunnel in tunnels)
        {
            for (var i = 0; i < TunnelFamilies.Length; i++)
            {
                tunnelValues[i] = TunnelFamilies[i].Value(tunnel);
            }

            tunnelRows.Add(tunnel.Labels, tunnelValues);
            foreach (var pair in tunnel.Pairs)
            {
                for (var i = 0; i < PairFamilies.Length; i++)
                {
                    pairValues[i] = PairFamilies[i].Value(pair.Values);
                }

                pairRows.Add(pair.Labels, pairValues);
            }
        }
    }

    /// <summary>
    /// The tunnels of one source, in the tracker's order, and by connection name (none for a connection no tunnel
    /// names): lists, so the collection walks them without an enumerator per IKE SA and CHILD SA.
    /// </summary>
    private sealed class SourceTunnels
    {
        private static readonly List<TrackedTunnel> None = [];
        private readonly Dictionary<string, List<TrackedTunnel>> _byConnection = new(StringComparer.Ordinal);

        public SourceTunnels(IEnumerable<TrackedTunnel> tunnels)
        {
            All = [.. tunnels];
            foreach (var tunnel in All)
            {
                if (!_byConnection.TryGetValue(tunnel.Config.Connection, out var owners))
                {
                    owners = [];
                    _byConnection[tunnel.Config.Connection] = owners;
                }

                owners.Add(tunnel);
            }
        }

        public List<TrackedTunnel> All { get; }

        /// <summary>The tunnels on <paramref name="connection"/>; never changed by the caller.</summary>
        public List<TrackedTunnel> this[string connection] => _byConnection.GetValueOrDefault(connection) ?? None;
    }

    /// <summary>What is remembered about the SAs of one source, independent of the configured tunnels.</summary>
    private sealed class SourceLedger
    {
        private readonly Dictionary<string, ChildTrack> _children = new(StringComparer.Ordinal);
        private readonly Dictionary<string, ChildTrack> _forgotten = new(StringComparer.Ordinal);

        // Forgotten keys in the order they were forgotten, with the collection that forgot them; an entry whose track
        // was revived (and maybe forgotten again later) no longer matches and is skipped.
        private readonly Queue<(string Identity, long ForgottenAt)> _forgottenOrder = new();
        private readonly Dictionary<string, IkeTrack> _ikes = new(StringComparer.Ordinal);

        public long Collections { get; set; }

        public SourceEpoch? Epoch { get; private set; }

        public long EpochChanges { get; private set; }

        public void NoteEpoch(SourceEpoch? epoch)
        {
            if (epoch is not null && Epoch is not null && epoch.Id != Epoch.Id)
            {
                EpochChanges++;
            }

            Epoch = epoch ?? Epoch;
        }

        public ChildTrack? FindChild(string key) => _children.GetValueOrDefault(key);

        public IkeTrack? FindIke(string key) => _ikes.GetValueOrDefault(key);

        /// <summary>
        /// The track of <paramref name="child"/>, revived from the forgotten ones when its counters did not restart,
        /// with its selectors as <paramref name="child"/> has them.
        /// </summary>
        public ChildTrack Child(ChildSa child)
        {
            var identity = child.Key;
            if (!_children.TryGetValue(identity, out var track))
            {
                // Counters below the marks under the same key mean they started again: then it is a new SA after all.
                track = _forgotten.Remove(identity, out var forgotten) && !forgotten.WentBackwards(child) ? forgotten : new ChildTrack(child);
                _children[identity] = track;
            }

            track.LastSeen = Collections;
            track.Describe(child);
            return track;
        }

        public IkeTrack Ike(string identity)
        {
            if (!_ikes.TryGetValue(identity, out var track))
            {
                track = new IkeTrack(identity);
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
                _forgotten[identity] = track;
                track.ForgottenAt = Collections;
                _forgottenOrder.Enqueue((identity, Collections));
            }

            while (_forgottenOrder.TryPeek(out var oldest)
                && (_forgottenOrder.Count > MaxForgottenChildSas || Collections - oldest.ForgottenAt >= RetainForgottenCollections))
            {
                _forgottenOrder.Dequeue();
                if (_forgotten.TryGetValue(oldest.Identity, out var track) && track.ForgottenAt == oldest.ForgottenAt)
                {
                    _forgotten.Remove(oldest.Identity);
                }
            }

            foreach (var (identity, track) in _ikes.Where(c => Collections - c.Value.LastSeen >= ForgetAfterCollections).ToList())
            {
                _ikes.Remove(identity);
            }
        }
    }

    private sealed class ChildTrack(ChildSa first)
    {
        private TrafficCounts _highest;
        private List<TrackedPair>? _targets;
        private List<TrackedTunnel>? _targetsOwners;
        private ParsedSelectors? _targetsSelectors;

        /// <summary>The SA's key, the instance the ledger is keyed by.</summary>
        public string Key { get; } = first.Key;

        public long LastSeen { get; set; }

        /// <summary>The collection that last forgot this track.</summary>
        public long ForgottenAt { get; set; } = -1;

        public bool RekeyCounted { get; set; }

        /// <summary>The IKE SA the CHILD SA was last seen under.</summary>
        public string? IkeKey { get; set; }

        /// <summary>The SA's traffic selectors as last seen.</summary>
        public ParsedSelectors Selectors { get; private set; } = ParsedSelectors.Of(first);

        /// <summary>
        /// The pairs the SA carries in <paramref name="owners"/> (<see cref="Targets"/>), found again only when the owners
        /// (a reload makes new lists) or the selectors changed. Never changed by the caller.
        /// </summary>
        public List<TrackedPair> TargetsIn(List<TrackedTunnel> owners)
        {
            if (!ReferenceEquals(owners, _targetsOwners) || !ReferenceEquals(Selectors, _targetsSelectors))
            {
                _targets = Targets(owners, Selectors);
                Selectors = Selectors.SharingWith(_targets);
                (_targetsOwners, _targetsSelectors) = (owners, Selectors);
            }

            return _targets!;
        }

        /// <summary>Takes <paramref name="child"/>'s selectors, parsed again only when their text changed since the last poll.</summary>
        public void Describe(ChildSa child)
        {
            if (!Selectors.Describes(child))
            {
                Selectors = ParsedSelectors.Of(child);
            }
        }

        /// <summary>Raises the high-water marks to <paramref name="child"/>'s counters and returns by how much each rose.</summary>
        public TrafficCounts Raise(ChildSa child)
        {
            var seen = child.Counters;
            var growth = new TrafficCounts(
                Rise(_highest.ReceivedBytes, seen.ReceivedBytes),
                Rise(_highest.SentBytes, seen.SentBytes),
                Rise(_highest.ReceivedPackets, seen.ReceivedPackets),
                Rise(_highest.SentPackets, seen.SentPackets));
            _highest = new TrafficCounts(
                _highest.ReceivedBytes + growth.ReceivedBytes,
                _highest.SentBytes + growth.SentBytes,
                _highest.ReceivedPackets + growth.ReceivedPackets,
                _highest.SentPackets + growth.SentPackets);
            return growth;

            // A counter the source does not have never rises.
            static ulong Rise(ulong mark, ulong? value) => value > mark ? value.Value - mark : 0;
        }

        /// <summary>True when one of <paramref name="child"/>'s counters is below its high-water mark.</summary>
        public bool WentBackwards(ChildSa child) =>
            child.Counters.IsBelow(new SaCounters(_highest.ReceivedBytes, _highest.SentBytes, _highest.ReceivedPackets, _highest.SentPackets));
    }

    /// <summary>Traffic selectors as the source wrote them and parsed.</summary>
    private sealed record ParsedSelectors(IReadOnlyList<string> LocalText, IReadOnlyList<string> RemoteText, TrafficSelector[] Local, TrafficSelector[] Remote)
    {
        public static ParsedSelectors Of(ChildSa child) =>
            new(child.LocalTs, child.RemoteTs, TrafficSelector.ParseAll(child.LocalTs), TrafficSelector.ParseAll(child.RemoteTs));

        public bool Describes(ChildSa child) => LocalText.SequenceEqual(child.LocalTs) && RemoteText.SequenceEqual(child.RemoteTs);

        /// <summary>
        /// These selectors with the configured networks' instances of <paramref name="pairs"/> where they are the same:
        /// a CHILD SA mostly carries exactly its pair's networks, and a hub held both (docs/PERFORMANCE.md).
        /// </summary>
        public ParsedSelectors SharingWith(List<TrackedPair> pairs)
        {
            var (local, remote) = (Local, Remote);
            foreach (var pair in pairs)
            {
                local = Same(local, pair.LocalNetwork);
                remote = Same(remote, pair.RemoteNetwork);
            }

            return ReferenceEquals(local, Local) && ReferenceEquals(remote, Remote) ? this : this with { Local = local, Remote = remote };

            static TrafficSelector[] Same(TrafficSelector[] parsed, TrafficSelector[]? configured) =>
                configured is not null && parsed.AsSpan().SequenceEqual(configured) ? configured : parsed;
        }

        public void Deconstruct(out TrafficSelector[] local, out TrafficSelector[] remote) => (local, remote) = (Local, Remote);
    }

    private sealed class IkeTrack(string key)
    {
        /// <summary>The SA's key, the instance the ledger is keyed by.</summary>
        public string Key { get; } = key;

        public long LastSeen { get; set; }

        public bool RekeyCounted { get; set; }

        /// <summary>The SA's age when it was last polled, and when that was.</summary>
        public TimeSpan? LastEstablishedAgo { get; set; }

        public DateTimeOffset LastSeenAt { get; set; }

        /// <summary>Its CHILD SAs that were installed at collection <see cref="InstalledAtCollection"/>, by key.</summary>
        public Dictionary<string, InstalledChild> Installed { get; set; } = [];

        public long InstalledAtCollection { get; set; } = -1;

        public bool DownCounted { get; set; }
    }

    /// <summary>What rekey inference needs of a CHILD SA installed at the previous collection: its age then, and when.</summary>
    private readonly record struct InstalledChild(TimeSpan? InstalledAgo, DateTimeOffset SeenAt);
}

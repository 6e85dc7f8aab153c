using System.Net;
using IpsecExporter.Configuration;
using IpsecExporter.Metrics;
using IpsecExporter.Sources;
using ConnectionInfo = IpsecExporter.Sources.ConnectionInfo;

namespace IpsecExporter.Tunnels;

/// <summary>Bytes and packets per direction ("received" is inbound, "sent" outbound, as the gateway sees them).</summary>
public readonly record struct TrafficCounts(ulong ReceivedBytes, ulong SentBytes, ulong ReceivedPackets, ulong SentPackets);

/// <summary>The mutable model of one configured tunnel inside <see cref="TunnelTracker"/> (guarded by its lock).</summary>
internal sealed class TrackedTunnel(TunnelConfig config)
{
    public TunnelConfig Config { get; private set; } = config;

    public Dictionary<NetworkPair, TrackedPair> Pairs { get; } = config.NetworkPairs.ToDictionary(p => p, p => new TrackedPair(config.Name, p));

    public MetricLabels Labels { get; } = MetricFamilies.TunnelLabels.Values(config.Name);

    /// <summary>CHILD SAs of the connection matching no configured pair; created when the first one is seen.</summary>
    public TrackedPair? Unmatched { get; private set; }

    public TrackedIke Ike { get; } = new();

    public bool SourceUp { get; set; }

    public DateTimeOffset? LastSuccessAt { get; set; }

    public bool? ConnectionLoaded { get; private set; }

    private TunnelObservation? _latest;

    /// <summary>Set under the tracker's lock, read without it (<see cref="TunnelTracker.Get"/>).</summary>
    public TunnelObservation? Latest
    {
        get => Volatile.Read(ref _latest);
        set => Volatile.Write(ref _latest, value);
    }

    /// <summary>What the metrics show: set at each successful collection, null before the first.</summary>
    public TunnelSeries? Series { get; set; }

    public TrackedPair UnmatchedPair() => Unmatched ??= new TrackedPair(Config.Name, null);

    /// <summary>Starts a collection; <paramref name="connection"/> is the source's connection of this tunnel, if loaded.</summary>
    public void StartCollection(SaSnapshot snapshot, ConnectionInfo? connection)
    {
        Ike.StartCollection();
        foreach (var pair in Pairs.Values)
        {
            pair.StartCollection(snapshot.DhGroupsReported);
        }

        Unmatched?.StartCollection(snapshot.DhGroupsReported);

        ConnectionLoaded = snapshot.Connections is null ? null : connection is not null;
        Counters = snapshot.Counters;
    }

    /// <summary>The counters the source declared in its latest snapshot.</summary>
    public CounterCapabilities Counters { get; private set; } = CounterCapabilities.All;

    public void ObserveIke(IkeSa ike)
    {
        // An SA without an age is still being set up: the newest there is.
        if (Ike.NewestAny is null || ike.EstablishedAgo is null || ike.EstablishedAgo < Ike.NewestAny.EstablishedAgo)
        {
            Ike.NewestAny = ike;
        }

        if (ike.IsEstablished)
        {
            Ike.SaCount++;
            if (Ike.Newest is null || ike.EstablishedAgo < Ike.Newest.EstablishedAgo)
            {
                Ike.Newest = ike;
            }
        }
    }

    /// <summary>Settles the intervals: configured ones (from the source's connection list) win over the SAs' schedules.</summary>
    public void FinishCollection(ConnectionInfo? connection)
    {
        // A connection that reauthenticates instead of rekeying replaces its IKE SA on the reauthentication interval.
        Ike.RekeyInterval = connection?.RekeyInterval ?? connection?.ReauthInterval
            ?? Sum(Ike.Newest?.RekeyIn, Ike.Newest?.EstablishedAgo) ?? Sum(Ike.Newest?.ReauthIn, Ike.Newest?.EstablishedAgo)
            ?? Ike.RekeyInterval;
        Ike.FinishCollection();
        foreach (var pair in Pairs.Values)
        {
            pair.FinishCollection(pair.ConfiguredRekeyInterval(connection));
        }

        Unmatched?.FinishCollection(null);
    }

    /// <summary>Applies a reloaded configuration; returns the pairs that were dropped (their series must go).</summary>
    public List<NetworkPair> Reconfigure(TunnelConfig next)
    {
        var dropped = Pairs.Keys.Where(p => !next.NetworkPairs.Contains(p)).ToList();
        foreach (var pair in dropped)
        {
            Pairs.Remove(pair);
        }

        foreach (var pair in next.NetworkPairs.Where(p => !Pairs.ContainsKey(p)))
        {
            Pairs[pair] = new TrackedPair(next.Name, pair);
        }

        Config = next;
        return dropped;
    }

    /// <summary>A schedule relative to the SA's start: remaining time plus age, when both are known and still ahead.</summary>
    public static TimeSpan? Sum(TimeSpan? remaining, TimeSpan? age) =>
        remaining > TimeSpan.Zero && age is not null ? remaining + age : null;
}

/// <summary>
/// The metrics of one tunnel as of its last successful collection: immutable, so that scrapes read it while the next
/// collection runs.
/// </summary>
internal sealed record TunnelSeries(MetricLabels Labels, IkeObservation Ike, PairSeries[] Pairs)
{
    /// <summary>The series of <paramref name="tunnel"/>'s latest observation (its pairs in configuration order, then the unmatched bucket).</summary>
    public static TunnelSeries Of(TrackedTunnel tunnel)
    {
        var latest = tunnel.Latest!;
        var pairs = new PairSeries[latest.Pairs.Count + (latest.Unmatched is null ? 0 : 1)];
        for (var i = 0; i < latest.Pairs.Count; i++)
        {
            var observed = latest.Pairs[i];
            pairs[i] = new PairSeries(observed.Pair, tunnel.Pairs[observed.Pair!].Labels, observed);
        }

        if (latest.Unmatched is { } unmatched)
        {
            pairs[^1] = new PairSeries(null, tunnel.Unmatched!.Labels, unmatched);
        }

        return new(tunnel.Labels, latest.Ike, pairs);
    }
}

/// <summary>One pair's series (<see cref="Pair"/> null for the unmatched bucket).</summary>
internal sealed record PairSeries(NetworkPair? Pair, MetricLabels Labels, PairObservation Values);

internal sealed class TrackedIke
{
    public int SaCount { get; set; }

    /// <summary>The most recently established IKE SA of this collection, while it is applied.</summary>
    public IkeSa? Newest { get; set; }

    /// <summary>The newest IKE SA of this collection in any state (one still connecting, one being deleted), while it is applied.</summary>
    public IkeSa? NewestAny { get; set; }

    /// <summary>What the observation shows of the newest ESTABLISHED SA, as of the last finished collection.</summary>
    public IkeView? Established { get; private set; }

    /// <summary>The state the tunnel shows (of the newest ESTABLISHED SA, else the newest), as of the last finished collection.</summary>
    public IkeSaState? ShownState { get; private set; }

    public string? ShownStateText { get; private set; }

    public long Rekeys { get; set; }

    public long Downs { get; set; }

    public TimeSpan? RekeyInterval { get; set; }

    public TimeSpan? LastRekeyAfter { get; set; }

    public void StartCollection()
    {
        SaCount = 0;
        Newest = null;
        NewestAny = null;
    }

    /// <summary>Keeps what is shown and lets go of the snapshot's SAs: a snapshot must be garbage once applied.</summary>
    public void FinishCollection()
    {
        // The addresses rarely change: the instances already held (by earlier observations, which the diagnosis keeps
        // for minutes) are kept, so the snapshot's die with it.
        Established = Newest is { } newest
            ? new IkeView(Held(Established?.LocalHost, newest.LocalHost), Held(Established?.RemoteHost, newest.RemoteHost), newest.EstablishedAgo, newest.DhGroup)
            : null;
        var shown = Newest ?? NewestAny;
        ShownState = shown?.State;
        ShownStateText = shown?.StateText;
        Newest = null;
        NewestAny = null;
    }

    private static IPAddress? Held(IPAddress? held, IPAddress? seen) => seen is not null && seen.Equals(held) ? held : seen;
}

/// <summary>The values of an IKE SA a tunnel's observation shows.</summary>
internal readonly record struct IkeView(IPAddress? LocalHost, IPAddress? RemoteHost, TimeSpan? EstablishedAgo, string? DhGroup);

/// <summary>One configured network pair of a tunnel (or the unmatched bucket when <see cref="Pair"/> is null).</summary>
internal sealed class TrackedPair
{
    // The newest SAs of the collection being applied; only their state is kept after it (FinishCollection).
    private ChildSa? _newestInstalled;
    private ChildSa? _newestAny;
    private ChildSaState? _shownState;
    private string? _shownStateText;
    private bool _dhGroupsReported = true;
    private ConnectionInfo? _matchedConnection;
    private TimeSpan? _matchedRekeyInterval;

    public TrackedPair(string tunnel, NetworkPair? pair)
    {
        Pair = pair;
        LocalLabel = pair?.LocalText ?? TunnelTracker.UnmatchedLabel;
        RemoteLabel = pair?.RemoteText ?? TunnelTracker.UnmatchedLabel;
        Labels = MetricFamilies.PairLabels.Values(tunnel, LocalLabel, RemoteLabel);
        LocalNetwork = pair is null ? null : [TrafficSelector.FromNetwork(pair.Local)];
        RemoteNetwork = pair is null ? null : [TrafficSelector.FromNetwork(pair.Remote)];
        Alone = [this];
    }

    /// <summary>The configured local network as a selector list, which CHILD SAs with just that selector share (null for the unmatched bucket).</summary>
    public TrafficSelector[]? LocalNetwork { get; }

    /// <summary>The configured remote network, like <see cref="LocalNetwork"/>.</summary>
    public TrafficSelector[]? RemoteNetwork { get; }

    /// <summary>A list of just this pair, shared by the CHILD SAs that carry only it (most of them). Never changed.</summary>
    public List<TrackedPair> Alone { get; }

    public NetworkPair? Pair { get; }

    public string LocalLabel { get; }

    public string RemoteLabel { get; }

    public MetricLabels Labels { get; }

    public TrafficCounts Traffic { get; private set; }

    public DateTimeOffset? LastReceived { get; set; }

    public DateTimeOffset? LastSent { get; set; }

    public int Installed { get; private set; }

    public long Rekeys { get; set; }

    public TimeSpan? RekeyInterval { get; private set; }

    public TimeSpan? Lifetime { get; private set; }

    public TimeSpan? LastRekeyAfter { get; set; }

    public string? DhGroup { get; set; }

    public bool? Pfs { get; set; }

    /// <summary>True when some local selector overlaps the pair's local network and some remote one its remote network.</summary>
    public bool Matches(TrafficSelector[] local, TrafficSelector[] remote) =>
        LocalNetwork is not null && RemoteNetwork is not null && Overlaps(LocalNetwork[0], local) && Overlaps(RemoteNetwork[0], remote);

    // A loop, not Array.Exists with the method group: that made two delegates per pair and CHILD SA at every collection.
    private static bool Overlaps(TrafficSelector network, TrafficSelector[] selectors)
    {
        foreach (var selector in selectors)
        {
            if (network.Overlaps(selector))
            {
                return true;
            }
        }

        return false;
    }

    public void Add(TrafficCounts growth) =>
        Traffic = new TrafficCounts(
            Traffic.ReceivedBytes + growth.ReceivedBytes,
            Traffic.SentBytes + growth.SentBytes,
            Traffic.ReceivedPackets + growth.ReceivedPackets,
            Traffic.SentPackets + growth.SentPackets);

    /// <summary>
    /// The rekey interval of the first CHILD config of <paramref name="connection"/> carrying this pair. A source
    /// reports the same connection list for many collections (VICI: <c>list-conns</c> every 12th), so the match is
    /// kept until another list arrives.
    /// </summary>
    public TimeSpan? ConfiguredRekeyInterval(ConnectionInfo? connection)
    {
        if (!ReferenceEquals(connection, _matchedConnection))
        {
            _matchedConnection = connection;
            _matchedRekeyInterval = connection?.Children
                .FirstOrDefault(c => Matches(TrafficSelector.ParseAll(c.LocalTs), TrafficSelector.ParseAll(c.RemoteTs)))?.RekeyInterval;
        }

        return _matchedRekeyInterval;
    }

    public void StartCollection(bool dhGroupsReported)
    {
        Installed = 0;
        _newestInstalled = null;
        _newestAny = null;
        _dhGroupsReported = dhGroupsReported;
    }

    public void ObservePolled(ChildSa child)
    {
        if (_newestAny is null || child.InstalledAgo is null || child.InstalledAgo < _newestAny.InstalledAgo)
        {
            _newestAny = child;
        }

        if (!child.IsInstalled)
        {
            return;
        }

        Installed++;
        if (_newestInstalled is null || child.InstalledAgo < _newestInstalled.InstalledAgo)
        {
            _newestInstalled = child;
        }

        // Only a CHILD SA negotiated with its own key exchange has a DH group: proof of PFS.
        if (child.DhGroup is not null)
        {
            Pfs = true;
            DhGroup = child.DhGroup;
        }

        Pfs = child.PfsSetting ?? Pfs;
    }

    /// <summary>
    /// A rekey produced <paramref name="replacement"/>: with PFS it ran its own key exchange (a DH group), without it
    /// has none; a source that reports the gateway's PFS setting instead says so directly. A source that never reports
    /// DH groups proves nothing by their absence: PFS stays as it was (unknown).
    /// </summary>
    public void ObserveKeyExchange(ChildSa replacement)
    {
        Pfs = replacement.PfsSetting ?? (replacement.DhGroup is not null ? true : _dhGroupsReported ? false : Pfs);
        DhGroup = replacement.DhGroup ?? DhGroup;
    }

    public void FinishCollection(TimeSpan? configuredRekeyInterval)
    {
        RekeyInterval = configuredRekeyInterval ?? TrackedTunnel.Sum(_newestInstalled?.RekeyIn, _newestInstalled?.InstalledAgo) ?? RekeyInterval;
        Lifetime = TrackedTunnel.Sum(_newestInstalled?.LifeIn, _newestInstalled?.InstalledAgo) ?? Lifetime;
        var shown = _newestInstalled ?? _newestAny;
        _shownState = shown?.State;
        _shownStateText = shown?.StateText;
        _newestInstalled = null;
        _newestAny = null;
    }

    /// <summary>The pair as it is now; counters the source does not have (<paramref name="counted"/>) are null.</summary>
    public PairObservation Observe(CounterCapabilities counted)
    {
        return new(
            Pair,
            LocalLabel,
            RemoteLabel,
            Installed,
            Counted(CounterCapabilities.ReceivedBytes, Traffic.ReceivedBytes),
            Counted(CounterCapabilities.SentBytes, Traffic.SentBytes),
            Counted(CounterCapabilities.ReceivedPackets, Traffic.ReceivedPackets),
            Counted(CounterCapabilities.SentPackets, Traffic.SentPackets),
            LastReceived,
            LastSent,
            Rekeys,
            RekeyInterval,
            Lifetime,
            LastRekeyAfter,
            DhGroup,
            Pfs)
        {
            State = _shownState,
            StateText = _shownStateText,
        };

        ulong? Counted(CounterCapabilities capability, ulong value) => counted.HasFlag(capability) ? value : null;
    }
}

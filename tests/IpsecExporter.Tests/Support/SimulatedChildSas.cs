using System.Globalization;
using IpsecExporter.Sources;
using IpsecExporter.Tunnels;

namespace IpsecExporter.Tests.Support;

/// <summary>
/// The CHILD SAs a gateway lists under one IKE SA of connection <c>site</c> (tunnel <c>t1</c> of
/// <see cref="TrackerHarness.TwoPairConfig"/>), which an IKE rekey replaces, for property tests of the tunnel model: what
/// a poll or an event reports, and the truth the exported counters are compared with. A test drives it with its own
/// operations.
/// </summary>
public sealed class SimulatedChildSas
{
    /// <summary>Selectors of the simulated SAs: the two configured pairs and one the configuration does not know.</summary>
    public static readonly (string Local, string Remote)[] Selectors = [("10.1.0.0/24", "10.2.0.0/24"), ("10.3.0.0/24", "10.4.0.0/24"), ("192.168.0.0/24", "192.168.1.0/24")];

    /// <summary>Per selector, the labels (tunnel, local_ts, remote_ts) of the series its SAs are counted in.</summary>
    public static readonly string[][] Series =
    [
        ["t1", "10.1.0.0/24", "10.2.0.0/24"],
        ["t1", "10.3.0.0/24", "10.4.0.0/24"],
        ["t1", TunnelTracker.UnmatchedLabel, TunnelTracker.UnmatchedLabel],
    ];

    private readonly List<Sa> _listed = [];
    private readonly List<Sa> _all = [];
    private readonly List<ChildSaChange> _pending = [];
    private readonly List<(int Selector, bool WithEvent)> _unpolledReplacements = [];
    private HashSet<Sa> _listedAtPoll = [];
    private int _nextUniqueId = 1;
    private int _nextSpi = 1;
    private int _ike = 1;
    private int _ikeAtPoll = 1;
    private int? _rekeyedIke;

    /// <summary>The SAs the gateway lists, installed or lingering, in the order it lists them.</summary>
    public IReadOnlyList<Sa> Listed => _listed;

    public List<Sa> Installed => _listed.Where(s => s.State == "INSTALLED").ToList();

    /// <summary>Listed but no longer installed (deleted or rekeyed, until they vanish).</summary>
    public List<Sa> Lingering => _listed.Where(s => s.State != "INSTALLED").ToList();

    /// <summary>
    /// Per selector, how many SAs were replaced by a new one that the polls so far could tell from a reauthentication:
    /// all of them, except those replaced between two polls together with an IKE rekey that the second poll does not
    /// show (the old IKE SA no longer listed and no CHILD SA listed at the first poll still listed).
    /// </summary>
    public double[] Replacements { get; } = new double[Series.Length];

    public Sa Install(int selector)
    {
        var sa = new Sa(selector, (_nextUniqueId++).ToString(CultureInfo.InvariantCulture), $"{_nextSpi++:x8}");
        _listed.Add(sa);
        _all.Add(sa);
        return sa;
    }

    /// <summary>
    /// Replaces <paramref name="old"/> by a new SA for the same selector; the old one lingers as
    /// <paramref name="lingeringState"/>. With <paramref name="withEvent"/> the rekey event reaches the next poll.
    /// </summary>
    public Sa Replace(Sa old, string lingeringState, bool withEvent)
    {
        old.State = lingeringState;
        var replacement = Install(old.Selector);
        _unpolledReplacements.Add((old.Selector, withEvent));
        if (withEvent)
        {
            Report(SaChangeKind.Rekeyed, old, replacement);
        }

        return replacement;
    }

    /// <summary>Deletes <paramref name="sa"/>; it lingers as DELETED. With <paramref name="withEvent"/> the event reaches the next poll.</summary>
    public void Delete(Sa sa, bool withEvent)
    {
        sa.State = "DELETED";
        if (withEvent)
        {
            Report(SaChangeKind.Deleted, sa, null);
        }
    }

    /// <summary>
    /// An IKEv2 rekey: a new IKE SA takes over every listed CHILD SA with its key. With <paramref name="oldListed"/> the
    /// next poll still lists the old IKE SA as REKEYED, without CHILD SAs.
    /// </summary>
    public void RekeyIke(bool oldListed)
    {
        _rekeyedIke = oldListed ? _ike : null;
        _ike++;
    }

    /// <summary>Gone from the list without any further event.</summary>
    public void Remove(Sa sa) => _listed.Remove(sa);

    /// <summary>Every SA gone; a graceful stop sends their final counters, a crash does not. Unique ids start again at 1.</summary>
    public void Restart(bool graceful)
    {
        foreach (var gone in _listed.Where(_ => graceful))
        {
            Report(SaChangeKind.Deleted, gone, null);
        }

        _listed.Clear();
        _nextUniqueId = 1;
    }

    /// <summary>A poll: the listed SAs are observed now, and the pending events are handed over with it.</summary>
    public SaSnapshot Poll(DateTimeOffset at)
    {
        var ikeRekeyShown = _ike == _ikeAtPoll || _rekeyedIke == _ikeAtPoll || _listed.Exists(_listedAtPoll.Contains);
        foreach (var (selector, withEvent) in _unpolledReplacements)
        {
            Replacements[selector] += withEvent || ikeRekeyShown ? 1 : 0;
        }

        IkeSa[] ikes = [
            .. _rekeyedIke is { } rekeyed ? [Sas.Ike("site", Id(rekeyed), "REKEYED")] : Array.Empty<IkeSa>(),
            Sas.Ike(Id(_ike), [.. _listed.Select(sa => sa.Report())]),
        ];
        foreach (var sa in _listed)
        {
            sa.Deliver();
        }

        var snapshot = Sas.Snapshot(at, ikes) with { ChildSaChanges = _pending.Select(c => c with { At = at }).ToList() };
        _pending.Clear();
        _unpolledReplacements.Clear();
        _listedAtPoll = [.. _listed];
        _ikeAtPoll = _ike;
        _rekeyedIke = null;
        return snapshot;

        static string Id(int ike) => ike.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Per selector, the sum over all SAs ever listed of the highest bytes a poll or a delivered event showed.</summary>
    public (ulong Received, ulong Sent) Observed(int selector) => Sum(selector, sa => (sa.ObservedReceived, sa.ObservedSent));

    /// <summary>Per selector, all the bytes that were ever carried.</summary>
    public (ulong Received, ulong Sent) Truth(int selector) => Sum(selector, sa => (sa.Received, sa.Sent));

    private (ulong Received, ulong Sent) Sum(int selector, Func<Sa, (ulong Received, ulong Sent)> bytes) =>
        _all.Where(s => s.Selector == selector).Select(bytes).Aggregate((0UL, 0UL), (sum, b) => (sum.Item1 + b.Received, sum.Item2 + b.Sent));

    private void Report(SaChangeKind kind, Sa old, Sa? replacement)
    {
        _pending.Add(new ChildSaChange(DateTimeOffset.UnixEpoch, "site", kind, old.Report(), replacement?.Report()));
        old.Deliver();
    }

    public sealed class Sa(int selector, string uniqueId, string spi)
    {
        private ulong _reportedReceived;
        private ulong _reportedSent;

        public int Selector { get; } = selector;

        public string State { get; set; } = "INSTALLED";

        public ulong Received { get; private set; }

        public ulong Sent { get; private set; }

        public ulong ObservedReceived { get; private set; }

        public ulong ObservedSent { get; private set; }

        public void Grow(ulong received, ulong sent)
        {
            Received += received;
            Sent += sent;
        }

        /// <summary>Counters as they are at this moment, as a poll or an event would report them.</summary>
        public ChildSa Report()
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

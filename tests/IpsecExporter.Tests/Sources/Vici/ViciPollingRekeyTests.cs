using IpsecExporter.Metrics;
using IpsecExporter.Sources.Vici;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using static IpsecExporter.Tests.Support.ScriptedViciServer;

namespace IpsecExporter.Tests.Sources.Vici;

/// <summary>
/// CHILD SA rekeys a source sees only by polling: a VICI server that confirms the event registrations but never sends an
/// event (as after a lost event connection), answering <c>list-sas</c> with what a test scripts per poll.
/// </summary>
public sealed class ViciPollingRekeyTests
{
    private static readonly string[] Net1 = ["t1", "10.1.0.0/24", "10.2.0.0/24"];

    public enum Overlap
    {
        /// <summary>The old SA lingers as DELETED next to the new INSTALLED one.</summary>
        OldDeleted,

        /// <summary>The old SA lingers as REKEYED next to the new one.</summary>
        OldRekeyed,

        /// <summary>The old SA is gone and the new one is there: replaced between two polls.</summary>
        Replaced,
    }

    [Theory]
    [InlineData(Overlap.OldDeleted)]
    [InlineData(Overlap.OldRekeyed)]
    [InlineData(Overlap.Replaced)]
    public async Task A_rekey_seen_only_by_polling_counts_once_without_double_counting_bytes(Overlap overlap)
    {
        using var harness = new TrackerHarness(TrackerHarness.TwoPairConfig);
        var polls = new Queue<ViciSection[]>();
        polls.Enqueue([Child("1", "INSTALLED", 1000, installed: 100)]);
        polls.Enqueue(overlap switch
        {
            Overlap.OldDeleted => [Child("1", "DELETED", 1500, installed: 104), Child("2", "INSTALLED", 20, installed: 2)],
            Overlap.OldRekeyed => [Child("1", "REKEYED", 1500, installed: 104), Child("2", "INSTALLED", 20, installed: 2)],
            _ => [Child("2", "INSTALLED", 20, installed: 2)],
        });
        // The old SA may linger for several polls: still one rekey.
        polls.Enqueue(overlap == Overlap.Replaced ? [Child("2", "INSTALLED", 300, installed: 7)] : [Child("1", "DELETED", 1500, installed: 109), Child("2", "INSTALLED", 300, installed: 7)]);
        polls.Enqueue([Child("2", "INSTALLED", 400, installed: 12)]);
        await using var server = Eventless(polls);
        await using var source = new ViciSaSource(server.Endpoint, TimeSpan.FromSeconds(5), harness.Time, NullLogger<ViciSaSource>.Instance);

        var rekeys = new List<double?>();
        for (var poll = 0; poll < 4; poll++)
        {
            harness.Time.Advance(TimeSpan.FromSeconds(5));
            var snapshot = await source.CollectAsync(CancellationToken.None);
            Assert.Empty(snapshot.ChildSaChanges);
            harness.Collect(snapshot);
            rekeys.Add(MetricsText.Value(harness.Tracker, MetricFamilies.ChildSaRekeys, Net1));
        }

        Assert.Equal([0, 1, 1, 1], rekeys);
        // The old SA's highest counters plus the new one's: overlap polls add nothing twice.
        var oldSa = overlap == Overlap.Replaced ? 1000 : 1500;
        Assert.Equal(oldSa + 400, MetricsText.Value(harness.Tracker, MetricFamilies.ChildSaReceivedBytes, Net1));
        Assert.Equal(1, MetricsText.Value(harness.Tracker, MetricFamilies.ChildSas, Net1));
        Assert.Equal(0, MetricsText.Value(harness.Tracker, MetricFamilies.IkeSaRekeys, "t1"));
        // Both SAs were scheduled 5 s apart at most; the old one was replaced at an age of about its install time.
        Assert.InRange(harness.Tracker.Get("t1")!.Pairs[0].LastRekeyAfter!.Value.TotalSeconds, 100, 109);
    }

    public enum IkeRekeyShown
    {
        /// <summary>The old CHILD SA moved to the new IKE SA with its key and lingers there as DELETED.</summary>
        OldChildMovedDeleted,

        /// <summary>The old CHILD SA moved to the new IKE SA with its key and lingers there as REKEYED.</summary>
        OldChildMovedRekeyed,

        /// <summary>The old CHILD SA is gone; the other pair's SA moved to the new IKE SA with its key.</summary>
        OtherChildMoved,

        /// <summary>The old CHILD SA is gone; the old IKE SA is still listed as REKEYED.</summary>
        OldIkeRekeyed,
    }

    [Theory]
    [InlineData(IkeRekeyShown.OldChildMovedDeleted)]
    [InlineData(IkeRekeyShown.OldChildMovedRekeyed)]
    [InlineData(IkeRekeyShown.OtherChildMoved)]
    [InlineData(IkeRekeyShown.OldIkeRekeyed)]
    public async Task An_IKE_rekey_and_a_CHILD_rekey_between_two_polls_count_one_each_without_double_counting_bytes(IkeRekeyShown shown)
    {
        using var harness = new TrackerHarness(TrackerHarness.TwoPairConfig);
        ViciSection[] Others(ulong bytes, int installed) =>
            shown == IkeRekeyShown.OtherChildMoved ? [Child("3", "INSTALLED", bytes, installed, local: "10.3.0.0/24", remote: "10.4.0.0/24")] : [];
        var polls = new Queue<CharonPoll>();
        polls.Enqueue(new CharonPoll([Child("1", "INSTALLED", 1000, installed: 100), .. Others(50, 100)]));
        // IKE SA 1 was rekeyed (IKE SA 2, new SPIs), and net1's CHILD SA 1 by CHILD SA 2, between these two polls.
        polls.Enqueue(shown switch
        {
            IkeRekeyShown.OldChildMovedDeleted => new CharonPoll([Child("1", "DELETED", 1500, installed: 104), Child("2", "INSTALLED", 20, installed: 2)], IkeSpi: "2", IkeId: "2"),
            IkeRekeyShown.OldChildMovedRekeyed => new CharonPoll([Child("1", "REKEYED", 1500, installed: 104), Child("2", "INSTALLED", 20, installed: 2)], IkeSpi: "2", IkeId: "2"),
            IkeRekeyShown.OtherChildMoved => new CharonPoll([.. Others(60, 104), Child("2", "INSTALLED", 20, installed: 2)], IkeSpi: "2", IkeId: "2"),
            _ => new CharonPoll([Child("2", "INSTALLED", 20, installed: 2)], IkeSpi: "2", IkeId: "2", Older: new ListedIke("1", "REKEYED", [])),
        });
        polls.Enqueue(new CharonPoll([Child("2", "INSTALLED", 300, installed: 7), .. Others(70, 109)], IkeSpi: "2", IkeId: "2"));
        polls.Enqueue(new CharonPoll([Child("2", "INSTALLED", 400, installed: 12), .. Others(80, 114)], IkeSpi: "2", IkeId: "2"));

        var (childRekeys, ikeRekeys) = await CollectAsync(harness, polls);

        Assert.Equal([0, 1, 1, 1], childRekeys);
        Assert.Equal([0, 1, 1, 1], ikeRekeys);
        var oldSa = shown is IkeRekeyShown.OldChildMovedDeleted or IkeRekeyShown.OldChildMovedRekeyed ? 1500 : 1000;
        Assert.Equal(oldSa + 400, MetricsText.Value(harness.Tracker, MetricFamilies.ChildSaReceivedBytes, Net1));
        Assert.Equal(1, MetricsText.Value(harness.Tracker, MetricFamilies.ChildSas, Net1));
        Assert.InRange(harness.Tracker.Get("t1")!.Pairs[0].LastRekeyAfter!.Value.TotalSeconds, 100, 109);
        if (shown == IkeRekeyShown.OtherChildMoved)
        {
            // The SA that moved is the same SA: counted on, not again, and no rekey of its own.
            string[] net2 = ["t1", "10.3.0.0/24", "10.4.0.0/24"];
            Assert.Equal(80, MetricsText.Value(harness.Tracker, MetricFamilies.ChildSaReceivedBytes, net2));
            Assert.Equal(0, MetricsText.Value(harness.Tracker, MetricFamilies.ChildSaRekeys, net2));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_reauthentication_between_two_polls_counts_no_rekey_and_adds_the_new_SAs_from_zero(bool oldIkeListed)
    {
        using var harness = new TrackerHarness(TrackerHarness.TwoPairConfig);
        var polls = new Queue<CharonPoll>();
        polls.Enqueue(new CharonPoll([Child("1", "INSTALLED", 1000, installed: 100)]));
        // A new IKE SA with a new CHILD SA of its own; the old IKE SA is being deleted with its CHILD SA, or already gone.
        polls.Enqueue(new CharonPoll([Child("2", "INSTALLED", 20, installed: 2)], IkeSpi: "2", IkeId: "2",
            Older: oldIkeListed ? new ListedIke("1", "DELETING", [Child("1", "INSTALLED", 1500, installed: 104)]) : null));
        polls.Enqueue(new CharonPoll([Child("2", "INSTALLED", 300, installed: 7)], IkeSpi: "2", IkeId: "2"));
        polls.Enqueue(new CharonPoll([Child("2", "INSTALLED", 400, installed: 12)], IkeSpi: "2", IkeId: "2"));

        var (childRekeys, ikeRekeys) = await CollectAsync(harness, polls);

        Assert.Equal([0, 0, 0, 0], childRekeys);
        Assert.Equal([0, 0, 0, 0], ikeRekeys);
        Assert.Equal((oldIkeListed ? 1500 : 1000) + 400, MetricsText.Value(harness.Tracker, MetricFamilies.ChildSaReceivedBytes, Net1));
        Assert.Equal(1, MetricsText.Value(harness.Tracker, MetricFamilies.ChildSas, Net1));
    }

    /// <summary>Collects every scripted poll from a charon that sends no events; the CHILD (net1) and IKE rekeys after each.</summary>
    private static async Task<(List<double?> Child, List<double?> Ike)> CollectAsync(TrackerHarness harness, Queue<CharonPoll> polls)
    {
        await using var server = Charon(() =>
        {
            lock (polls)
            {
                return polls.Dequeue();
            }
        });
        await using var source = new ViciSaSource(server.Endpoint, TimeSpan.FromSeconds(5), harness.Time, NullLogger<ViciSaSource>.Instance);
        var child = new List<double?>();
        var ike = new List<double?>();
        for (var count = polls.Count; count > 0; count--)
        {
            harness.Time.Advance(TimeSpan.FromSeconds(5));
            var snapshot = await source.CollectAsync(CancellationToken.None);
            Assert.Empty(snapshot.ChildSaChanges);
            Assert.Empty(snapshot.IkeSaChanges);
            harness.Collect(snapshot);
            child.Add(MetricsText.Value(harness.Tracker, MetricFamilies.ChildSaRekeys, Net1));
            ike.Add(MetricsText.Value(harness.Tracker, MetricFamilies.IkeSaRekeys, "t1"));
        }

        return (child, ike);
    }

    [Fact]
    public async Task Loaded_connections_are_asked_every_few_collections_not_on_every_one()
    {
        var polls = new Queue<ViciSection[]>(Enumerable.Range(0, ViciSaSource.ConnectionsEvery + 1).Select(_ => Array.Empty<ViciSection>()));
        await using var server = Eventless(polls);
        await using var source = new ViciSaSource(server.Endpoint, TimeSpan.FromSeconds(5), TimeProvider.System, NullLogger<ViciSaSource>.Instance);

        var snapshots = new List<IpsecExporter.Sources.SaSnapshot>();
        for (var i = 0; i <= ViciSaSource.ConnectionsEvery; i++)
        {
            snapshots.Add(await source.CollectAsync(CancellationToken.None));
        }

        Assert.Equal(2, server.Received.Count(p => p.Name == "list-conns"));
        Assert.Equal(ViciSaSource.ConnectionsEvery + 1, server.Received.Count(p => p.Name == "list-sas"));
        Assert.All(snapshots, s => Assert.NotNull(s.Connections));
    }
}

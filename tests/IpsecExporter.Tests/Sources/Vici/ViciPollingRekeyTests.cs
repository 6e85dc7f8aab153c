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

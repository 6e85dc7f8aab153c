using IpsecExporter.Metrics;
using System.Net;
using IpsecExporter.Sources;
using IpsecExporter.Sources.MikroTik;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Sources.MikroTik;

/// <summary>The RouterOS answers under Fixtures/mikrotik (shapes described there) through the parser, the mapper and the tunnel model.</summary>
public sealed class MikroTikSaMapperTests
{
    private static readonly string[] BranchD = ["branch-d", "10.1.0.0/24", "10.8.0.0/24"];

    [Fact]
    public void Recorded_shapes_map_onto_the_model()
    {
        var snapshot = Golden(new SaCounterLedger());

        Assert.Equal(["branch-d", "branch-e"], snapshot.IkeSas.Select(i => i.Connection));
        Assert.Equal(["branch-d", "branch-e"], snapshot.Connections!.Select(c => c.Name));
        var d = snapshot.IkeSas[0];
        Assert.Equal((IkeSaState.Established, "8a1f3c2d4e5b6a70_1b2c3d4e5f607182", IPAddress.Parse("198.51.100.9")), (d.State, d.Key, d.RemoteHost));
        Assert.Equal(new TimeSpan(2, 20, 12, 20), d.EstablishedAgo);
        // The inbound and outbound SAs of each rekey generation joined into one CHILD SA; the dying pair is the one replaced.
        Assert.Collection(
            d.ChildSas,
            c =>
            {
                Assert.Equal((ChildSaState.Installed, "mature", "10.1.0.0/24 <=> 10.8.0.0/24"), (c.State, c.StateText, c.Name));
                Assert.Equal(new SaCounters(6000000000, 5000000000, 4800000, 4100000), c.Counters);
                Assert.StartsWith("5e6f7081_1a2b3c4d|", c.Key, StringComparison.Ordinal);
                Assert.Equal(["10.1.0.0/24"], c.LocalTs);
                Assert.Equal(["10.8.0.0/24"], c.RemoteTs);
                Assert.Equal(TimeSpan.FromSeconds(2463), c.LifeIn);
            },
            c => Assert.Equal((ChildSaState.Rekeyed, "dying", new SaCounters(900, 700, 9, 7)), (c.State, c.StateText, c.Counters)));
        // Two policies on the same endpoints: which SA serves which is unknown, so no counters are made up.
        Assert.Collection(
            snapshot.IkeSas[1].ChildSas,
            c => Assert.Equal((ChildSaState.Installed, "policy *4", default(SaCounters)), (c.State, c.Key, c.Counters)),
            c =>
            {
                Assert.Equal((ChildSaState.Deleted, "no-phase2"), (c.State, c.StateText));
                Assert.Equal(["10.10.0.0/24"], c.RemoteTs);
            });
    }

    [Fact]
    public void Keys_sent_by_a_router_that_ignores_proplist_never_reach_the_model()
    {
        var withKeys = File.ReadAllText(Fixtures.Path("mikrotik", "ignored-proplist", "01.installed-sa.json"));
        Assert.Contains("5EC12E7", withKeys, StringComparison.Ordinal);

        Assert.Equal(MikroTikSaMapper.ParseSas(File.ReadAllText(Fixtures.Path("mikrotik", "healthy", "01.installed-sa.json")), "sas"), MikroTikSaMapper.ParseSas(withKeys, "sas"));
    }

    [Fact]
    public void A_counter_reset_folds_into_monotonic_counters_like_a_rekey()
    {
        using var harness = new TrackerHarness(Config());
        var ledger = new SaCounterLedger();
        var peers = MikroTikSaMapper.ParsePeers(File.ReadAllText(Fixtures.Path("mikrotik", "healthy", "01.active-peers.json")), "peers");
        var policies = MikroTikSaMapper.ParsePolicies(File.ReadAllText(Fixtures.Path("mikrotik", "healthy", "01.policies.json")), "policies");
        var sas = MikroTikSaMapper.ParseSas(File.ReadAllText(Fixtures.Path("mikrotik", "healthy", "01.installed-sa.json")), "sas").Where(s => s.State == "mature").ToList();

        var keys = new List<string>();
        foreach (var received in new ulong[] { 1000, 1500, 100, 600 })
        {
            harness.Time.Advance(TimeSpan.FromSeconds(5));
            var polled = sas.Select(s => s.Spi == 0x5E6F7081 ? s with { Bytes = received } : s).ToList();
            var snapshot = MikroTikSaMapper.Map(harness.Time.GetUtcNow(), peers, policies, polled, ledger);
            keys.Add(snapshot.IkeSas[0].ChildSas[0].Key);
            harness.Collect(snapshot, "fw");
        }

        Assert.Equal(keys[0], keys[1]);
        Assert.NotEqual(keys[1], keys[2]);
        Assert.Equal(1500 + 600, MetricsText.Value(harness.Tracker, MetricFamilies.ChildSaReceivedBytes, BranchD));
        Assert.Equal(1, MetricsText.Value(harness.Tracker, MetricFamilies.ChildSaRekeys, BranchD));
    }

    [Fact]
    public void An_error_object_is_a_source_error_with_its_code_and_message()
    {
        var error = Assert.Throws<IOException>(() => MikroTikSaMapper.ParseSas("{\"error\":401,\"message\":\"Unauthorized\"}", "/ip/ipsec/installed-sa"));

        Assert.Equal("the answer from /ip/ipsec/installed-sa is not a RouterOS list: 401 Unauthorized", error.Message);
    }

    [Theory]
    [InlineData("<html><body>s3cr3t-in-page</body></html>")]
    [InlineData("[{\".id\":\"*1\",\"spi\":\"s3cr3t-in-page")]
    [InlineData("")]
    public void Answers_that_are_not_RouterOS_JSON_are_source_errors_that_quote_nothing(string body)
    {
        var error = Assert.Throws<IOException>(() => MikroTikSaMapper.ParseSas(body, "/ip/ipsec/installed-sa"));

        Assert.StartsWith("the answer from /ip/ipsec/installed-sa is not RouterOS JSON", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2d20h12m20s", 245540.0)]
    [InlineData("1w3d", 864000.0)]
    [InlineData("41m3s", 2463.0)]
    [InlineData("500ms", 0.5)]
    [InlineData("3x", null)]
    [InlineData("h", null)]
    [InlineData("99999999999w", null)]
    public void RouterOS_durations_parse(string text, double? seconds) =>
        Assert.Equal(seconds, MikroTikSaMapper.ParseDuration(text)?.TotalSeconds);

    /// <summary>The golden tests' configuration, with an address instead of the mock's.</summary>
    private static string Config() =>
        File.ReadAllText(Fixtures.Path("mikrotik", "config.yaml")).Replace("{{url}}", "https://router.example.net", StringComparison.Ordinal).Replace("{{secret:password}}", "ROUTER_PASSWORD", StringComparison.Ordinal);

    private static SaSnapshot Golden(SaCounterLedger ledger) =>
        MikroTikSaMapper.Map(
            TrackerHarness.Start,
            MikroTikSaMapper.ParsePeers(File.ReadAllText(Fixtures.Path("mikrotik", "healthy", "01.active-peers.json")), "peers"),
            MikroTikSaMapper.ParsePolicies(File.ReadAllText(Fixtures.Path("mikrotik", "healthy", "01.policies.json")), "policies"),
            MikroTikSaMapper.ParseSas(File.ReadAllText(Fixtures.Path("mikrotik", "healthy", "01.installed-sa.json")), "sas"),
            ledger);
}

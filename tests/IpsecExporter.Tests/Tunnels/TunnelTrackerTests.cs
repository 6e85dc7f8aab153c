using IpsecExporter.Metrics;
using System.Globalization;
using IpsecExporter.Sources;
using IpsecExporter.Sources.Vici;
using IpsecExporter.Tests.Support;
using IpsecExporter.Tunnels;

namespace IpsecExporter.Tests.Tunnels;

public sealed class TunnelTrackerTests : IDisposable
{
    private const string Config = TrackerHarness.TwoPairConfig;

    private static readonly string[] Net1 = ["t1", "10.1.0.0/24", "10.2.0.0/24"];
    private static readonly string[] Net3 = ["t1", "10.3.0.0/24", "10.4.0.0/24"];
    private static readonly string[] Unmatched = ["t1", TunnelTracker.UnmatchedLabel, TunnelTracker.UnmatchedLabel];

    private readonly TrackerHarness _harness = new(Config);
    private SourceEpoch? _epoch;

    public void Dispose() => _harness.Dispose();

    [Fact]
    public void A_rekey_overlap_counts_old_and_new_SA_once_each()
    {
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 100, bytesOut: 200)));
        CollectWithChanges(
            [Rekeyed(Sas.Child("1", bytesIn: 150, bytesOut: 260, state: "REKEYED"), Sas.Child("2", dhGroup: "ECP_256", installedAgo: 0))],
            Sas.Ike("1", Sas.Child("1", bytesIn: 150, bytesOut: 260, state: "DELETED"), Sas.Child("2", bytesIn: 30, bytesOut: 40, dhGroup: "ECP_256", installedAgo: 1)));

        Assert.Equal(180, ReceivedBytes(Net1));
        Assert.Equal(300, SentBytes(Net1));
        Assert.Equal(1, Value(_harness.Tracker, MetricFamilies.ChildSas, Net1));

        Collect(Sas.Ike("1", Sas.Child("2", bytesIn: 60, bytesOut: 90, dhGroup: "ECP_256", installedAgo: 6)));

        Assert.Equal(210, ReceivedBytes(Net1));
        Assert.Equal(350, SentBytes(Net1));
        Assert.Equal(1, Value(_harness.Tracker, MetricFamilies.ChildSaRekeys, Net1));
        Assert.Equal(1, Value(_harness.Tracker, MetricFamilies.ChildSaPfs, Net1));
        var pair = _harness.Tracker.Get("t1")!.Pairs[0];
        Assert.Equal((1L, "ECP_256", TimeSpan.FromSeconds(10)), (pair.Rekeys, pair.DhGroup, pair.LastRekeyAfter));
    }

    [Fact]
    public void Final_counters_from_a_delete_event_count_traffic_after_the_last_poll()
    {
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 100, bytesOut: 100)));
        CollectWithChanges([Deleted(Sas.Child("1", bytesIn: 180, bytesOut: 120, state: "DELETED"))], Sas.Ike("1"));

        Assert.Equal(180, ReceivedBytes(Net1));
        Assert.Equal(120, SentBytes(Net1));
        Assert.Equal(0, Value(_harness.Tracker, MetricFamilies.ChildSas, Net1));
        Assert.Equal(0, Value(_harness.Tracker, MetricFamilies.ChildSaRekeys, Net1));
    }

    [Fact]
    public void An_SA_that_came_and_went_between_polls_counts_from_its_event()
    {
        Collect(Sas.Ike("1"));
        CollectWithChanges([Deleted(Sas.Child("7", bytesIn: 500, bytesOut: 400))], Sas.Ike("1"));

        Assert.Equal(500, ReceivedBytes(Net1));
        Assert.Equal(400, SentBytes(Net1));
    }

    [Fact]
    public void A_late_event_for_an_SA_already_gone_from_the_poll_is_not_counted_twice()
    {
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 100)));
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 150)));
        Collect(Sas.Ike("1"));
        CollectWithChanges([Deleted(Sas.Child("1", bytesIn: 150))], Sas.Ike("1"));

        Assert.Equal(150, ReceivedBytes(Net1));
    }

    [Fact]
    public void After_a_daemon_restart_reused_unique_ids_with_new_SPIs_count_as_new_SAs()
    {
        var started = TrackerHarness.Start.AddDays(-1);
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 1000, spi: "aaaa")), started);
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 1000, spi: "aaaa")), started.AddSeconds(1)); // charon's start time wobbles
        _harness.Collect(null);
        Assert.False(_harness.Tracker.Get("t1")!.SourceUp);
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 40, spi: "bbbb")), _harness.Time.GetUtcNow());

        Assert.Equal(1040, ReceivedBytes(Net1));
        var observation = _harness.Tracker.Get("t1")!;
        Assert.True(observation.SourceUp);
        Assert.Equal(1, observation.SourceRestarts);
    }

    [Fact]
    public void A_bytes_only_source_exports_its_bytes_and_no_packet_series_instead_of_zeros()
    {
        static IkeSa BytesOnly(ulong received, ulong sent) =>
            Sas.Ike("1", Sas.Child("1", bytesIn: received, bytesOut: sent) with { Counters = SaCounters.Bytes(received, sent) });
        _harness.Time.Advance(TimeSpan.FromSeconds(5));
        _harness.Collect(Sas.Snapshot(_harness.Time.GetUtcNow(), BytesOnly(100, 200)) with { Counters = CounterCapabilities.Bytes });
        _harness.Time.Advance(TimeSpan.FromSeconds(5));
        _harness.Collect(Sas.Snapshot(_harness.Time.GetUtcNow(), BytesOnly(150, 260)) with { Counters = CounterCapabilities.Bytes });

        Assert.Equal((150.0, 260.0), (ReceivedBytes(Net1), SentBytes(Net1)));
        Assert.Null(Value(_harness.Tracker, MetricFamilies.ChildSaReceivedPackets, Net1));
        Assert.Null(Value(_harness.Tracker, MetricFamilies.ChildSaSentPackets, Net1));
        var pair = _harness.Tracker.Get("t1")!.Pairs[0];
        Assert.Equal((150UL, 260UL, (ulong?)null, (ulong?)null), (pair.ReceivedBytes, pair.SentBytes, pair.ReceivedPackets, pair.SentPackets));
    }

    [Theory]
    [InlineData(CounterCapabilities.Packets)]
    [InlineData(CounterCapabilities.SentBytes | CounterCapabilities.ReceivedPackets)]
    [InlineData(CounterCapabilities.SentBytes)]
    public void A_source_exports_exactly_the_counters_it_declares(CounterCapabilities counted)
    {
        // What the source leaves out is null on its SAs: packets only, or per direction (sent in bytes, received in packets).
        IkeSa Ike(ulong n) => Sas.Ike("1", Sas.Child("1") with
        {
            Counters = new(
                counted.HasFlag(CounterCapabilities.ReceivedBytes) ? n * 100 : null,
                counted.HasFlag(CounterCapabilities.SentBytes) ? n * 200 : null,
                counted.HasFlag(CounterCapabilities.ReceivedPackets) ? n : null,
                counted.HasFlag(CounterCapabilities.SentPackets) ? n * 2 : null),
        });
        _harness.Time.Advance(TimeSpan.FromSeconds(5));
        _harness.Collect(Sas.Snapshot(_harness.Time.GetUtcNow(), Ike(1)) with { Counters = counted });
        _harness.Time.Advance(TimeSpan.FromSeconds(5));
        _harness.Collect(Sas.Snapshot(_harness.Time.GetUtcNow(), Ike(3)) with { Counters = counted });

        double? Expected(CounterCapabilities capability, double value) => counted.HasFlag(capability) ? value : null;
        Assert.Equal(Expected(CounterCapabilities.ReceivedBytes, 300), Value(_harness.Tracker, MetricFamilies.ChildSaReceivedBytes, Net1));
        Assert.Equal(Expected(CounterCapabilities.SentBytes, 600), Value(_harness.Tracker, MetricFamilies.ChildSaSentBytes, Net1));
        Assert.Equal(Expected(CounterCapabilities.ReceivedPackets, 3), Value(_harness.Tracker, MetricFamilies.ChildSaReceivedPackets, Net1));
        Assert.Equal(Expected(CounterCapabilities.SentPackets, 6), Value(_harness.Tracker, MetricFamilies.ChildSaSentPackets, Net1));
        var pair = _harness.Tracker.Get("t1")!.Pairs[0];
        Assert.Equal(
            ((ulong?)Expected(CounterCapabilities.ReceivedBytes, 300), (ulong?)Expected(CounterCapabilities.SentBytes, 600), (ulong?)Expected(CounterCapabilities.ReceivedPackets, 3), (ulong?)Expected(CounterCapabilities.SentPackets, 6)),
            (pair.ReceivedBytes, pair.SentBytes, pair.ReceivedPackets, pair.SentPackets));
    }

    [Fact]
    public void The_observation_keeps_the_sources_own_words_for_the_newest_SAs_states()
    {
        // A vendor spelling of ESTABLISHED, an older IKE SA being torn down beside it, and one pair still installing.
        var older = Sas.Ike("site", "1", "DELETING") with { EstablishedAgo = TimeSpan.FromHours(1) };
        var established = Sas.Ike("site", "2", "ESTABLISHED", Sas.Child("1") with { StateText = "active" }, Sas.Child("2", "10.3.0.0/24", "10.4.0.0/24", state: "ROUTED")) with { StateText = "up" };
        Collect(older, established);

        var observed = _harness.Tracker.Get("t1")!;
        Assert.Equal((IkeSaState.Established, "up"), (observed.Ike.State, observed.Ike.StateText));
        Assert.Equal((ChildSaState.Installed, "active"), (observed.Pairs[0].State, observed.Pairs[0].StateText));
        Assert.Equal((ChildSaState.Installing, "ROUTED"), (observed.Pairs[1].State, observed.Pairs[1].StateText));

        // Nothing established: the newest SA in any state (one still connecting has no age yet) tells what the gateway is doing.
        Collect(older, Sas.Ike("site", "3", "CONNECTING") with { EstablishedAgo = null });

        observed = _harness.Tracker.Get("t1")!;
        Assert.False(observed.Ike.Established);
        Assert.Equal((IkeSaState.Connecting, "CONNECTING"), (observed.Ike.State, observed.Ike.StateText));
        Assert.All(observed.Pairs, p => Assert.Equal((null, null), (p.State, p.StateText)));
    }

    [Fact]
    public void Counters_never_go_backwards_even_when_a_source_reports_less_for_the_same_SA()
    {
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 1000)));
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 10)));
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 1200)));

        Assert.Equal(1200, ReceivedBytes(Net1));
    }

    [Fact]
    public void Configured_pairs_without_an_SA_export_zero_and_foreign_selectors_go_to_one_unmatched_series()
    {
        Collect(Sas.Ike("1"));
        Assert.Equal(0, Value(_harness.Tracker, MetricFamilies.ChildSas, Net1));
        Assert.Equal(0, Value(_harness.Tracker, MetricFamilies.ChildSas, Net3));
        Assert.Null(Value(_harness.Tracker, MetricFamilies.ChildSas, Unmatched));

        Collect(Sas.Ike("1", Sas.Child("1", "10.8.0.0/24", "10.9.0.0/24", bytesIn: 10), Sas.Child("2", "192.168.0.0/24", "192.168.1.0/24", bytesIn: 20)));

        Assert.Equal(2, Value(_harness.Tracker, MetricFamilies.ChildSas, Unmatched));
        Assert.Equal(30, ReceivedBytes(Unmatched));
        Assert.Equal(3, MetricsText.LabelValues(MetricsText.Render(_harness.Tracker), MetricFamilies.ChildSas).Count);
    }

    [Fact]
    public void An_SA_whose_selectors_cover_two_pairs_counts_for_both()
    {
        Collect(Sas.Ike("1", Sas.Child("1", "10.0.0.0/8", "10.0.0.0/8", bytesIn: 70)));

        Assert.Equal(1, Value(_harness.Tracker, MetricFamilies.ChildSas, Net1));
        Assert.Equal(1, Value(_harness.Tracker, MetricFamilies.ChildSas, Net3));
        Assert.Equal(70, ReceivedBytes(Net1));
        Assert.Equal(70, ReceivedBytes(Net3));
    }

    [Fact]
    public void Duplicate_SAs_for_one_pair_are_counted_and_their_traffic_summed()
    {
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 100), Sas.Child("2", bytesIn: 5)));

        Assert.Equal(2, Value(_harness.Tracker, MetricFamilies.ChildSas, Net1));
        Assert.Equal(105, ReceivedBytes(Net1));
    }

    [Fact]
    public void Phase1_follows_established_IKE_SAs_of_the_connection_only()
    {
        Collect(Sas.Ike("other", "1", "ESTABLISHED"), Sas.Ike("site", "2", "CONNECTING"));
        Assert.Equal(0, Value(_harness.Tracker, MetricFamilies.IkeSaEstablished, "t1"));

        Collect(Sas.Ike("site", "2", "ESTABLISHED"), Sas.Ike("site", "3", "ESTABLISHED"));

        Assert.Equal(1, Value(_harness.Tracker, MetricFamilies.IkeSaEstablished, "t1"));
        Assert.Equal(2, Value(_harness.Tracker, MetricFamilies.IkeSas, "t1"));
        var ike = _harness.Tracker.Get("t1")!.Ike;
        Assert.Equal("198.51.100.2", ike.RemoteHost?.ToString());
        Assert.Equal(TimeSpan.FromSeconds(28800), ike.RekeyInterval);
    }

    [Fact]
    public void An_IKE_rekey_seen_as_event_and_then_as_REKEYED_state_counts_once()
    {
        Collect(Sas.Ike("1"));
        CollectWithChanges([], [new IkeSaChange(_harness.Time.GetUtcNow(), "site", SaChangeKind.Rekeyed, Sas.Ike("1"), Sas.Ike("2"))], Sas.Ike("site", "1", "REKEYED"), Sas.Ike("2"));
        Collect(Sas.Ike("site", "1", "REKEYED"), Sas.Ike("2"));

        Assert.Equal(1, Value(_harness.Tracker, MetricFamilies.IkeSaRekeys, "t1"));
        Assert.Equal(TimeSpan.FromSeconds(60), _harness.Tracker.Get("t1")!.Ike.LastRekeyAfter);
    }

    [Fact]
    public void A_CHILD_SA_replaced_together_with_an_IKE_rekey_told_by_its_event_counts_one_CHILD_rekey()
    {
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 100)));
        // The IKE rekey's event arrived; the CHILD SA's was lost, and the old one is gone from the listing.
        CollectWithChanges([], [new IkeSaChange(_harness.Time.GetUtcNow(), "site", SaChangeKind.Rekeyed, Sas.Ike("1"), Sas.Ike("2"))], Sas.Ike("2", Sas.Child("2", bytesIn: 30, installedAgo: 2)));

        Assert.Equal(1, Value(_harness.Tracker, MetricFamilies.IkeSaRekeys, "t1"));
        Assert.Equal(1, Value(_harness.Tracker, MetricFamilies.ChildSaRekeys, Net1));
        Assert.Equal(130, ReceivedBytes(Net1));
    }

    [Fact]
    public void A_CHILD_SA_still_installed_under_the_rekeyed_IKE_SA_is_not_replaced_by_one_under_the_new_IKE_SA()
    {
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 100)));
        Collect(Sas.Ike("site", "1", "REKEYED", Sas.Child("1", bytesIn: 120)), Sas.Ike("2", Sas.Child("2", bytesIn: 30, installedAgo: 2)));

        Assert.Equal(1, Value(_harness.Tracker, MetricFamilies.IkeSaRekeys, "t1"));
        Assert.Equal(0, Value(_harness.Tracker, MetricFamilies.ChildSaRekeys, Net1));
        Assert.Equal(2, Value(_harness.Tracker, MetricFamilies.ChildSas, Net1));
        Assert.Equal(150, ReceivedBytes(Net1));
    }

    [Fact]
    public void Pfs_is_unknown_until_a_rekey_or_a_DH_group_shows_it()
    {
        Collect(Sas.Ike("1", Sas.Child("1")));
        Assert.Null(Value(_harness.Tracker, MetricFamilies.ChildSaPfs, Net1));

        CollectWithChanges([Rekeyed(Sas.Child("1"), Sas.Child("2", installedAgo: 0))], Sas.Ike("1", Sas.Child("2", installedAgo: 1)));
        Assert.Equal(0, Value(_harness.Tracker, MetricFamilies.ChildSaPfs, Net1));

        Collect(Sas.Ike("1", Sas.Child("3", local: "10.3.0.0/24", remote: "10.4.0.0/24", dhGroup: "MODP_2048")));
        Assert.Equal(1, Value(_harness.Tracker, MetricFamilies.ChildSaPfs, Net3));
    }

    [Fact]
    public void Intervals_come_from_the_configured_connection_else_from_the_newest_SA()
    {
        Collect(Sas.Ike("1", Sas.Child("1", installedAgo: 100), Sas.Child("2", local: "10.3.0.0/24", remote: "10.4.0.0/24", installedAgo: 50)));
        Assert.Equal(3600, Value(_harness.Tracker, MetricFamilies.ChildSaRekeyInterval, Net1));
        Assert.Equal(3960, Value(_harness.Tracker, MetricFamilies.ChildSaLifetime, Net1));

        var connections = new[] { new ConnectionInfo("site", TimeSpan.FromHours(8), null, [new ChildConfigInfo("net1", TimeSpan.FromMinutes(320), ["10.1.0.0/24"], ["10.2.0.0/24"])]) };
        _harness.Time.Advance(TimeSpan.FromSeconds(5));
        _harness.Collect(Sas.Snapshot(_harness.Time.GetUtcNow(), Sas.Ike("1", Sas.Child("1", installedAgo: 105))) with { Connections = connections });

        Assert.Equal(19200, Value(_harness.Tracker, MetricFamilies.ChildSaRekeyInterval, Net1));
        Assert.Equal(3600, Value(_harness.Tracker, MetricFamilies.ChildSaRekeyInterval, Net3));
        Assert.Equal(28800, Value(_harness.Tracker, MetricFamilies.IkeSaRekeyInterval, "t1"));
        Assert.True(_harness.Tracker.Get("t1")!.ConnectionLoaded);
    }

    [Fact]
    public void A_connection_that_only_reauthenticates_reports_the_reauthentication_interval()
    {
        var reauthOnly = Sas.Ike("1") with { RekeyIn = null, ReauthIn = TimeSpan.FromSeconds(3540) };
        Collect(reauthOnly);
        Assert.Equal(3600, Value(_harness.Tracker, MetricFamilies.IkeSaRekeyInterval, "t1"));

        _harness.Time.Advance(TimeSpan.FromSeconds(5));
        _harness.Collect(Sas.Snapshot(_harness.Time.GetUtcNow(), reauthOnly) with { Connections = [new ConnectionInfo("site", null, TimeSpan.FromHours(4), [])] });
        Assert.Equal(4 * 3600, Value(_harness.Tracker, MetricFamilies.IkeSaRekeyInterval, "t1"));
    }

    [Fact]
    public void Last_traffic_times_are_the_collection_time_minus_the_idle_time_and_never_move_back()
    {
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 10, bytesOut: 10)));
        var first = _harness.Time.GetUtcNow();
        Assert.Equal((first - TimeSpan.FromSeconds(1)).ToUnixTimeSeconds(), Value(_harness.Tracker, MetricFamilies.ChildSaLastReceived, Net1));
        Assert.Equal((first - TimeSpan.FromSeconds(2)).ToUnixTimeSeconds(), Value(_harness.Tracker, MetricFamilies.ChildSaLastSent, Net1));

        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 10, bytesOut: 10) with { LastInAgo = TimeSpan.FromSeconds(60) }));

        Assert.Equal((first - TimeSpan.FromSeconds(1)).ToUnixTimeSeconds(), Value(_harness.Tracker, MetricFamilies.ChildSaLastReceived, Net1));
    }

    [Fact]
    public void A_failed_collection_keeps_the_metrics_and_marks_the_observation()
    {
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 10)));
        var before = _harness.Tracker.Get("t1")!;
        _harness.Time.Advance(TimeSpan.FromSeconds(5));

        _harness.Collect(null);

        var after = _harness.Tracker.Get("t1")!;
        Assert.False(after.SourceUp);
        Assert.Equal(before.At, after.LastSuccessAt);
        Assert.Equal(_harness.Time.GetUtcNow(), after.At);
        Assert.Equal(1, Value(_harness.Tracker, MetricFamilies.ChildSas, Net1));
        Assert.Equal(10, ReceivedBytes(Net1));
    }

    [Fact]
    public void Best_practice_facts_report_pfs_off_when_any_pair_shows_it_and_the_configured_intervals()
    {
        Assert.Equal(IpsecExporter.Diagnosis.BestPractices.ObservedSaFacts.None, _harness.Tracker.FactsFor("t1"));
        var connections = new[] { new ConnectionInfo("site", TimeSpan.FromHours(8), null, [new ChildConfigInfo("net1", TimeSpan.FromMinutes(320), ["10.1.0.0/24"], ["10.2.0.0/24"])]) };
        _harness.Time.Advance(TimeSpan.FromSeconds(5));
        _harness.Collect(Sas.Snapshot(_harness.Time.GetUtcNow(), Sas.Ike("1", Sas.Child("1", dhGroup: "ECP_256"), Sas.Child("2", "10.3.0.0/24", "10.4.0.0/24"))) with { Connections = connections });

        var facts = _harness.Tracker.FactsFor("t1");
        Assert.Equal((true, "ECP_256", TimeSpan.FromHours(8), TimeSpan.FromMinutes(320)), (facts.RekeyedChildSaHasDhGroup, facts.DhGroup, facts.IkeRekeyInterval, facts.ChildRekeyInterval));

        CollectWithChanges(
            [new ChildSaChange(_harness.Time.GetUtcNow(), "site", SaChangeKind.Rekeyed, Sas.Child("2", "10.3.0.0/24", "10.4.0.0/24"), Sas.Child("3", "10.3.0.0/24", "10.4.0.0/24", installedAgo: 0))],
            Sas.Ike("1", Sas.Child("1", dhGroup: "ECP_256"), Sas.Child("3", "10.3.0.0/24", "10.4.0.0/24", installedAgo: 1)));

        Assert.False(_harness.Tracker.FactsFor("t1").RekeyedChildSaHasDhGroup);
    }

    [Fact]
    public void Unknown_and_never_collected_tunnels_have_no_observation()
    {
        Assert.Null(_harness.Tracker.Get("t1"));
        Assert.Null(_harness.Tracker.Get("nope"));
    }

    [Fact]
    public void A_reload_keeps_counters_of_pairs_that_stay_and_drops_series_of_removed_pairs_and_tunnels()
    {
        _harness.Reload(Config + """

              - name: t2
                connection: other
                remote_gateway: 198.51.100.3
                network_pairs:
                  - { local: 10.5.0.0/24, remote: 10.6.0.0/24 }
            """);
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 100), Sas.Child("2", "10.3.0.0/24", "10.4.0.0/24", bytesIn: 7)));
        Assert.Equal(0, Value(_harness.Tracker, MetricFamilies.ChildSas, "t2", "10.5.0.0/24", "10.6.0.0/24"));

        _harness.Reload(Config.Replace("      - { local: 10.3.0.0/24, remote: 10.4.0.0/24 }", "      - { local: 10.7.0.0/24, remote: 10.8.0.0/24 }", StringComparison.Ordinal));
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 130), Sas.Child("2", "10.3.0.0/24", "10.4.0.0/24", bytesIn: 9)));

        Assert.Equal(130, ReceivedBytes(Net1));
        Assert.Null(Value(_harness.Tracker, MetricFamilies.ChildSaReceivedBytes, Net3));
        Assert.Equal(0, ReceivedBytes(["t1", "10.7.0.0/24", "10.8.0.0/24"]));
        Assert.Equal(2, ReceivedBytes(Unmatched));
        Assert.DoesNotContain(MetricsText.LabelValues(MetricsText.Render(_harness.Tracker), MetricFamilies.ChildSas), l => l[0] == "t2");
        Assert.DoesNotContain(MetricsText.LabelValues(MetricsText.Render(_harness.Tracker), MetricFamilies.IkeSas), l => l[0] == "t2");
        Assert.Null(_harness.Tracker.Get("t2"));
    }

    [Fact]
    public void Renaming_a_source_on_reload_does_not_count_its_SAs_again()
    {
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 100)));

        _harness.Reload(Config.Replace("{ name: gw, type: scripted }", "{ name: gw-renamed, type: scripted }", StringComparison.Ordinal));
        // What SourceCollector tells observers about a source name that left the configuration.
        _harness.Tracker.OnRemoved("gw");
        _harness.Time.Advance(TimeSpan.FromSeconds(5));
        _harness.Collect(Sas.Snapshot(_harness.Time.GetUtcNow(), Sas.Ike("1", Sas.Child("1", bytesIn: 130))), "gw-renamed");

        Assert.Equal(130, ReceivedBytes(Net1));
    }

    [Fact]
    public void Respelling_a_vici_uri_on_reload_does_not_count_its_SAs_again()
    {
        using var directory = new TempDirectory();
        var real = Directory.CreateDirectory(Path.Combine(directory.Path, "run")).FullName;
        var linked = Path.Combine(directory.Path, "var-run");
        Directory.CreateSymbolicLink(linked, real);
        using var harness = new TrackerHarness(Config.Replace("type: scripted", $"type: vici, uri: \"unix://{real}/charon.vici\"", StringComparison.Ordinal));
        harness.Collect(Sas.Snapshot(harness.Time.GetUtcNow(), Sas.Ike("1", Sas.Child("1", bytesIn: 100))));

        // Another name, a symlinked directory and a doubled slash: still the same charon.
        harness.Reload(Config.Replace("{ name: gw, type: scripted }", $"{{ name: gw2, type: vici, uri: \"unix://{linked}//charon.vici\" }}", StringComparison.Ordinal));
        harness.Tracker.OnRemoved("gw");
        harness.Time.Advance(TimeSpan.FromSeconds(5));
        harness.Collect(Sas.Snapshot(harness.Time.GetUtcNow(), Sas.Ike("1", Sas.Child("1", bytesIn: 130))), "gw2");

        Assert.Equal(130, MetricsText.Value(harness.Tracker, MetricFamilies.ChildSaReceivedBytes, Net1));
    }

    [Theory]
    [InlineData(TunnelTracker.ForgetAfterCollections + 2)]
    [InlineData(TunnelTracker.ForgetAfterCollections + TunnelTracker.RetainForgottenCollections - 1)]
    public void An_SA_absent_from_several_polls_is_not_counted_again_when_it_comes_back(int absentPolls)
    {
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 1000, bytesOut: 1000)));
        for (var i = 0; i < absentPolls; i++)
        {
            // The listing skipped it (a busy IKE SA under noblock); its counters ran on meanwhile.
            Collect(Sas.Ike("1"));
        }

        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 1200, bytesOut: 1100)));

        Assert.Equal(1200, ReceivedBytes(Net1));
        Assert.Equal(1100, SentBytes(Net1));
        Assert.Equal(0, Value(_harness.Tracker, MetricFamilies.ChildSaRekeys, Net1));
    }

    [Fact]
    public void An_SA_that_comes_back_with_counters_below_its_marks_counts_from_zero()
    {
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 1000, bytesOut: 1000)));
        for (var i = 0; i < TunnelTracker.ForgetAfterCollections + 1; i++)
        {
            Collect(Sas.Ike("1"));
        }

        // Same key, counters started again (a source that breaks the key rule): new traffic, not nothing.
        Collect(Sas.Ike("1", Sas.Child("1", bytesIn: 50, bytesOut: 40)));

        Assert.Equal(1050, ReceivedBytes(Net1));
        Assert.Equal(1040, SentBytes(Net1));
    }

    [Theory]
    [InlineData(true, 0.0)]
    [InlineData(false, null)]
    public void A_rekey_without_a_DH_group_disproves_PFS_only_for_a_source_that_reports_DH_groups(bool dhGroupsReported, double? pfs)
    {
        foreach (var child in new[] { Sas.Child("1", bytesIn: 100, installedAgo: 100), Sas.Child("2", bytesIn: 10, installedAgo: 1) })
        {
            _harness.Time.Advance(TimeSpan.FromSeconds(5));
            _harness.Collect(Sas.Snapshot(_harness.Time.GetUtcNow(), Sas.Ike("1", child)) with { DhGroupsReported = dhGroupsReported });
        }

        Assert.Equal(1, Value(_harness.Tracker, MetricFamilies.ChildSaRekeys, Net1));
        Assert.Equal(pfs, Value(_harness.Tracker, MetricFamilies.ChildSaPfs, Net1));
    }

    private double ReceivedBytes(string[] labels) => Value(_harness.Tracker, MetricFamilies.ChildSaReceivedBytes, labels) ?? double.NaN;

    private double SentBytes(string[] labels) => Value(_harness.Tracker, MetricFamilies.ChildSaSentBytes, labels) ?? double.NaN;

    private static double? Value(IMetricsContributor owner, MetricFamily family, params string[] labels) => MetricsText.Value(owner, family, labels);

    private ChildSaChange Rekeyed(ChildSa old, ChildSa replacement) => new(_harness.Time.GetUtcNow(), "site", SaChangeKind.Rekeyed, old, replacement);

    private ChildSaChange Deleted(ChildSa old) => new(_harness.Time.GetUtcNow(), "site", SaChangeKind.Deleted, old, null);

    private void Collect(params IkeSa[] ikes) => CollectWithChanges([], [], ikes);

    /// <summary>A collection from a charon started at <paramref name="daemonStarted"/>, its run told as the VICI source tells it.</summary>
    private void Collect(IkeSa ike, DateTimeOffset daemonStarted)
    {
        _harness.Time.Advance(TimeSpan.FromSeconds(5));
        var stats = new ViciSection().AddSection("uptime", new ViciSection().Add("since", daemonStarted.ToLocalTime().ToString("MMM dd HH:mm:ss yyyy", CultureInfo.InvariantCulture)));
        _epoch = ViciSaMapper.MapEpoch(new ViciSection().Add("daemon", "charon").Add("version", "5.9.8"), stats, _epoch);
        _harness.Collect(Sas.Snapshot(_harness.Time.GetUtcNow(), ike) with { Epoch = _epoch });
    }

    private void CollectWithChanges(ChildSaChange[] changes, params IkeSa[] ikes) => CollectWithChanges(changes, [], ikes);

    private void CollectWithChanges(ChildSaChange[] changes, IkeSaChange[] ikeChanges, params IkeSa[] ikes)
    {
        _harness.Time.Advance(TimeSpan.FromSeconds(5));
        _harness.Collect(Sas.Snapshot(_harness.Time.GetUtcNow(), ikes) with { ChildSaChanges = changes, IkeSaChanges = ikeChanges });
    }
}

using System.Net;
using IpsecExporter.Diagnosis;
using IpsecExporter.Diagnosis.BestPractices;
using IpsecExporter.Tests.Support;
using IpsecExporter.Tunnels;

namespace IpsecExporter.Tests.Diagnosis;

/// <summary>Each verdict and each first failing step, from histories shaped like what the collectors record.</summary>
public sealed class DiagnoserTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    private static readonly DiagnosisOptions Options = DiagnosisOptions.Default;

    [Fact]
    public void Traffic_both_ways_and_answering_targets_is_healthy()
    {
        var diagnosis = Diagnose(Healthy(0), Healthy(120));

        Assert.Equal(Verdict.Healthy, diagnosis.Verdict);
        Assert.Null(diagnosis.FirstFailingCheck);
        Assert.All(diagnosis.Checks, c => Assert.Equal(CheckState.Pass, c.State));
        Assert.Equal("Phase 1 and one CHILD SA per pair up, traffic grows in both directions", diagnosis.Reason);
    }

    [Fact]
    public void Phase1_up_with_no_traffic_is_not_healthy()
    {
        var idle = Healthy(0) with { Inside = [] };
        var later = Healthy(0) with { At = T0.AddSeconds(120), Inside = [] };

        var diagnosis = Diagnose(idle, later);

        Assert.Equal(Verdict.Degraded, diagnosis.Verdict);
        Assert.Equal(Checks.TrafficBothDirections, diagnosis.FirstFailingCheck);
        Assert.Contains("no traffic either way over 2m", diagnosis.Reason, StringComparison.Ordinal);
        Assert.Contains("configure inside probes", diagnosis.Check(Checks.TrafficBothDirections).Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void A_single_sample_is_not_enough_to_call_a_tunnel_healthy()
    {
        var diagnosis = Diagnose(Healthy(0));

        Assert.Equal(Verdict.Unknown, diagnosis.Verdict);
        Assert.Equal(CheckState.Unknown, diagnosis.Check(Checks.TrafficBothDirections).State);
    }

    [Fact]
    public void Sent_growing_while_received_is_flat_is_desynchronized()
    {
        // What a real desynchronization looks like: inside pings leave, nothing comes back.
        var before = Healthy(0);
        var after = Healthy(120) with { Pairs = [Pair(1, sent: 1120, received: 1000)], Inside = [Inside(1120, 1000)] };

        var diagnosis = Diagnose(before, after);

        Assert.Equal(Verdict.Desynchronized, diagnosis.Verdict);
        Assert.Equal(Checks.TrafficBothDirections, diagnosis.FirstFailingCheck);
        Assert.Equal(CheckState.Fail, diagnosis.Check(Checks.InsideReachable).State);
        Assert.Equal("one-way traffic: 10.1.0.0/24 <-> 10.2.0.0/24: sent +120, received +0 packets over 2m (nothing comes back)", diagnosis.Reason);
    }

    [Fact]
    public void Received_growing_while_sent_is_flat_is_desynchronized()
    {
        var after = Healthy(120) with { Pairs = [Pair(1, sent: 1000, received: 1120)] };

        var diagnosis = Diagnose(Healthy(0), after);

        Assert.Equal(Verdict.Desynchronized, diagnosis.Verdict);
        Assert.Contains("nothing goes out", diagnosis.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_child_sas_during_a_rekey_overlap_are_not_desynchronized()
    {
        var history = new[] { Healthy(0), Healthy(100) with { Pairs = [Pair(2, 1100, 1100)] }, Healthy(120) with { Pairs = [Pair(2, 1120, 1120)] } };

        var diagnosis = Diagnose(history);

        Assert.Equal(Verdict.Healthy, diagnosis.Verdict);
        Assert.Contains("2 CHILD SAs for 20s (rekey overlap)", diagnosis.Check(Checks.Phase2SingleSa).Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_child_sas_beyond_the_rekey_overlap_are_desynchronized()
    {
        var history = new[] { Healthy(0), Healthy(60) with { Pairs = [Pair(2, 1060, 1060)] }, Healthy(90) with { Pairs = [Pair(2, 1090, 1090)] } };

        var diagnosis = Diagnose(history);

        Assert.Equal(Verdict.Desynchronized, diagnosis.Verdict);
        Assert.Equal(Checks.Phase2SingleSa, diagnosis.FirstFailingCheck);
        Assert.Equal("duplicate SPI associations: 10.1.0.0/24 <-> 10.2.0.0/24: 2 CHILD SAs for 30s (a rekey overlap lasts under 30s)", diagnosis.Reason);
    }

    [Fact]
    public void Phase1_down_is_down()
    {
        var after = Healthy(120) with { Ike = Observations.Ike(established: false, saCount: 0), Pairs = [Pair(0, 1000, 1000)], Inside = [Inside(1120, 1000)] };

        var diagnosis = Diagnose(Healthy(0), after);

        Assert.Equal(Verdict.Down, diagnosis.Verdict);
        Assert.Equal(Checks.Phase1, diagnosis.FirstFailingCheck);
        Assert.Equal("Phase 1 down: no ESTABLISHED IKE SA for the connection", diagnosis.Reason);
    }

    [Fact]
    public void Phase1_up_without_any_child_sa_is_down()
    {
        var after = Healthy(120) with { Pairs = [Pair(0, 1000, 1000)], Inside = [Inside(1120, 1000)] };

        var diagnosis = Diagnose(Healthy(0), after);

        Assert.Equal(Verdict.Down, diagnosis.Verdict);
        Assert.Equal(Checks.Phase2SingleSa, diagnosis.FirstFailingCheck);
        Assert.Contains("Phase 2 missing", diagnosis.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void One_missing_pair_of_two_is_degraded()
    {
        var before = Healthy(0) with { Pairs = [Pair(1, 1000, 1000), Pair(1, 50, 50, "10.1.3.0/24", "10.2.4.0/24")] };
        var after = Healthy(120) with { Pairs = [Pair(1, 1120, 1120), Pair(0, 50, 50, "10.1.3.0/24", "10.2.4.0/24")] };

        var diagnosis = Diagnose(before, after);

        Assert.Equal(Verdict.Degraded, diagnosis.Verdict);
        Assert.Equal("phase2_single_sa: 10.1.3.0/24 <-> 10.2.4.0/24: no CHILD SA (Phase 2 missing)", diagnosis.Reason);
    }

    [Fact]
    public void Gateway_loss_above_the_threshold_is_degraded_and_total_loss_says_unreachable()
    {
        var lossy = Healthy(120) with { Gateway = new ProbeCounts(1120, 1096, TimeSpan.FromMilliseconds(12)) };
        var silent = Healthy(120) with { Gateway = new ProbeCounts(1120, 1000, null) };

        var degraded = Diagnose(Healthy(0), lossy);
        var unreachable = Diagnose(Healthy(0), silent);

        Assert.Equal((Verdict.Degraded, Checks.GatewayReachable), (degraded.Verdict, degraded.FirstFailingCheck));
        Assert.Equal("gateway_reachable: 20% loss (24 of 120 echo requests unanswered over 2m), last RTT 12 ms", degraded.Reason);
        Assert.Equal(Verdict.Degraded, unreachable.Verdict);
        Assert.StartsWith("unreachable: 100% loss", unreachable.Check(Checks.GatewayReachable).Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void Loss_at_the_threshold_passes()
    {
        var diagnosis = Diagnose(Healthy(0), Healthy(120) with { Gateway = new ProbeCounts(1120, 1114, null) });

        Assert.Equal(CheckState.Pass, diagnosis.Check(Checks.GatewayReachable).State);
    }

    [Fact]
    public void A_changed_public_ip_fails_the_internet_step_first()
    {
        var moved = Healthy(120) with { Internet = new InternetSample(true, IPAddress.Parse("198.51.100.99"), false, null) };

        var diagnosis = Diagnose(Healthy(0), moved);

        Assert.Equal((Verdict.Degraded, Checks.Internet), (diagnosis.Verdict, diagnosis.FirstFailingCheck));
        Assert.Equal("internet: public IP is 198.51.100.99, not the expected address", diagnosis.Reason);
    }

    [Fact]
    public void No_local_connectivity_with_nothing_passing_is_down()
    {
        var offline = Healthy(120) with
        {
            Internet = new InternetSample(false, null, null, "no default route"),
            Pairs = [Pair(1, 1000, 1000)],
            Inside = [Inside(1120, 1000)],
        };

        var diagnosis = Diagnose(Healthy(0), offline);

        Assert.Equal((Verdict.Down, Checks.Internet), (diagnosis.Verdict, diagnosis.FirstFailingCheck));
        Assert.Equal("no local internet connectivity: no default route", diagnosis.Reason);
    }

    [Fact]
    public void No_default_route_while_the_tunnel_carries_traffic_is_degraded()
    {
        var offline = Healthy(120) with { Internet = new InternetSample(false, null, null, "no default route") };

        var diagnosis = Diagnose(Healthy(0), offline);

        Assert.Equal((Verdict.Degraded, Checks.Internet), (diagnosis.Verdict, diagnosis.FirstFailingCheck));
        Assert.Equal("internet: no default route", diagnosis.Reason);
    }

    [Fact]
    public void No_inside_target_answering_is_down_even_with_phase1_and_phase2_up()
    {
        var after = Healthy(120) with { Pairs = [Pair(1, 1000, 1000)], Inside = [Inside(1120, 1000), Inside(1120, 1000, "10.2.0.20")] };
        var before = Healthy(0) with { Inside = [Inside(1000, 1000), Inside(1000, 1000, "10.2.0.20")] };

        var diagnosis = Diagnose(before, after);

        Assert.Equal(Verdict.Down, diagnosis.Verdict);
        Assert.Equal("no inside target answers through the tunnel: 10.2.0.1: no reply to 120 echo requests; 10.2.0.20: no reply to 120 echo requests over 2m", diagnosis.Reason);
    }

    [Fact]
    public void One_answering_inside_target_of_two_passes_the_inside_step()
    {
        var before = Healthy(0) with { Inside = [Inside(1000, 1000), Inside(1000, 1000, "10.2.0.20")] };
        var after = Healthy(120) with { Inside = [Inside(1120, 1120), Inside(1120, 1000, "10.2.0.20")] };

        var diagnosis = Diagnose(before, after);

        Assert.Equal(Verdict.Healthy, diagnosis.Verdict);
        Assert.Contains("10.2.0.20: no reply to 120 echo requests", diagnosis.Check(Checks.InsideReachable).Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void A_violated_best_practice_is_degraded_with_its_reason()
    {
        var after = Healthy(120) with { BestPractices = [new BestPracticeResult(BestPractice.Pfs, false, "rekeyed CHILD SAs carry no DH group"), new BestPracticeResult(BestPractice.TimeSync, true, "offset 2 ms")] };

        var diagnosis = Diagnose(Healthy(0), after);

        Assert.Equal((Verdict.Degraded, Checks.BestPractices), (diagnosis.Verdict, diagnosis.FirstFailingCheck));
        Assert.Equal("best_practices: pfs: rekeyed CHILD SAs carry no DH group", diagnosis.Reason);
    }

    [Fact]
    public void A_source_down_is_unknown_unless_inside_targets_answer()
    {
        var down = Healthy(120) with { SourceUp = false, Inside = [Inside(1120, 1000)] };
        var answering = down with { Inside = [Inside(1120, 1120)] };

        Assert.Equal(Verdict.Unknown, Diagnose(Healthy(0), down).Verdict);
        Assert.Equal(Verdict.Degraded, Diagnose(Healthy(0), answering).Verdict);
        Assert.Equal(CheckState.Unknown, Diagnose(Healthy(0), down).Check(Checks.Phase1).State);
    }

    [Fact]
    public void Samples_older_than_the_window_are_not_the_baseline()
    {
        // Traffic stopped 5 minutes ago: growth before the window must not count.
        var history = new[] { Healthy(0), Healthy(300) with { Pairs = [Pair(1, 1300, 1300)] }, Healthy(420) with { Pairs = [Pair(1, 1300, 1300)], Inside = [] } };

        var diagnosis = Diagnose(history);

        Assert.Equal(CheckState.Fail, diagnosis.Check(Checks.TrafficBothDirections).State);
    }

    [Fact]
    public void No_history_is_unknown()
    {
        var diagnosis = Diagnoser.Diagnose("t", [], Options, T0);

        Assert.Equal(Verdict.Unknown, diagnosis.Verdict);
        Assert.Equal(Checks.InOrder, diagnosis.Checks.Select(c => c.Check));
    }

    [Fact]
    public void A_source_with_bytes_but_no_packet_counters_is_judged_on_bytes()
    {
        static PairObservation BytesOnly(ulong sent, ulong received) => Observations.Pair("10.1.0.0/24", "10.2.0.0/24", 1, sent, received, null, null);
        var before = Healthy(0) with { Pairs = [BytesOnly(5000, 7000)], Inside = [] };
        var both = Healthy(120) with { Pairs = [BytesOnly(9000, 9400)], Inside = [] };
        var oneWay = Healthy(120) with { Pairs = [BytesOnly(9000, 7000)], Inside = [] };

        var healthy = Diagnose(before, both);
        var desynchronized = Diagnose(before, oneWay);

        Assert.Equal(Verdict.Healthy, healthy.Verdict);
        Assert.Equal("10.1.0.0/24 <-> 10.2.0.0/24: sent +4000, received +2400 bytes", healthy.Check(Checks.TrafficBothDirections).Evidence);
        Assert.Equal(Verdict.Desynchronized, desynchronized.Verdict);
        Assert.Equal("one-way traffic: 10.1.0.0/24 <-> 10.2.0.0/24: sent +4000, received +0 bytes over 2m (nothing comes back)", desynchronized.Reason);
    }

    [Fact]
    public void A_source_with_packets_but_no_byte_counters_is_judged_on_packets()
    {
        static PairObservation PacketsOnly(ulong sent, ulong received) => Observations.Pair("10.1.0.0/24", "10.2.0.0/24", 1, null, null, sent, received);
        var before = Healthy(0) with { Pairs = [PacketsOnly(50, 70)], Inside = [] };
        var both = Healthy(120) with { Pairs = [PacketsOnly(90, 94)], Inside = [] };
        var oneWay = Healthy(120) with { Pairs = [PacketsOnly(50, 94)], Inside = [] };

        var healthy = Diagnose(before, both);
        var desynchronized = Diagnose(before, oneWay);

        Assert.Equal(Verdict.Healthy, healthy.Verdict);
        Assert.Equal("10.1.0.0/24 <-> 10.2.0.0/24: sent +40, received +24 packets", healthy.Check(Checks.TrafficBothDirections).Evidence);
        Assert.Equal(Verdict.Desynchronized, desynchronized.Verdict);
        Assert.Equal("one-way traffic: 10.1.0.0/24 <-> 10.2.0.0/24: sent +0, received +24 packets over 2m (nothing goes out)", desynchronized.Reason);
    }

    [Fact]
    public void A_source_counting_bytes_one_way_and_packets_the_other_is_judged_per_direction()
    {
        // Sent counted in bytes only, received in packets only.
        static PairObservation Mixed(ulong sentBytes, ulong receivedPackets) => Observations.Pair("10.1.0.0/24", "10.2.0.0/24", 1, sentBytes, null, null, receivedPackets);
        var before = Healthy(0) with { Pairs = [Mixed(5000, 70)], Inside = [] };
        var both = Healthy(120) with { Pairs = [Mixed(9000, 94)], Inside = [] };
        var nothingBack = Healthy(120) with { Pairs = [Mixed(9000, 70)], Inside = [] };

        var healthy = Diagnose(before, both);
        var desynchronized = Diagnose(before, nothingBack);

        Assert.Equal(Verdict.Healthy, healthy.Verdict);
        Assert.Equal("10.1.0.0/24 <-> 10.2.0.0/24: sent +4000 bytes, received +24 packets", healthy.Check(Checks.TrafficBothDirections).Evidence);
        Assert.Equal(Verdict.Desynchronized, desynchronized.Verdict);
        Assert.Equal("one-way traffic: 10.1.0.0/24 <-> 10.2.0.0/24: sent +4000 bytes, received +0 packets over 2m (nothing comes back)", desynchronized.Reason);
    }

    [Fact]
    public void A_direction_the_source_does_not_count_is_never_judged_idle()
    {
        // Sent bytes only: the received direction is unknown, so neither "one-way" nor "idle" can be said of the pair.
        static PairObservation SentOnly(ulong sentBytes) => Observations.Pair("10.1.0.0/24", "10.2.0.0/24", 1, sentBytes, null, null, null);
        var before = Healthy(0) with { Pairs = [SentOnly(5000)], Inside = [] };
        var after = Healthy(120) with { Pairs = [SentOnly(9000)], Inside = [] };
        var judgedPair = Healthy(120) with { Pairs = [SentOnly(9000), Pair(1, 1120, 1120, "10.1.1.0/24", "10.2.1.0/24")], Inside = [] };
        var judgedBefore = before with { Pairs = [SentOnly(5000), Pair(1, 1000, 1000, "10.1.1.0/24", "10.2.1.0/24")] };

        var alone = Diagnose(before, after).Check(Checks.TrafficBothDirections);
        var beside = Diagnose(judgedBefore, judgedPair).Check(Checks.TrafficBothDirections);

        Assert.Equal(CheckState.Unknown, alone.State);
        Assert.Equal("10.1.0.0/24 <-> 10.2.0.0/24: the source reports no received counters", alone.Evidence);
        Assert.Equal(CheckState.Pass, beside.State);
        Assert.Equal("10.1.0.0/24 <-> 10.2.0.0/24: the source reports no received counters; 10.1.1.0/24 <-> 10.2.1.0/24: sent +120, received +120 packets", beside.Evidence);
    }

    /// <summary>
    /// Two pairs, two CHILD SAs: the only target of the second pair stops answering while the first pair's target
    /// answers. The first pair's answer proves nothing about the second: the inside step fails for that pair (never "the
    /// tunnel works"), and with its pings as its only traffic the pair sends and receives nothing: desynchronized.
    /// </summary>
    [Fact]
    public void A_silent_pair_is_not_excused_by_another_pair_answering()
    {
        var before = Healthy(0) with
        {
            Pairs = [Pair(1, 1000, 1000), Pair(1, 1000, 1000, "10.1.1.0/24", "10.2.1.0/24")],
            Inside = [Inside(1000, 1000), Inside(1000, 1000, "10.2.1.1")],
        };
        var after = Healthy(120) with
        {
            Pairs = [Pair(1, 1120, 1120), Pair(1, 1120, 1000, "10.1.1.0/24", "10.2.1.0/24")],
            Inside = [Inside(1120, 1120), Inside(1120, 1000, "10.2.1.1")],
        };

        var diagnosis = Diagnose(before, after);

        Assert.Equal(Verdict.Desynchronized, diagnosis.Verdict);
        var inside = diagnosis.Check(Checks.InsideReachable);
        Assert.Equal(CheckState.Fail, inside.State);
        Assert.Equal(
            "10.1.0.0/24 <-> 10.2.0.0/24: 10.2.0.1: 120/120 replies, RTT 480 µs; 10.1.1.0/24 <-> 10.2.1.0/24: 10.2.1.1: no reply to 120 echo requests (the pair's only inside target: add a second one to tell a host fault from a desynchronized SA) over 2m",
            inside.Evidence);
    }

    /// <summary>A pair's counters grow both ways (other traffic) but none of its inside targets answers: degraded, not down.</summary>
    [Fact]
    public void A_pair_whose_targets_are_silent_while_another_answers_is_degraded_not_down()
    {
        var pairs = (ulong n) => (PairObservation[])[Pair(1, n, n), Pair(1, n, n, "10.1.1.0/24", "10.2.1.0/24")];
        var before = Healthy(0) with { Pairs = pairs(1000), Inside = [Inside(1000, 1000), Inside(1000, 1000, "10.2.1.1"), Inside(1000, 1000, "10.2.1.2")] };
        var after = Healthy(120) with { Pairs = pairs(1120), Inside = [Inside(1120, 1120), Inside(1120, 1000, "10.2.1.1"), Inside(1120, 1000, "10.2.1.2")] };

        var diagnosis = Diagnose(before, after);

        Assert.Equal((Verdict.Degraded, Checks.InsideReachable), (diagnosis.Verdict, diagnosis.FirstFailingCheck));
        Assert.Contains("10.1.1.0/24 <-> 10.2.1.0/24: 10.2.1.1: no reply to 120 echo requests; 10.2.1.2: no reply to 120 echo requests", diagnosis.Reason, StringComparison.Ordinal);
    }

    /// <summary>One target of a pair silent, another of the same pair answering: that host's problem, the pair works.</summary>
    [Fact]
    public void A_silent_target_beside_an_answering_one_of_its_pair_is_that_hosts_problem()
    {
        var before = Healthy(0) with { Inside = [Inside(1000, 1000), Inside(1000, 1000, "10.2.0.20")] };
        var after = Healthy(120) with { Inside = [Inside(1120, 1120), Inside(1120, 1000, "10.2.0.20")] };

        var inside = Diagnose(before, after).Check(Checks.InsideReachable);

        Assert.Equal(CheckState.Pass, inside.State);
        Assert.Contains("10.2.0.20: no reply to 120 echo requests (another target of its pair answers: a problem of that host)", inside.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void Results_judged_from_the_same_inputs_are_kept_and_judged_again_when_the_inputs_change()
    {
        // Each latest sample shares what did not change with the one before, as the service's do.
        var latest = Healthy(120);
        var first = Diagnoser.Diagnose("hq-branch-b", [Healthy(0), latest], Options, T0.AddSeconds(120));

        // The next round, the same growth over the same span: every result kept (but the inside targets', judged
        // again every round), the verdict's words the same.
        latest = TunnelSample.SharingWith(Healthy(125), latest);
        var steady = Diagnoser.Diagnose("hq-branch-b", [Healthy(5), latest], Options, T0.AddSeconds(125), first);
        Assert.Equal(first.Checks.Count, steady.Checks.Count);
        Assert.All(first.Checks.Zip(steady.Checks).Where(c => c.First.Check != Checks.InsideReachable), c => Assert.Same(c.First, c.Second));
        Assert.Equal(first.Reason, steady.Reason);
        Assert.Equal(T0.AddSeconds(125), steady.At);

        // Nothing comes back, and the gateway stops answering: those results are judged again, the others kept.
        latest = TunnelSample.SharingWith(
            Healthy(130) with
            {
                Pairs = [Pair(1, sent: 1130, received: 1010)],
                Gateway = new ProbeCounts(1130, 1010, TimeSpan.FromMicroseconds(250)),
            },
            latest);
        var changed = Diagnoser.Diagnose("hq-branch-b", [Healthy(10), latest], Options, T0.AddSeconds(130), steady);
        Assert.Equal(Verdict.Desynchronized, changed.Verdict);
        Assert.Equal("one-way traffic: 10.1.0.0/24 <-> 10.2.0.0/24: sent +120, received +0 packets over 2m (nothing comes back)", changed.Reason);
        Assert.Equal(CheckState.Fail, changed.Check(Checks.GatewayReachable).State);
        Assert.StartsWith("unreachable: 100% loss (120 of 120 echo requests", changed.Check(Checks.GatewayReachable).Evidence, StringComparison.Ordinal);
        Assert.NotSame(steady.Check(Checks.TrafficBothDirections), changed.Check(Checks.TrafficBothDirections));
        Assert.Same(steady.Check(Checks.Phase2SingleSa), changed.Check(Checks.Phase2SingleSa));
        Assert.Same(steady.Check(Checks.BestPractices), changed.Check(Checks.BestPractices));

        // And back: the words are those of the healthy tunnel again, not the kept ones of the one-way round.
        latest = TunnelSample.SharingWith(Healthy(135), latest);
        var back = Diagnoser.Diagnose("hq-branch-b", [Healthy(15), latest], Options, T0.AddSeconds(135), changed);
        Assert.Equal(Verdict.Healthy, back.Verdict);
        Assert.Equal(first.Check(Checks.TrafficBothDirections).Evidence, back.Check(Checks.TrafficBothDirections).Evidence);
        Assert.Equal(first.Check(Checks.GatewayReachable).Evidence, back.Check(Checks.GatewayReachable).Evidence);
    }

    private static TunnelDiagnosis Diagnose(params TunnelSample[] history)
    {
        var diagnosis = Diagnoser.Diagnose("hq-branch-b", history, Options, history[^1].At);
        // The service keeps a tunnel's history in a SampleWindow: the same samples must give the same diagnosis there.
        var window = new SampleWindow();
        foreach (var sample in history)
        {
            window.Add(sample);
        }

        Assert.Equal(Words(diagnosis), Words(Diagnoser.Diagnose("hq-branch-b", window, Options, history[^1].At)));

        // The service hands over the diagnosis of the round before: whatever it kept, the words are the same.
        if (history.Length > 1)
        {
            var before = Diagnoser.Diagnose("hq-branch-b", history[..^1], Options, history[^2].At);
            Assert.Equal(Words(diagnosis), Words(Diagnoser.Diagnose("hq-branch-b", history, Options, history[^1].At, before)));
        }

        Assert.Equal(Words(diagnosis), Words(Diagnoser.Diagnose("hq-branch-b", window, Options, history[^1].At, diagnosis)));
        return diagnosis;

        static string Words(TunnelDiagnosis d) =>
            $"{d.Verdict} {d.FirstFailingCheck} {d.Reason} | {string.Join(" | ", d.Checks.Select(c => $"{c.Check} {c.State} {c.Evidence}"))}";
    }

    /// <summary>A healthy tunnel at <paramref name="seconds"/>: one probe and one packet each way per second.</summary>
    private static TunnelSample Healthy(int seconds)
    {
        var n = (ulong)(1000 + seconds);
        return new TunnelSample(
            T0.AddSeconds(seconds),
            SourceUp: true,
            Ike: Observations.Ike(),
            Pairs: [Pair(1, n, n)],
            Gateway: new ProbeCounts(n, n, TimeSpan.FromMicroseconds(250)),
            Inside: [Inside(n, n)],
            Internet: new InternetSample(true, IPAddress.Parse("203.0.113.10"), true, null),
            BestPractices: [new BestPracticeResult(BestPractice.Pfs, true, "DH group ECP_256 on rekeyed CHILD SAs")]);
    }

    private static PairObservation Pair(int childSas, ulong sent, ulong received, string local = "10.1.0.0/24", string remote = "10.2.0.0/24") =>
        Observations.Pair(local, remote, childSas, sent * 100, received * 100, sent, received);

    private static InsideSample Inside(ulong requests, ulong responses, string target = "10.2.0.1") =>
        new(IPAddress.Parse(target), new ProbeCounts(requests, responses, TimeSpan.FromMicroseconds(480)));
}

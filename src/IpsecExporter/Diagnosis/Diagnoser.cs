using System.Net;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using IpsecExporter.Diagnosis.BestPractices;
using IpsecExporter.Tunnels;

namespace IpsecExporter.Diagnosis;

/// <summary>Thresholds of the diagnosis; defaults in <see cref="Default"/>, documented in docs/DIAGNOSIS.md.</summary>
public sealed record DiagnosisOptions(TimeSpan Window, TimeSpan RekeyOverlap, double GatewayLossThreshold)
{
    public static readonly DiagnosisOptions Default = new(TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(30), 0.05);
}

/// <summary>
/// Walks the article's troubleshooting steps over a tunnel's recent samples and concludes what an engineer would.
/// A pure function of its inputs: the same history always gives the same diagnosis. Phase 1 alone never makes a tunnel
/// healthy: the tunnel must be seen passing traffic (counters growing both ways, or an inside address answering).
/// </summary>
public static class Diagnoser
{
    /// <summary>What every check says before the first sample.</summary>
    private static readonly IReadOnlyList<CheckResult> NoObservations =
        [.. Checks.InOrder.Select(c => new CheckResult(c, CheckState.Unknown, "no observations yet"))];

    /// <param name="history">Samples of this tunnel, oldest first, covering at least the window where available.</param>
    /// <param name="previous">
    /// The tunnel's diagnosis of the round before: its results are kept where they were judged from the same inputs, so
    /// that a round in which nothing changed makes (almost) nothing new. The diagnosis is the same with or without it.
    /// </param>
    public static TunnelDiagnosis Diagnose(string tunnel, IReadOnlyList<TunnelSample> history, DiagnosisOptions options, DateTimeOffset now, TunnelDiagnosis? previous = null)
    {
        if (history.Count == 0)
        {
            return new TunnelDiagnosis(tunnel, now, Verdict.Unknown, static () => "no observations yet", null, NoObservations);
        }

        var latest = history[^1];
        var baseline = Counters(history, options.Window);
        var span = latest.At - baseline.At;
        var before = previous?.Checks is { } previousChecks && previousChecks.Count == Checks.InOrder.Count && previous.Tunnel == tunnel ? previousChecks : null;

        var internet = CheckInternet(latest.Internet);
        var gateway = CheckGateway(baseline.Gateway, latest.Gateway, span, options, before?[1]);
        var phase1 = CheckPhase1(latest);
        var (phase2, duplicates, allPairsMissing) = CheckPhase2(history, latest, options, before?[3]);
        var (traffic, oneWayPairs) = CheckTraffic(baseline, latest, span, before?[4]);
        var (inside, noInsideAnswers) = CheckInside(baseline, latest, span);
        var practices = CheckBestPractices(latest.BestPractices);
        var conclusion = (latest.SourceUp, latest.Internet.Connected);
        if (before is not null && previous!.Conclusion == conclusion
            && ReferenceEquals(internet, before[0]) && ReferenceEquals(gateway, before[1]) && ReferenceEquals(phase1, before[2])
            && ReferenceEquals(phase2, before[3]) && ReferenceEquals(traffic, before[4]) && ReferenceEquals(inside, before[5])
            && ReferenceEquals(practices, before[6]))
        {
            // The same results, each judged from the same inputs as before (the flags beside them too): the same verdict.
            return new TunnelDiagnosis(previous, now);
        }

        CheckResult[] checks = [internet, gateway, phase1, phase2, traffic, inside, practices];
        var firstFailing = Array.Find(checks, c => c.State == CheckState.Fail)?.Check;
        var (verdict, reason) = Conclude(latest, internet, phase1, phase2, duplicates, allPairsMissing, traffic, oneWayPairs, inside, noInsideAnswers, checks);
        return new TunnelDiagnosis(tunnel, now, verdict, reason, firstFailing, checks) { Conclusion = conclusion };
    }

    /// <summary>The sample the window's growth is measured from: the oldest in the window that is comparable to the latest.</summary>
    public static TunnelSample Baseline(IReadOnlyList<TunnelSample> history, TimeSpan window)
    {
        var latest = history[^1];
        var windowStart = latest.At - window;
        // Counters are only comparable between samples in which the source answered. A window makes again only the
        // sample it returns (not the one it keeps from before the window's start).
        if (history is SampleWindow samples)
        {
            return samples.Oldest(windowStart, needSourceUp: latest.SourceUp) ?? latest;
        }

        return history.FirstOrDefault(s => s.At >= windowStart && (s.SourceUp || !latest.SourceUp)) ?? latest;
    }

    /// <summary>The counters of <see cref="Baseline"/>: all a round needs of it, read from a window without making the sample again.</summary>
    private static BaselineCounters Counters(IReadOnlyList<TunnelSample> history, TimeSpan window)
    {
        var latest = history[^1];
        return history is SampleWindow samples
            ? samples.OldestCounters(latest.At - window, needSourceUp: latest.SourceUp) ?? new BaselineCounters(latest)
            : new BaselineCounters(Baseline(history, window));
    }

    private static (Verdict, Func<string>) Conclude(
        TunnelSample latest,
        CheckResult internet,
        CheckResult phase1,
        CheckResult phase2,
        bool duplicates,
        bool allPairsMissing,
        CheckResult traffic,
        LazyText? oneWayPairs,
        CheckResult inside,
        bool noInsideAnswers,
        CheckResult[] checks)
    {
        var passesTraffic = traffic.State == CheckState.Pass || inside.State == CheckState.Pass;
        if (!latest.SourceUp)
        {
            return inside.State == CheckState.Pass
                ? (Verdict.Degraded, () => $"SA state unknown (source down), but inside targets answer: {inside.Evidence}")
                : (Verdict.Unknown, () => "the source is down: Phase 1/Phase 2 state and counters are unknown");
        }

        if (phase1.State == CheckState.Fail)
        {
            return (Verdict.Down, () => $"Phase 1 down: {phase1.Evidence}");
        }

        if (allPairsMissing)
        {
            return (Verdict.Down, () => $"Phase 1 up but no Phase 2: {phase2.Evidence}");
        }

        if (duplicates)
        {
            return (Verdict.Desynchronized, () => $"duplicate SPI associations: {phase2.Evidence}");
        }

        if (oneWayPairs is not null)
        {
            return (Verdict.Desynchronized, () => $"one-way traffic: {oneWayPairs.Value}");
        }

        // Without connectivity nothing can pass, unless the tunnel is seen carrying traffic (a gateway may well reach
        // its peer without a default route).
        if (latest.Internet.Connected == false && !passesTraffic)
        {
            return (Verdict.Down, () => $"no local internet connectivity: {internet.Evidence}");
        }

        if (noInsideAnswers && traffic.State != CheckState.Pass)
        {
            return (Verdict.Down, () => $"no inside target answers through the tunnel: {inside.Evidence}");
        }

        var failing = Array.Find(checks, c => c.State == CheckState.Fail);
        if (failing is not null)
        {
            return (Verdict.Degraded, () => $"{failing.Check}: {failing.Evidence}");
        }

        if (phase1.State == CheckState.Pass && phase2.State == CheckState.Pass && passesTraffic)
        {
            var how = traffic.State == CheckState.Pass ? "traffic grows in both directions" : "inside targets answer";
            return (Verdict.Healthy, () => $"Phase 1 and one CHILD SA per pair up, {how}");
        }

        return (Verdict.Unknown, () => "collecting evidence: traffic has not been observed over a full window yet");
    }

    /// <summary>The sampler hands every tunnel the same internet sample until the site check changes: judged once per sample.</summary>
    private static readonly ConditionalWeakTable<InternetSample, CheckResult> InternetChecks = new();

    private static CheckResult CheckInternet(InternetSample internet) => InternetChecks.GetValue(internet, JudgeInternet);

    private static CheckResult JudgeInternet(InternetSample internet)
    {
        if (internet.Connected == false)
        {
            return new(Checks.Internet, CheckState.Fail, internet.Detail ?? "no operational interface with a default route");
        }

        if (internet.PublicIpMatchesExpected == false)
        {
            return new(Checks.Internet, CheckState.Fail, $"public IP is {internet.PublicIp?.ToString() ?? "unknown"}, not the expected address; {internet.Detail}".TrimEnd(' ', ';'));
        }

        if (internet.Connected is null && internet.PublicIp is null)
        {
            return new(Checks.Internet, CheckState.Unknown, internet.Detail ?? "not checked");
        }

        var text = new StringBuilder(internet.Connected == true ? "interface up with a default route" : "connectivity not checked");
        if (internet.PublicIp is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"; public IP {internet.PublicIp}{(internet.PublicIpMatchesExpected == true ? " as expected" : "")}");
        }

        return new(Checks.Internet, CheckState.Pass, text.ToString());
    }

    private static readonly CheckResult NoGatewayProbes = new(Checks.GatewayReachable, CheckState.Unknown, "no gateway probes");
    private static readonly CheckResult NoEchoRequests = new(Checks.GatewayReachable, CheckState.Unknown, "no echo requests sent yet");

    /// <summary>What the gateway check's words are made of: the same inputs, the same words.</summary>
    private readonly record struct GatewayInputs(ulong Requests, ulong Responses, long SpanSeconds, TimeSpan? LastRtt);

    private static CheckResult CheckGateway((ulong Requests, ulong Responses)? first, ProbeCounts? last, TimeSpan span, DiagnosisOptions options, CheckResult? before)
    {
        if (last is null)
        {
            return NoGatewayProbes;
        }

        var (requests, responses) = CounterGrowth.Since(last, first?.Requests, first?.Responses);
        if (requests == 0)
        {
            return NoEchoRequests;
        }

        var loss = (double)(requests - responses) / requests;
        var state = responses == 0 || loss > options.GatewayLossThreshold ? CheckState.Fail : CheckState.Pass;
        var inputs = new GatewayInputs(requests, responses, SpanSeconds(span), last.LastRtt);
        return before is { Inputs: GatewayInputs same } && same == inputs && before.State == state ? before : Gateway(state, inputs);

        // Apart: the closure is made only for a result that changed.
        static CheckResult Gateway(CheckState state, GatewayInputs inputs) => new(Checks.GatewayReachable, state, () => GatewayEvidence(inputs)) { Inputs = inputs };
    }

    private static string GatewayEvidence(GatewayInputs inputs)
    {
        var (requests, responses) = (inputs.Requests, inputs.Responses);
        var loss = (double)(requests - responses) / requests;
        var rtt = inputs.LastRtt is { } r ? $", last RTT {FormatRtt(r)}" : "";
        var text = string.Create(CultureInfo.InvariantCulture, $"{loss * 100:0.#}% loss ({requests - responses} of {requests} echo requests unanswered over {FormatSeconds(inputs.SpanSeconds)}){rtt}");
        return responses == 0 ? $"unreachable: {text}" : text;
    }

    private static readonly CheckResult Phase1Unknown = new(Checks.Phase1, CheckState.Unknown, "source down: IKE SA state unknown");
    private static readonly CheckResult Phase1Established = new(Checks.Phase1, CheckState.Pass, "IKE SA established");
    private static readonly CheckResult Phase1Down = new(Checks.Phase1, CheckState.Fail, "no ESTABLISHED IKE SA for the connection");

    private static CheckResult CheckPhase1(TunnelSample latest)
    {
        if (!latest.SourceUp || latest.IkeEstablished is null)
        {
            return Phase1Unknown;
        }

        return latest.IkeEstablished.Value
            ? latest.Ike!.SaCount == 1 ? Phase1Established : new(Checks.Phase1, CheckState.Pass, $"{latest.Ike.SaCount} IKE SAs established")
            : Phase1Down;
    }

    private static readonly CheckResult NoChildSaInformation = new(Checks.Phase2SingleSa, CheckState.Unknown, "no CHILD SA information");
    private static readonly CheckResult ChildSasUnknown = new(Checks.Phase2SingleSa, CheckState.Unknown, "source down: CHILD SA state unknown");

    /// <summary>What the Phase 2 check was judged from: the pairs of the latest sample and how long each has had more than one CHILD SA.</summary>
    private sealed record Phase2Inputs(JudgedPair[] Pairs, TimeSpan[] Durations, TimeSpan RekeyOverlap, bool Duplicates, bool AllMissing);

    /// <summary>
    /// Of one pair of the latest sample, what the Phase 2 and traffic checks judge and put in words: their results keep
    /// this, not the sample, whose observations would otherwise stay live for as long as a result is reused.
    /// </summary>
    private readonly record struct JudgedPair(string LocalTs, string RemoteTs, int InstalledChildSas)
    {
        public static JudgedPair[] Of(TunnelSample sample)
        {
            var pairs = new JudgedPair[sample.Pairs.Count];
            for (var i = 0; i < pairs.Length; i++)
            {
                var pair = sample.Pairs[i];
                pairs[i] = new(pair.LocalTs, pair.RemoteTs, pair.InstalledChildSas);
            }

            return pairs;
        }
    }

    private static (CheckResult Result, bool Duplicates, bool AllMissing) CheckPhase2(IReadOnlyList<TunnelSample> history, TunnelSample latest, DiagnosisOptions options, CheckResult? before)
    {
        if (!latest.SourceUp || latest.Pairs.Count == 0)
        {
            return (latest.SourceUp ? NoChildSaInformation : ChildSasUnknown, false, false);
        }

        if (before is { Inputs: Phase2Inputs same } && SamePhase2(same, history, latest, options))
        {
            return (before, same.Duplicates, same.AllMissing);
        }

        return JudgedPhase2(history, latest, options);
    }

    /// <summary>Apart from <see cref="CheckPhase2"/>: its closure is made (on entry) only for a result that changed.</summary>
    private static (CheckResult Result, bool Duplicates, bool AllMissing) JudgedPhase2(IReadOnlyList<TunnelSample> history, TunnelSample latest, DiagnosisOptions options)
    {
        // The durations now: the text may be made later, when the history (the service's list) has moved on.
        var durations = new TimeSpan[latest.Pairs.Count];
        for (var i = 0; i < durations.Length; i++)
        {
            durations[i] = Duration(history, latest, latest.Pairs[i]);
        }

        var pairs = JudgedPair.Of(latest);
        var (duplicates, missing, failing) = JudgePhase2(pairs, durations, options, null, null);
        var allMissing = pairs.Length > 0 && missing == pairs.Length;
        if (!failing)
        {
            (duplicates, allMissing) = (false, false);
        }

        var inputs = new Phase2Inputs(pairs, durations, options.RekeyOverlap, duplicates, allMissing);
        var evidence = () =>
        {
            var problems = new List<string>();
            var notes = new List<string>();
            JudgePhase2(pairs, durations, options, problems, notes);
            return string.Join("; ", failing ? problems : notes);
        };
        return (new(Checks.Phase2SingleSa, failing ? CheckState.Fail : CheckState.Pass, evidence) { Inputs = inputs }, duplicates, allMissing);
    }

    private static TimeSpan Duration(IReadOnlyList<TunnelSample> history, TunnelSample latest, PairObservation pair) =>
        pair.InstalledChildSas > 1 ? latest.At - DuplicateSince(history, pair) : TimeSpan.Zero;

    /// <summary>Whether the pairs of <paramref name="latest"/> would be judged (state and words) as those of <paramref name="before"/> were.</summary>
    private static bool SamePhase2(Phase2Inputs before, IReadOnlyList<TunnelSample> history, TunnelSample latest, DiagnosisOptions options)
    {
        var pairs = before.Pairs;
        if (before.RekeyOverlap != options.RekeyOverlap || pairs.Length != latest.Pairs.Count)
        {
            return false;
        }

        for (var i = 0; i < pairs.Length; i++)
        {
            var (was, now) = (pairs[i], latest.Pairs[i]);
            if (was.LocalTs != now.LocalTs || was.RemoteTs != now.RemoteTs || was.InstalledChildSas != now.InstalledChildSas
                || before.Durations[i] != Duration(history, latest, now))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>One pass over the pairs for the state, and for the words when <paramref name="problems"/> and <paramref name="notes"/> are given.</summary>
    private static (bool Duplicates, int Missing, bool Failing) JudgePhase2(
        JudgedPair[] pairs, TimeSpan[] durations, DiagnosisOptions options, List<string>? problems, List<string>? notes)
    {
        var duplicates = false;
        var failing = false;
        var missing = 0;
        for (var i = 0; i < pairs.Length; i++)
        {
            var pair = pairs[i];
            if (pair.InstalledChildSas == 0)
            {
                missing++;
                failing = true;
                problems?.Add($"{pair.LocalTs} <-> {pair.RemoteTs}: no CHILD SA (Phase 2 missing)");
            }
            else if (pair.InstalledChildSas > 1)
            {
                var duration = durations[i];
                if (duration >= options.RekeyOverlap)
                {
                    duplicates = true;
                    failing = true;
                    problems?.Add($"{pair.LocalTs} <-> {pair.RemoteTs}: {pair.InstalledChildSas} CHILD SAs for {Format(duration)} (a rekey overlap lasts under {Format(options.RekeyOverlap)})");
                }
                else
                {
                    notes?.Add($"{pair.LocalTs} <-> {pair.RemoteTs}: {pair.InstalledChildSas} CHILD SAs for {Format(duration)} (rekey overlap)");
                }
            }
            else
            {
                notes?.Add($"{pair.LocalTs} <-> {pair.RemoteTs}: 1 CHILD SA");
            }
        }

        return (duplicates, missing, failing);
    }

    /// <summary>When the pair's current run of more than one CHILD SA began (as far as the history reaches).</summary>
    private static DateTimeOffset DuplicateSince(IReadOnlyList<TunnelSample> history, PairObservation pair)
    {
        var since = history[^1].At;
        var key = pair.Key;
        for (var i = history.Count - 1; i >= 0; i--)
        {
            var sample = PairObservationKey.Find(history[i].Pairs, key);
            if (sample is null || sample.InstalledChildSas <= 1 || !history[i].SourceUp)
            {
                break;
            }

            since = history[i].At;
        }

        return since;
    }

    private static readonly CheckResult CountersUnknown = new(Checks.TrafficBothDirections, CheckState.Unknown, "source down: counters unknown");
    private static readonly CheckResult NeedSecondSample = new(Checks.TrafficBothDirections, CheckState.Unknown, "need a second sample to see counters grow");
    private static readonly CheckResult NoChildSaForTraffic = new(Checks.TrafficBothDirections, CheckState.Unknown, "no CHILD SA to carry traffic");

    /// <summary>What the traffic check was judged from: the latest sample's pairs, what each carried over the window (<see cref="Growths"/>), the window's span; and the one-way pairs in words (null when none).</summary>
    private sealed record TrafficInputs(JudgedPair[] Pairs, Growth[] Growths, TimeSpan Span, LazyText? OneWayPairs);

    /// <summary>What one pair carried each way since the baseline, as <see cref="JudgeTraffic"/> measures it.</summary>
    private readonly record struct Growth(TrafficGrowth? Sent, TrafficGrowth? Received);

    /// <returns>The check and the one-way pairs in words (null when none).</returns>
    private static (CheckResult Result, LazyText? OneWayPairs) CheckTraffic(BaselineCounters baseline, TunnelSample latest, TimeSpan span, CheckResult? before)
    {
        if (!latest.SourceUp)
        {
            return (CountersUnknown, null);
        }

        if (span <= TimeSpan.Zero)
        {
            return (NeedSecondSample, null);
        }

        if (before is { Inputs: TrafficInputs same } && SameTraffic(same, baseline, latest, span))
        {
            return (before, same.OneWayPairs);
        }

        var growths = new Growth[latest.Pairs.Count];
        for (var i = 0; i < growths.Length; i++)
        {
            growths[i] = GrowthOf(latest.Pairs[i], baseline);
        }

        return JudgedTraffic(growths, JudgedPair.Of(latest), span);
    }

    /// <summary>Apart from <see cref="CheckTraffic"/>: its closures are made only for a result that changed.</summary>
    private static (CheckResult Result, LazyText? OneWayPairs) JudgedTraffic(Growth[] growths, JudgedPair[] pairs, TimeSpan span)
    {
        var (oneWay, idle, observed) = JudgeTraffic(growths, pairs, span, null, null);
        var inputs = new TrafficInputs(pairs, growths, span, null);
        if (observed == 0)
        {
            // CHILD SAs whose source counts neither direction in full say so, rather than that there is no CHILD SA.
            return pairs.Any(p => p.InstalledChildSas > 0)
                ? (new(Checks.TrafficBothDirections, CheckState.Unknown, () =>
                {
                    var parts = new List<string>();
                    JudgeTraffic(growths, pairs, span, parts, null);
                    return string.Join("; ", parts);
                }) { Inputs = inputs }, null)
                : (NoChildSaForTraffic, null);
        }

        var evidence = () =>
        {
            var parts = new List<string>();
            JudgeTraffic(growths, pairs, span, parts, null);
            var text = string.Join("; ", parts);
            return idle > 0 && !oneWay ? text + " (IPsec sends nothing on its own: configure inside probes to keep traffic flowing)" : text;
        };
        var oneWayPairs = oneWay
            ? new LazyText(() =>
            {
                var oneWayParts = new List<string>();
                JudgeTraffic(growths, pairs, span, null, oneWayParts);
                return string.Join("; ", oneWayParts);
            })
            : null;
        var state = oneWay || idle > 0 ? CheckState.Fail : CheckState.Pass;
        return (new(Checks.TrafficBothDirections, state, evidence) { Inputs = inputs with { OneWayPairs = oneWayPairs } }, oneWayPairs);
    }

    /// <summary>
    /// Whether the pairs would be judged (state and words) as they were from <paramref name="before"/>: the same pairs
    /// with CHILD SAs, the same growth in each direction, the window spelled the same.
    /// </summary>
    private static bool SameTraffic(TrafficInputs before, BaselineCounters baseline, TunnelSample latest, TimeSpan span)
    {
        var pairs = before.Pairs;
        if (SpanSeconds(before.Span) != SpanSeconds(span) || pairs.Length != latest.Pairs.Count)
        {
            return false;
        }

        for (var i = 0; i < pairs.Length; i++)
        {
            var (was, now) = (pairs[i], latest.Pairs[i]);
            if (was.LocalTs != now.LocalTs || was.RemoteTs != now.RemoteTs || (was.InstalledChildSas > 0) != (now.InstalledChildSas > 0)
                || (now.InstalledChildSas > 0 && before.Growths[i] != GrowthOf(now, baseline)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>What <paramref name="pair"/> carried since <paramref name="baseline"/> (a pair without a CHILD SA is not judged).</summary>
    private static Growth GrowthOf(PairObservation pair, BaselineCounters baseline)
    {
        if (pair.InstalledChildSas <= 0)
        {
            return default;
        }

        var before = baseline.Pair(pair.Key);
        return new(CounterGrowth.Traffic(pair.SentPackets, before?.SentPackets, pair.SentBytes, before?.SentBytes),
            CounterGrowth.Traffic(pair.ReceivedPackets, before?.ReceivedPackets, pair.ReceivedBytes, before?.ReceivedBytes));
    }

    /// <summary>One pass over the pairs for the state, and for the words when <paramref name="parts"/> or <paramref name="oneWayParts"/> are given.</summary>
    private static (bool OneWay, int Idle, int Observed) JudgeTraffic(Growth[] growths, JudgedPair[] pairs, TimeSpan span, List<string>? parts, List<string>? oneWayParts)
    {
        var oneWay = false;
        var idle = 0;
        var observed = 0;
        for (var i = 0; i < pairs.Length; i++)
        {
            var pair = pairs[i];
            if (pair.InstalledChildSas <= 0)
            {
                continue;
            }

            // Per direction, packets where the source counts them, else bytes: a source without packet counters is not idle.
            var (sentGrowth, receivedGrowth) = growths[i];
            if (sentGrowth is not { } sentBy || receivedGrowth is not { } receivedBy)
            {
                parts?.Add($"{pair.LocalTs} <-> {pair.RemoteTs}: the source reports no {(sentGrowth is null && receivedGrowth is null ? "traffic" : sentGrowth is null ? "sent" : "received")} counters");
                continue;
            }

            observed++;
            var (sent, received) = (sentBy.Value, receivedBy.Value);
            if (sent > 0 && received > 0)
            {
                parts?.Add($"{pair.LocalTs} <-> {pair.RemoteTs}: {TrafficGrowth.Describe(sentBy, receivedBy)}");
            }
            else if (sent > 0 || received > 0)
            {
                oneWay = true;
                if (parts is not null || oneWayParts is not null)
                {
                    var text = $"{pair.LocalTs} <-> {pair.RemoteTs}: {TrafficGrowth.Describe(sentBy, receivedBy)} over {Format(span)} ({(sent > 0 ? "nothing comes back" : "nothing goes out")})";
                    parts?.Add(text);
                    oneWayParts?.Add(text);
                }
            }
            else
            {
                idle++;
                parts?.Add($"{pair.LocalTs} <-> {pair.RemoteTs}: no traffic either way over {Format(span)}");
            }
        }

        return (oneWay, idle, observed);
    }

    private static readonly CheckResult NoInsideTargets = new(Checks.InsideReachable, CheckState.Unknown, "no inside targets configured");

    /// <summary>
    /// The article's "try multiple IP addresses", per network pair: each pair is its own CHILD SA and desynchronizes on
    /// its own, so another pair's answers prove nothing about this one. Fails when a probed pair has no answering
    /// target (the pair carries nothing back); a silent target beside an answering one of its pair is that host's
    /// problem. <c>NoneAnswers</c>: no target of the whole tunnel answers.
    /// </summary>
    private static (CheckResult Result, bool NoneAnswers) CheckInside(BaselineCounters baseline, TunnelSample latest, TimeSpan span)
    {
        return latest.Inside.Count == 0 ? (NoInsideTargets, false) : JudgedInside(baseline, latest, span);
    }

    /// <summary>Apart from <see cref="CheckInside"/>: its closures' object is made on entry, also for a tunnel without inside targets.</summary>
    private static (CheckResult Result, bool NoneAnswers) JudgedInside(BaselineCounters baseline, TunnelSample latest, TimeSpan span)
    {

        var networks = latest.Pairs.Select(p => (Pair: p, Remote: IPNetwork.TryParse(p.RemoteTs, out var remote) ? remote : (IPNetwork?)null)).ToList();
        var byPair = latest.Inside
            .GroupBy(t => networks.FirstOrDefault(n => n.Remote?.Contains(t.Target) == true).Pair)
            .ToList();
        var judged = new List<(PairObservation? Pair, List<(IPAddress Target, TimeSpan? LastRtt, ulong Requests, ulong Responses)> Results, int Answering)>();
        var probedPairs = 0;
        var silentPairs = 0;
        var answeringTargets = 0;
        foreach (var pair in byPair)
        {
            var results = pair.Select(target =>
            {
                var before = baseline.Inside(target.Target);
                var (requests, responses) = CounterGrowth.Since(target.Counts, before?.Requests, before?.Responses);
                return (target.Target, target.Counts.LastRtt, Requests: requests, Responses: responses);
            }).ToList();
            var answering = results.Count(r => r.Responses > 0);
            var probed = results.Count(r => r.Requests > 0);
            answeringTargets += answering;
            if (probed > 0)
            {
                probedPairs++;
                silentPairs += answering == 0 ? 1 : 0;
            }

            judged.Add((pair.Key, results, answering));
        }

        var state = probedPairs == 0 ? CheckState.Unknown : silentPairs > 0 ? CheckState.Fail : CheckState.Pass;
        var evidence = () =>
        {
            var parts = judged.Select(j =>
            {
                var texts = j.Results.Select(r => r switch
                {
                    { Requests: 0 } => $"{r.Target}: not probed yet",
                    { Responses: > 0 } => string.Create(CultureInfo.InvariantCulture, $"{r.Target}: {r.Responses}/{r.Requests} replies{(r.LastRtt is { } rtt ? $", RTT {FormatRtt(rtt)}" : "")}"),
                    _ when j.Answering > 0 => $"{r.Target}: no reply to {r.Requests} echo requests (another target of its pair answers: a problem of that host)",
                    _ when j.Results.Count == 1 => $"{r.Target}: no reply to {r.Requests} echo requests (the pair's only inside target: add a second one to tell a host fault from a desynchronized SA)",
                    _ => $"{r.Target}: no reply to {r.Requests} echo requests",
                });
                var prefix = judged.Count > 1 && j.Pair is { } p ? $"{p.LocalTs} <-> {p.RemoteTs}: " : "";
                return prefix + string.Join("; ", texts);
            });
            return string.Join("; ", parts) + (span > TimeSpan.Zero ? $" over {Format(span)}" : "");
        };
        return (new(Checks.InsideReachable, state, evidence), probedPairs > 0 && answeringTargets == 0);
    }

    /// <summary>Samples share an unchanged list of practices (<see cref="TunnelSample.SharingWith"/>): judged once per list.</summary>
    private static readonly ConditionalWeakTable<IReadOnlyList<BestPracticeResult>, CheckResult> PracticeChecks = new();

    private static CheckResult CheckBestPractices(IReadOnlyList<BestPracticeResult> practices) =>
        PracticeChecks.GetValue(practices, JudgeBestPractices);

    private static CheckResult JudgeBestPractices(IReadOnlyList<BestPracticeResult> practices)
    {
        var known = practices.Where(p => p.Followed is not null).ToList();
        if (known.Count == 0)
        {
            return new(Checks.BestPractices, CheckState.Unknown, "nothing to compare against yet");
        }

        var violated = known.Where(p => p.Followed == false).ToList();
        return violated.Count > 0
            ? new(Checks.BestPractices, CheckState.Fail, string.Join("; ", violated.Select(p => $"{p.Label}: {p.Reason}")))
            : new(Checks.BestPractices, CheckState.Pass, string.Join("; ", known.Select(p => $"{p.Label}: {p.Reason}")));
    }

    public static string Format(TimeSpan span) => FormatSeconds(SpanSeconds(span));

    /// <summary>A span as <see cref="Format"/> spells it, in whole seconds: two spans with the same are spelled the same.</summary>
    private static long SpanSeconds(TimeSpan span) => span >= TimeSpan.FromSeconds(1) ? (long)Math.Round(span.TotalSeconds) : 0;

    private static string FormatSeconds(long seconds) => seconds > 0 ? Configuration.DurationParser.Format(TimeSpan.FromSeconds(seconds)) : "0s";

    public static string FormatRtt(TimeSpan rtt) => rtt.TotalMilliseconds >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{rtt.TotalMilliseconds:0.##} ms")
        : string.Create(CultureInfo.InvariantCulture, $"{rtt.TotalMicroseconds:0} µs");
}

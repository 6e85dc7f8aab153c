using System.Globalization;
using IpsecExporter.Configuration;
using IpsecExporter.Site.Ntp;

namespace IpsecExporter.Diagnosis.BestPractices;

/// <summary>The article's best practices; <see cref="BestPracticeResult.Label"/> is the <c>practice</c> label.</summary>
public enum BestPractice
{
    Pfs,
    ShortLifetimes,
    Phase2TwoThirdsPhase1,
    TimeSync,
}

/// <summary>
/// What the tunnel's SAs showed (from the tunnel model); null while not observed. <see cref="RekeyedChildSaHasDhGroup"/>
/// is true when a rekeyed CHILD SA carries a DH group (<see cref="DhGroup"/>), false when one carries none. The rekey
/// intervals are the observed times between replacements of the IKE SA and of a CHILD SA.
/// </summary>
public sealed record ObservedSaFacts(bool? RekeyedChildSaHasDhGroup, string? DhGroup, TimeSpan? IkeRekeyInterval, TimeSpan? ChildRekeyInterval)
{
    public static readonly ObservedSaFacts None = new(null, null, null, null);
}

/// <summary>Everything one tunnel's evaluation depends on: configured expectations, observations, and the site's clock samples.</summary>
public sealed record BestPracticeInputs(ExpectConfig Expected, ObservedSaFacts Observed, IReadOnlyList<ClockSample> Clock);

/// <summary><see cref="Followed"/> is null when unknown; <see cref="Reason"/> says why, for people (reports, status page).</summary>
public sealed record BestPracticeResult(BestPractice Practice, bool? Followed, string Reason)
{
    public string Label => Practice switch
    {
        BestPractice.Pfs => "pfs",
        BestPractice.ShortLifetimes => "short_lifetimes",
        BestPractice.Phase2TwoThirdsPhase1 => "phase2_two_thirds_phase1",
        BestPractice.TimeSync => "time_sync",
        _ => throw new ArgumentOutOfRangeException(nameof(Practice), Practice, null),
    };
}

/// <summary>
/// Evaluates the article's best practices for one tunnel, as a pure function of its inputs: PFS on; rekey lifetimes
/// short; Phase 2 rekey two thirds of Phase 1's; clock synchronized. Observations win over configured values, since
/// what the gateways do is what matters.
/// </summary>
public static class BestPracticeEvaluator
{
    public static IReadOnlyList<BestPracticeResult> Evaluate(BestPracticeInputs inputs, BestPracticesConfig thresholds) =>
    [
        Pfs(inputs.Expected.Pfs, inputs.Observed),
        ShortLifetimes(Ike(inputs), Child(inputs), thresholds),
        TwoThirds(Ike(inputs), Child(inputs), thresholds.TwoThirdsTolerance),
        TimeSync(inputs.Clock, thresholds.MaxClockOffset),
    ];

    private static BestPracticeResult Pfs(bool? expected, ObservedSaFacts observed)
    {
        var expectation = expected switch
        {
            true => " (expect.pfs: true)",
            false => " (although expect.pfs: false)",
            null => "",
        };
        return observed.RekeyedChildSaHasDhGroup switch
        {
            true => new(BestPractice.Pfs, true, $"rekeyed CHILD SAs carry DH group {observed.DhGroup ?? "(unnamed)"}: PFS is on{expectation}"),
            false => new(BestPractice.Pfs, false, $"a rekeyed CHILD SA carries no DH group: PFS is off{(expected == true ? ", although expect.pfs: true" : "")}"),
            null => expected switch
            {
                true => new(BestPractice.Pfs, true, "expect.pfs: true (not yet confirmed: no CHILD SA has been rekeyed)"),
                false => new(BestPractice.Pfs, false, "expect.pfs: false: PFS is configured off"),
                null => new(BestPractice.Pfs, null, "unknown: no CHILD SA has been rekeyed yet and expect.pfs is not set"),
            },
        };
    }

    private static BestPracticeResult ShortLifetimes(Interval? ike, Interval? child, BestPracticesConfig thresholds)
    {
        if (ike is null && child is null)
        {
            return new(BestPractice.ShortLifetimes, null, "unknown: no IKE or CHILD rekey interval configured (expect.ike_rekey, expect.child_rekey) or observed yet");
        }

        var tooLong = new List<string>();
        var fine = new List<string>();
        Check("IKE", ike, thresholds.MaxIkeRekey, "max_ike_rekey");
        Check("CHILD", child, thresholds.MaxChildRekey, "max_child_rekey");
        return tooLong.Count > 0
            ? new(BestPractice.ShortLifetimes, false, string.Join("; ", tooLong))
            : new(BestPractice.ShortLifetimes, true, string.Join("; ", fine));

        void Check(string kind, Interval? interval, TimeSpan max, string key)
        {
            if (interval is null)
            {
                fine.Add($"{kind} rekey interval unknown");
            }
            else if (interval.Value > max)
            {
                tooLong.Add($"{kind} rekey {interval} is longer than {DurationParser.Format(max)} (best_practices.{key})");
            }
            else
            {
                fine.Add($"{kind} rekey {interval} is at most {DurationParser.Format(max)}");
            }
        }
    }

    private static BestPracticeResult TwoThirds(Interval? ike, Interval? child, decimal tolerance)
    {
        if (ike is null || child is null || ike.Value <= TimeSpan.Zero)
        {
            return new(BestPractice.Phase2TwoThirdsPhase1, null, "unknown: needs both the IKE and the CHILD rekey interval (configured or observed)");
        }

        // |child - 2/3 ike| <= tolerance * 2/3 ike, in exact decimal arithmetic so that the boundary is the boundary.
        decimal i = ike.Value.Ticks;
        decimal c = child.Value.Ticks;
        var deviation = Math.Abs((3 * c) - (2 * i)) / (2 * i);
        var ratio = string.Create(CultureInfo.InvariantCulture, $"{c / i * 100:0.0}%");
        var window = string.Create(CultureInfo.InvariantCulture, $"two thirds ± {tolerance * 100:0.##}%");
        if (deviation <= tolerance)
        {
            return new(BestPractice.Phase2TwoThirdsPhase1, true, $"CHILD rekey {child} is {ratio} of IKE rekey {ike} (within {window})");
        }

        var consequence = c >= i
            ? ": CHILD SAs are not rekeyed more often than the IKE SA, so both rekeys often happen together"
            : "";
        return new(BestPractice.Phase2TwoThirdsPhase1, false, $"CHILD rekey {child} is {ratio} of IKE rekey {ike}, outside {window}{consequence}");
    }

    private static BestPracticeResult TimeSync(IReadOnlyList<ClockSample> clock, TimeSpan maxOffset)
    {
        if (clock.Count == 0)
        {
            return new(BestPractice.TimeSync, null, "unknown: no NTP server configured (site.ntp_servers) or asked yet");
        }

        var offsets = clock.Where(s => s.Offset is not null).Select(s => s.Offset!.Value).Order().ToList();
        if (offsets.Count == 0)
        {
            return new(BestPractice.TimeSync, null, $"unknown: no NTP server answered ({string.Join("; ", clock.Select(s => $"{s.Server}: {s.Error}"))})");
        }

        var median = offsets.Count % 2 == 1 ? offsets[offsets.Count / 2] : (offsets[(offsets.Count / 2) - 1] + offsets[offsets.Count / 2]) / 2;
        var measured = $"clock offset {Seconds(median)} (median of {offsets.Count} server(s))";
        return median.Duration() <= maxOffset
            ? new(BestPractice.TimeSync, true, $"{measured} is within ±{Seconds(maxOffset)}")
            : new(BestPractice.TimeSync, false, $"{measured} exceeds ±{Seconds(maxOffset)} (best_practices.max_clock_offset): {(median < TimeSpan.Zero ? "this clock is behind" : "this clock is ahead")}");
    }

    private static Interval? Ike(BestPracticeInputs inputs) => Interval.Of(inputs.Observed.IkeRekeyInterval, inputs.Expected.IkeRekey);

    private static Interval? Child(BestPracticeInputs inputs) => Interval.Of(inputs.Observed.ChildRekeyInterval, inputs.Expected.ChildRekey);

    private static string Seconds(TimeSpan value) => string.Create(CultureInfo.InvariantCulture, $"{value.TotalSeconds:0.000}s");

    /// <summary>A rekey interval and where it came from, formatted as "8h (observed)".</summary>
    private sealed record Interval(TimeSpan Value, bool Observed)
    {
        public static Interval? Of(TimeSpan? observed, TimeSpan? configured) =>
            observed is { } o ? new Interval(o, true) : configured is { } c ? new Interval(c, false) : null;

        public override string ToString() => $"{DurationParser.Format(Value)} ({(Observed ? "observed" : "configured")})";
    }
}

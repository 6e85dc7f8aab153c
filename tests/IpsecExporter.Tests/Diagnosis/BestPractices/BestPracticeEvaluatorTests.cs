using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis.BestPractices;
using IpsecExporter.Site.Ntp;

namespace IpsecExporter.Tests.Diagnosis.BestPractices;

public sealed class BestPracticeEvaluatorTests
{
    private static readonly BestPracticesConfig Thresholds = ConfigLoader.DefaultBestPractices;
    private static readonly ExpectConfig NothingExpected = new(null, null, null);
    private static readonly DateTimeOffset At = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    private static BestPracticeResult Evaluate(BestPractice practice, ExpectConfig expected, ObservedSaFacts? observed = null, IReadOnlyList<ClockSample>? clock = null, BestPracticesConfig? thresholds = null) =>
        BestPracticeEvaluator.Evaluate(new BestPracticeInputs(expected, observed ?? ObservedSaFacts.None, clock ?? []), thresholds ?? Thresholds)
            .Single(r => r.Practice == practice);

    private static TimeSpan D(string text) => DurationParser.TryParse(text, out var value) ? value : throw new ArgumentException(text);

    [Fact]
    public void Every_practice_is_evaluated_once_with_its_label()
    {
        var results = BestPracticeEvaluator.Evaluate(new BestPracticeInputs(NothingExpected, ObservedSaFacts.None, []), Thresholds);

        Assert.Equal(["pfs", "short_lifetimes", "phase2_two_thirds_phase1", "time_sync"], results.Select(r => r.Label));
    }

    public static TheoryData<bool?, bool?, string?, bool?, string> PfsCases => new()
    {
        // expect.pfs, observed DH group on a rekeyed CHILD SA, group name -> followed, reason
        { null, null, null, null, "unknown: no CHILD SA has been rekeyed yet and expect.pfs is not set" },
        { true, null, null, true, "expect.pfs: true (not yet confirmed: no CHILD SA has been rekeyed)" },
        { false, null, null, false, "expect.pfs: false: PFS is configured off" },
        { true, true, "ECP_256", true, "rekeyed CHILD SAs carry DH group ECP_256: PFS is on (expect.pfs: true)" },
        { null, true, "MODP_2048", true, "rekeyed CHILD SAs carry DH group MODP_2048: PFS is on" },
        { false, true, "MODP_2048", true, "rekeyed CHILD SAs carry DH group MODP_2048: PFS is on (although expect.pfs: false)" },
        { true, false, null, false, "a rekeyed CHILD SA carries no DH group: PFS is off, although expect.pfs: true" },
        { null, false, null, false, "a rekeyed CHILD SA carries no DH group: PFS is off" },
    };

    [Theory]
    [MemberData(nameof(PfsCases))]
    public void Pfs(bool? expected, bool? observedDh, string? group, bool? followed, string reason)
    {
        var result = Evaluate(BestPractice.Pfs, new ExpectConfig(expected, null, null), new ObservedSaFacts(observedDh, group, null, null));

        Assert.Equal(new BestPracticeResult(BestPractice.Pfs, followed, reason), result);
    }

    [Theory]
    // expected IKE, expected CHILD, observed IKE, observed CHILD -> followed, reason
    [InlineData(null, null, null, null, null, "unknown: no IKE or CHILD rekey interval configured (expect.ike_rekey, expect.child_rekey) or observed yet")]
    [InlineData("8h", "5h20m", null, null, true, "IKE rekey 8h (configured) is at most 8h; CHILD rekey 5h20m (configured) is at most 5h20m")]
    [InlineData("8h1s", "5h20m", null, null, false, "IKE rekey 8h1s (configured) is longer than 8h (best_practices.max_ike_rekey)")]
    [InlineData("24h", "8h", null, null, false, "IKE rekey 1d (configured) is longer than 8h (best_practices.max_ike_rekey); CHILD rekey 8h (configured) is longer than 5h20m (best_practices.max_child_rekey)")]
    [InlineData("4h", null, null, null, true, "IKE rekey 4h (configured) is at most 8h; CHILD rekey interval unknown")]
    [InlineData("4h", "1h", "24h", null, false, "IKE rekey 1d (observed) is longer than 8h (best_practices.max_ike_rekey)")]
    [InlineData("24h", "1h", "3h50m", "1h", true, "IKE rekey 3h50m (observed) is at most 8h; CHILD rekey 1h (observed) is at most 5h20m")]
    public void Short_lifetimes(string? ike, string? child, string? observedIke, string? observedChild, bool? followed, string reason)
    {
        var result = Evaluate(
            BestPractice.ShortLifetimes,
            new ExpectConfig(null, ike is null ? null : D(ike), child is null ? null : D(child)),
            new ObservedSaFacts(null, null, observedIke is null ? null : D(observedIke), observedChild is null ? null : D(observedChild)));

        Assert.Equal(new BestPracticeResult(BestPractice.ShortLifetimes, followed, reason), result);
    }

    [Theory]
    // IKE 8h: two thirds is exactly 5h20m; a 10% tolerance allows 4h48m to 5h52m, boundaries included.
    [InlineData("8h", "5h20m", "10%", true, "CHILD rekey 5h20m (configured) is 66.7% of IKE rekey 8h (configured) (within two thirds ± 10%)")]
    [InlineData("8h", "5h52m", "10%", true, "CHILD rekey 5h52m (configured) is 73.3% of IKE rekey 8h (configured) (within two thirds ± 10%)")]
    [InlineData("8h", "5h52m1s", "10%", false, "CHILD rekey 5h52m1s (configured) is 73.3% of IKE rekey 8h (configured), outside two thirds ± 10%")]
    [InlineData("8h", "4h48m", "10%", true, "CHILD rekey 4h48m (configured) is 60.0% of IKE rekey 8h (configured) (within two thirds ± 10%)")]
    [InlineData("8h", "4h47m59s", "10%", false, "CHILD rekey 4h47m59s (configured) is 60.0% of IKE rekey 8h (configured), outside two thirds ± 10%")]
    [InlineData("3h", "2h", "0%", true, "CHILD rekey 2h (configured) is 66.7% of IKE rekey 3h (configured) (within two thirds ± 0%)")]
    [InlineData("3h", "2h1s", "0%", false, "CHILD rekey 2h1s (configured) is 66.7% of IKE rekey 3h (configured), outside two thirds ± 0%")]
    [InlineData("1h", "1h", "10%", false, "CHILD rekey 1h (configured) is 100.0% of IKE rekey 1h (configured), outside two thirds ± 10%: CHILD SAs are not rekeyed more often than the IKE SA, so both rekeys often happen together")]
    [InlineData("24h", "1h", "10%", false, "CHILD rekey 1h (configured) is 4.2% of IKE rekey 1d (configured), outside two thirds ± 10%")]
    public void Phase2_two_thirds_of_phase1_with_exact_boundaries(string ike, string child, string tolerance, bool followed, string reason)
    {
        var thresholds = Thresholds with { TwoThirdsTolerance = decimal.Parse(tolerance.TrimEnd('%'), System.Globalization.CultureInfo.InvariantCulture) / 100 };

        var result = Evaluate(BestPractice.Phase2TwoThirdsPhase1, new ExpectConfig(null, D(ike), D(child)), thresholds: thresholds);

        Assert.Equal(new BestPracticeResult(BestPractice.Phase2TwoThirdsPhase1, followed, reason), result);
    }

    [Fact]
    public void Two_thirds_uses_observed_intervals_over_configured_ones()
    {
        var result = Evaluate(
            BestPractice.Phase2TwoThirdsPhase1,
            new ExpectConfig(null, D("8h"), D("5h20m")),
            new ObservedSaFacts(null, null, D("3h"), D("2h50m")));

        Assert.Equal(false, result.Followed);
        Assert.Equal("CHILD rekey 2h50m (observed) is 94.4% of IKE rekey 3h (observed), outside two thirds ± 10%", result.Reason);
    }

    [Fact]
    public void Two_thirds_is_unknown_without_both_intervals()
    {
        var result = Evaluate(BestPractice.Phase2TwoThirdsPhase1, new ExpectConfig(null, D("8h"), null));

        Assert.Null(result.Followed);
    }

    [Theory]
    // offsets (ms; null = failed) -> followed, reason
    [InlineData(new double[0], null, "unknown: no NTP server configured (site.ntp_servers) or asked yet")]
    [InlineData(new[] { double.NaN }, null, "unknown: no NTP server answered (ntp0: no answer within 2s)")]
    [InlineData(new[] { 3.0 }, true, "clock offset 0.003s (median of 1 server(s)) is within ±1.000s")]
    [InlineData(new[] { -1000.0 }, true, "clock offset -1.000s (median of 1 server(s)) is within ±1.000s")]
    [InlineData(new[] { -1001.0 }, false, "clock offset -1.001s (median of 1 server(s)) exceeds ±1.000s (best_practices.max_clock_offset): this clock is behind")]
    [InlineData(new[] { 5000.0, 20.0, double.NaN, 10.0 }, true, "clock offset 0.020s (median of 3 server(s)) is within ±1.000s")]
    [InlineData(new[] { 1500.0, 1700.0 }, false, "clock offset 1.600s (median of 2 server(s)) exceeds ±1.000s (best_practices.max_clock_offset): this clock is ahead")]
    public void Time_sync(double[] offsetsMs, bool? followed, string reason)
    {
        var clock = offsetsMs.Select((ms, i) => double.IsNaN(ms)
            ? new ClockSample($"ntp{i}", At, null, null, "no answer within 2s")
            : new ClockSample($"ntp{i}", At, TimeSpan.FromMilliseconds(ms), TimeSpan.FromMilliseconds(1), null)).ToList();

        var result = Evaluate(BestPractice.TimeSync, NothingExpected, clock: clock);

        Assert.Equal(new BestPracticeResult(BestPractice.TimeSync, followed, reason), result);
    }
}

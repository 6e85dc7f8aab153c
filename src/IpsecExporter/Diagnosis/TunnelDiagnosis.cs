namespace IpsecExporter.Diagnosis;

/// <summary>The troubleshooting steps, in the article's order; the values are the <c>check</c> label.</summary>
public static class Checks
{
    public const string Internet = "internet";
    public const string GatewayReachable = "gateway_reachable";
    public const string Phase1 = "phase1";
    public const string Phase2SingleSa = "phase2_single_sa";
    public const string TrafficBothDirections = "traffic_both_directions";
    public const string InsideReachable = "inside_reachable";
    public const string BestPractices = "best_practices";

    public static readonly IReadOnlyList<string> InOrder =
        [Internet, GatewayReachable, Phase1, Phase2SingleSa, TrafficBothDirections, InsideReachable, BestPractices];
}

public enum Verdict
{
    Healthy,
    Degraded,
    Desynchronized,
    Down,
    Unknown,
}

public enum CheckState
{
    Pass,
    Fail,

    /// <summary>No evidence either way (not configured, no data yet).</summary>
    Unknown,
}

/// <summary>
/// Words made only when read: the diagnosis runs for every tunnel every few seconds, its texts are read by the status
/// page, the API and the reports. Making them is a pure function of the captured inputs, so two readers racing make the
/// same text.
/// </summary>
public sealed class LazyText(Func<string> make)
{
    private string? _text;

    public string Value => _text ??= make();
}

/// <summary>One step's outcome and the evidence behind it, in words for the status page and the partner report.</summary>
public sealed class CheckResult(string check, CheckState state, Func<string> evidence)
{
    private readonly LazyText _evidence = new(evidence);

    public CheckResult(string check, CheckState state, string evidence)
        : this(check, state, () => evidence)
    {
    }

    public string Check { get; } = check;

    public CheckState State { get; } = state;

    public string Evidence => _evidence.Value;
}

public sealed class TunnelDiagnosis(
    string tunnel,
    DateTimeOffset at,
    Verdict verdict,
    Func<string> reason,
    string? firstFailingCheck,
    IReadOnlyList<CheckResult> checks)
{
    private readonly LazyText _reason = new(reason);

    public string Tunnel { get; } = tunnel;

    public DateTimeOffset At { get; } = at;

    public Verdict Verdict { get; } = verdict;

    public string Reason => _reason.Value;

    public string? FirstFailingCheck { get; } = firstFailingCheck;

    public IReadOnlyList<CheckResult> Checks { get; } = checks;

    public CheckResult Check(string name) => Checks.Single(c => c.Check == name);

    public static string StatusLabel(Verdict verdict) => verdict.ToString().ToLowerInvariant();
}

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

/// <summary>One step's outcome and the evidence behind it, in words for the status page and the partner report.</summary>
public sealed record CheckResult(string Check, CheckState State, string Evidence);

public sealed record TunnelDiagnosis(
    string Tunnel,
    DateTimeOffset At,
    Verdict Verdict,
    string Reason,
    string? FirstFailingCheck,
    IReadOnlyList<CheckResult> Checks)
{
    public CheckResult Check(string name) => Checks.Single(c => c.Check == name);

    public static string StatusLabel(Verdict verdict) => verdict.ToString().ToLowerInvariant();
}

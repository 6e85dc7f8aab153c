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
/// same text. A made text is the one instance of it that tunnels share (<see cref="SharedInstances{T}.Texts"/>), and the
/// inputs are let go once it is made.
/// </summary>
public sealed class LazyText
{
    private Func<string>? _make;
    private string? _text;

    public LazyText(Func<string> make) => _make = make;

    /// <summary>Words known already (a fixed text): nothing to make.</summary>
    public LazyText(string text) => _text = text;

    public string Value
    {
        get
        {
            if (Volatile.Read(ref _text) is { } text)
            {
                return text;
            }

            // Null: another reader made the text meanwhile (it is written before the inputs are let go).
            if (Volatile.Read(ref _make) is not { } make)
            {
                return Volatile.Read(ref _text)!;
            }

            text = SharedInstances<string>.Texts.Of(make());
            Volatile.Write(ref _text, text);
            Volatile.Write(ref _make, null);
            return text;
        }
    }
}

/// <summary>One step's outcome and the evidence behind it, in words for the status page and the partner report.</summary>
public sealed class CheckResult
{
    private readonly LazyText _evidence;

    public CheckResult(string check, CheckState state, Func<string> evidence)
    {
        Check = check;
        State = state;
        _evidence = new LazyText(evidence);
    }

    public CheckResult(string check, CheckState state, string evidence)
    {
        Check = check;
        State = state;
        _evidence = new LazyText(evidence);
    }

    public string Check { get; }

    public CheckState State { get; }

    public string Evidence => _evidence.Value;

    /// <summary>
    /// What the state and the evidence were judged from, where the diagnosis can tell by it that the next round would
    /// judge the same and keep this result (null: judged again every round).
    /// </summary>
    internal object? Inputs { get; init; }
}

public sealed class TunnelDiagnosis
{
    private readonly LazyText _reason;

    public TunnelDiagnosis(string tunnel, DateTimeOffset at, Verdict verdict, Func<string> reason, string? firstFailingCheck, IReadOnlyList<CheckResult> checks)
        : this(tunnel, at, verdict, new LazyText(reason), firstFailingCheck, checks)
    {
    }

    /// <summary>A later diagnosis that concluded the same from the same results: it shares their words.</summary>
    internal TunnelDiagnosis(TunnelDiagnosis same, DateTimeOffset at)
        : this(same.Tunnel, at, same.Verdict, same._reason, same.FirstFailingCheck, same.Checks)
    {
        Conclusion = same.Conclusion;
    }

    private TunnelDiagnosis(string tunnel, DateTimeOffset at, Verdict verdict, LazyText reason, string? firstFailingCheck, IReadOnlyList<CheckResult> checks)
    {
        Tunnel = tunnel;
        At = at;
        Verdict = verdict;
        _reason = reason;
        FirstFailingCheck = firstFailingCheck;
        Checks = checks;
    }

    public string Tunnel { get; }

    public DateTimeOffset At { get; }

    public Verdict Verdict { get; }

    public string Reason => _reason.Value;

    public string? FirstFailingCheck { get; }

    public IReadOnlyList<CheckResult> Checks { get; }

    /// <summary>What the verdict was concluded from besides the checks (see <see cref="Diagnoser"/>).</summary>
    internal (bool SourceUp, bool? Connected) Conclusion { get; init; }

    /// <summary>The result of check <paramref name="name"/> (a loop: the events ask for one every round).</summary>
    public CheckResult Check(string name)
    {
        CheckResult? found = null;
        for (var i = 0; i < Checks.Count; i++)
        {
            if (Checks[i].Check == name)
            {
                found = found is null ? Checks[i] : throw new InvalidOperationException($"more than one {name} check");
            }
        }

        return found ?? throw new InvalidOperationException($"no {name} check");
    }

    public static string StatusLabel(Verdict verdict) => verdict.ToString().ToLowerInvariant();
}

using IpsecExporter.Probes;

namespace IpsecExporter.Tests.Support;

/// <summary>Collects the outcomes a probe reports for one target, and waits (with a deadline) until enough have settled.</summary>
public sealed class OutcomeRecorder : IProbeOutcomeSink
{
    private readonly Lock _lock = new();
    private readonly List<ProbeOutcome> _outcomes = [];

    public IReadOnlyList<ProbeOutcome> Outcomes
    {
        get
        {
            lock (_lock)
            {
                return _outcomes.ToList();
            }
        }
    }

    public int Count(ProbeOutcomeKind kind) => Outcomes.Count(o => o.Kind == kind);

    public int Settled => Outcomes.Count(o => o.Settles);

    public void OnOutcome(ProbeOutcome outcome)
    {
        lock (_lock)
        {
            _outcomes.Add(outcome);
        }
    }

    /// <summary>Waits until <paramref name="settled"/> probes have settled; fails the test at the deadline.</summary>
    public async Task WaitForSettledAsync(int settled, TimeSpan? deadline = null)
    {
        await Poll.UntilAsync(() => Settled >= settled, deadline ?? TimeSpan.FromSeconds(10), () => $"{Settled} of {settled} probes settled");
    }
}

namespace IpsecExporter.Diagnosis;

/// <summary>
/// Growth of a cumulative counter over a window, as the diagnosis, the partner report and the status page measure it:
/// a counter absent from the baseline grew from zero, one that is lower than the baseline (never, for the tracker's
/// monotonic counters) did not grow.
/// </summary>
public static class CounterGrowth
{
    public static ulong Since(ulong now, ulong? before) => now - Math.Min(now, before ?? 0);

    /// <summary>Null when the counter is not known now.</summary>
    public static ulong? Since(ulong? now, ulong? before) => now is { } value ? Since(value, before) : null;

    /// <summary>Echo requests sent and answered since <paramref name="before"/>; late answers to earlier requests do not make more answered than sent.</summary>
    public static (ulong Requests, ulong Responses) Since(ProbeCounts now, ProbeCounts? before)
    {
        var requests = Since(now.Requests, before?.Requests);
        return (requests, Math.Min(requests, Since(now.Responses, before?.Responses)));
    }
}

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

    /// <summary>
    /// What one direction of a pair carried since the baseline: packets where the source counts them, else bytes (a
    /// source without packet counters is not idle); null when it counts neither.
    /// </summary>
    public static TrafficGrowth? Traffic(ulong? packetsNow, ulong? packetsBefore, ulong? bytesNow, ulong? bytesBefore) =>
        packetsNow is { } packets ? new(Since(packets, packetsBefore), TrafficGrowth.Packets)
        : bytesNow is { } bytes ? new(Since(bytes, bytesBefore), TrafficGrowth.Bytes)
        : null;

    /// <summary>Echo requests sent and answered since <paramref name="before"/>; late answers to earlier requests do not make more answered than sent.</summary>
    public static (ulong Requests, ulong Responses) Since(ProbeCounts now, ProbeCounts? before) => Since(now, before?.Requests, before?.Responses);

    /// <summary>As <see cref="Since(ProbeCounts, ProbeCounts?)"/>, from the counts of the baseline.</summary>
    public static (ulong Requests, ulong Responses) Since(ProbeCounts now, ulong? requestsBefore, ulong? responsesBefore)
    {
        var requests = Since(now.Requests, requestsBefore);
        return (requests, Math.Min(requests, Since(now.Responses, responsesBefore)));
    }
}

/// <summary>Growth of one traffic direction, in <see cref="Unit"/> (<see cref="Packets"/> or <see cref="Bytes"/>).</summary>
public readonly record struct TrafficGrowth(ulong Value, string Unit)
{
    public const string Packets = "packets";
    public const string Bytes = "bytes";

    /// <summary>Both directions in words: one unit at the end when they share it (<c>sent +120, received +0 packets</c>).</summary>
    public static string Describe(TrafficGrowth sent, TrafficGrowth received) => sent.Unit == received.Unit
        ? $"sent +{sent.Value}, received +{received.Value} {sent.Unit}"
        : $"sent +{sent.Value} {sent.Unit}, received +{received.Value} {received.Unit}";
}

using System.Net;

namespace IpsecExporter.Probes;

/// <summary>
/// One kind of active probe (ICMP echo is the first), chosen by <see cref="ProbeRegistry"/> from its
/// <see cref="Kind"/>. One instance serves every target of its kind, so an implementation can share sockets.
/// </summary>
public interface IProbe : IAsyncDisposable
{
    /// <summary>The registry key of this kind of probe (e.g. <c>icmp</c>).</summary>
    string Kind { get; }

    /// <summary>
    /// Sends one probe now and returns without waiting for the answer. <paramref name="sink"/> then receives exactly one
    /// settling outcome (<see cref="ProbeOutcomeKind.Reply"/>, <see cref="ProbeOutcomeKind.Timeout"/> or
    /// <see cref="ProbeOutcomeKind.Failed"/>), on any thread and possibly before this method returns, and may later
    /// receive late or duplicate replies. Network trouble never throws: it is an outcome of this target only.
    /// </summary>
    void Send(ProbeRequest request, IProbeOutcomeSink sink);
}

/// <summary>What to probe: the target, the local address to send from (null: the kernel chooses), and how long to wait.</summary>
public sealed record ProbeRequest(IPAddress Target, IPAddress? Source, TimeSpan Timeout);

/// <summary>Receives the outcomes of the probes sent on its behalf. Implementations must be quick and thread-safe.</summary>
public interface IProbeOutcomeSink
{
    void OnOutcome(ProbeOutcome outcome);
}

public enum ProbeOutcomeKind
{
    /// <summary>The matching reply arrived within the timeout.</summary>
    Reply,

    /// <summary>No reply within the timeout: the probe is lost.</summary>
    Timeout,

    /// <summary>The probe could not be sent (no route, source address not present, socket error): lost.</summary>
    Failed,

    /// <summary>A reply to a probe that had already timed out. Does not undo the loss.</summary>
    LateReply,

    /// <summary>A second reply to a probe that was already answered.</summary>
    DuplicateReply,
}

/// <summary>One outcome of a probe; <see cref="RoundTripTime"/> is set for replies, <see cref="Error"/> for failures.</summary>
public readonly record struct ProbeOutcome(ProbeOutcomeKind Kind, TimeSpan RoundTripTime, string? Error)
{
    /// <summary>True for the one outcome that ends a probe: reply, timeout or failure.</summary>
    public bool Settles => Kind is ProbeOutcomeKind.Reply or ProbeOutcomeKind.Timeout or ProbeOutcomeKind.Failed;

    public static ProbeOutcome Replied(TimeSpan roundTripTime) => new(ProbeOutcomeKind.Reply, roundTripTime, null);

    public static ProbeOutcome TimedOut() => new(ProbeOutcomeKind.Timeout, TimeSpan.Zero, null);

    public static ProbeOutcome FailedWith(string error) => new(ProbeOutcomeKind.Failed, TimeSpan.Zero, error);
}

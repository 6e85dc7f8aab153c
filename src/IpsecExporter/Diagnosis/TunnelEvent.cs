using IpsecExporter.Tunnels;

namespace IpsecExporter.Diagnosis;

/// <summary>
/// Something that happened to a tunnel, for the partner report. Repetitions of a routine event (a CHILD SA rekeyed
/// every few seconds) are folded into one (<see cref="TunnelEvents.Append"/>) with a <see cref="Count"/> and the time
/// of the <see cref="First"/>, so the bounded log covers hours of them and a distinct event still stands out.
/// </summary>
/// <param name="At">When it happened; of folded repetitions, the last time.</param>
/// <param name="Subject">What in the tunnel it concerns (a network pair, the IKE SA); null for the tunnel as a whole.</param>
public sealed record TunnelEvent(DateTimeOffset At, string Kind, string Message, string? Subject = null)
{
    /// <summary>How often it happened from <see cref="First"/> to <see cref="At"/> (of a rekey event: rekeys).</summary>
    public long Count { get; init; } = 1;

    public DateTimeOffset First { get; init; } = At;
}

/// <summary>
/// Derives events from consecutive samples and diagnoses (SA installs, rekeys and deletes, source up/down, address
/// changes, loss episodes, verdict changes), so every producer stays unaware of the log.
/// </summary>
public static class TunnelEvents
{
    /// <summary>
    /// Appends <paramref name="next"/> to <paramref name="log"/> (oldest first), or folds it into its subject's latest
    /// event when it repeats that one and only events of the same kind came since (the other pairs' rekeys): an event
    /// of another kind ends every run, so the order around it stays readable. The folded event moves to the end, to keep
    /// the log ordered by <see cref="TunnelEvent.At"/>.
    /// </summary>
    public static void Append(List<TunnelEvent> log, TunnelEvent next)
    {
        for (var i = log.Count - 1; i >= 0 && log[i].Kind == next.Kind; i--)
        {
            if (log[i].Subject != next.Subject)
            {
                continue;
            }

            if (log[i].Message == next.Message)
            {
                var folded = log[i] with { At = next.At, Count = log[i].Count + next.Count };
                log.RemoveAt(i);
                log.Add(folded);
                return;
            }

            break;
        }

        var message = SharedInstances<string>.Texts.Of(next.Message);
        log.Add(ReferenceEquals(message, next.Message) ? next : next with { Message = message });
    }

    /// <summary>
    /// Appends (<see cref="Append"/>) to <paramref name="log"/> what happened between two rounds. A method rather than
    /// an iterator, with loops rather than lookups with closures: it runs for every tunnel every round, and mostly
    /// finds nothing.
    /// </summary>
    public static void AppendBetween(List<TunnelEvent> log, TunnelSample? previous, TunnelSample current, TunnelDiagnosis? previousDiagnosis, TunnelDiagnosis diagnosis)
    {
        var at = current.At;
        if (previous is null)
        {
            Append(log, new(at, "verdict", $"first diagnosis: {TunnelDiagnosis.StatusLabel(diagnosis.Verdict)} ({diagnosis.Reason})"));
            return;
        }

        if (previous.SourceUp != current.SourceUp)
        {
            Append(log, new(at, "source", current.SourceUp ? "source is up again" : "source went down: SA state unknown"));
        }

        if (current.SourceUp && previous.SourceUp)
        {
            if (previous.IkeEstablished != current.IkeEstablished && current.IkeEstablished is not null)
            {
                Append(log, new(at, "phase1", current.IkeEstablished.Value ? "IKE SA established" : "IKE SA gone (Phase 1 down)"));
            }

            if (current.Ike?.Rekeys > previous.Ike?.Rekeys)
            {
                Append(log, new(at, "rekey", "IKE SA rekeyed", "IKE SA") { Count = current.Ike!.Rekeys - previous.Ike!.Rekeys });
            }

            for (var i = 0; i < current.Pairs.Count; i++)
            {
                var pair = current.Pairs[i];
                var before = PairObservationKey.Find(previous.Pairs, pair.Key);
                if (before is null)
                {
                    continue;
                }

                if (pair.Rekeys > before.Rekeys)
                {
                    Append(log, new(at, "rekey", $"{Name(pair)}: CHILD SA rekeyed{(pair.DhGroup is null ? "" : $", DH group {pair.DhGroup}")}", Name(pair)) { Count = pair.Rekeys - before.Rekeys });
                }

                if (pair.InstalledChildSas != before.InstalledChildSas)
                {
                    var kind = pair.InstalledChildSas > before.InstalledChildSas ? "installed" : "deleted";
                    Append(log, new(at, "child_sa", $"{Name(pair)}: CHILD SA {kind}, now {pair.InstalledChildSas} (was {before.InstalledChildSas})", Name(pair)));
                }
            }
        }

        if (current.Internet.PublicIp is not null && previous.Internet.PublicIp is not null && !current.Internet.PublicIp.Equals(previous.Internet.PublicIp))
        {
            Append(log, new(at, "public_ip", $"public IP changed from {previous.Internet.PublicIp} to {current.Internet.PublicIp}"));
        }

        if (current.RemoteGatewayAddress is not null && previous.RemoteGatewayAddress is not null && !current.RemoteGatewayAddress.Equals(previous.RemoteGatewayAddress))
        {
            Append(log, new(at, "remote_gateway", $"remote gateway address changed from {previous.RemoteGatewayAddress} to {current.RemoteGatewayAddress}"));
        }

        var lossBefore = previousDiagnosis?.Check(Checks.GatewayReachable).State;
        var lossNow = diagnosis.Check(Checks.GatewayReachable);
        if (lossNow.State == CheckState.Fail && lossBefore != CheckState.Fail)
        {
            Append(log, new(at, "loss", $"gateway packet loss began: {lossNow.Evidence}"));
        }
        else if (lossBefore == CheckState.Fail && lossNow.State == CheckState.Pass)
        {
            Append(log, new(at, "loss", $"gateway packet loss ended: {lossNow.Evidence}"));
        }

        if (previousDiagnosis is not null && previousDiagnosis.Verdict != diagnosis.Verdict)
        {
            Append(log, new(at, "verdict", $"{TunnelDiagnosis.StatusLabel(previousDiagnosis.Verdict)} -> {TunnelDiagnosis.StatusLabel(diagnosis.Verdict)}: {diagnosis.Reason}"));
        }
    }

    private static string Name(PairObservation pair) => $"{pair.LocalTs} <-> {pair.RemoteTs}";
}

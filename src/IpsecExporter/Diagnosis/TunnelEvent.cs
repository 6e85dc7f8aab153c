namespace IpsecExporter.Diagnosis;

/// <summary>Something that happened to a tunnel, for the status page and the partner report.</summary>
public sealed record TunnelEvent(DateTimeOffset At, string Kind, string Message);

/// <summary>
/// Derives events from consecutive samples and diagnoses (SA installs, rekeys and deletes, source up/down, address
/// changes, loss episodes, verdict changes), so every producer stays unaware of the log.
/// </summary>
public static class TunnelEvents
{
    public static IEnumerable<TunnelEvent> Between(TunnelSample? previous, TunnelSample current, TunnelDiagnosis? previousDiagnosis, TunnelDiagnosis diagnosis)
    {
        var at = current.At;
        if (previous is null)
        {
            yield return new(at, "verdict", $"first diagnosis: {TunnelDiagnosis.StatusLabel(diagnosis.Verdict)} ({diagnosis.Reason})");
            yield break;
        }

        if (previous.SourceUp != current.SourceUp)
        {
            yield return new(at, "source", current.SourceUp ? "source is up again" : "source went down: SA state unknown");
        }

        if (current.SourceUp && previous.SourceUp)
        {
            if (previous.IkeEstablished != current.IkeEstablished && current.IkeEstablished is not null)
            {
                yield return new(at, "phase1", current.IkeEstablished.Value ? "IKE SA established" : "IKE SA gone (Phase 1 down)");
            }

            if (current.IkeRekeys > previous.IkeRekeys)
            {
                yield return new(at, "rekey", $"IKE SA rekeyed ({current.IkeRekeys - previous.IkeRekeys}x)");
            }

            foreach (var pair in current.Pairs)
            {
                var before = previous.Pairs.FirstOrDefault(p => p.Key == pair.Key);
                if (before is null)
                {
                    continue;
                }

                if (pair.Rekeys > before.Rekeys)
                {
                    yield return new(at, "rekey", $"{Name(pair)}: CHILD SA rekeyed ({pair.Rekeys - before.Rekeys}x){(pair.DhGroup is null ? "" : $", DH group {pair.DhGroup}")}");
                }

                if (pair.ChildSas != before.ChildSas)
                {
                    var kind = pair.ChildSas > before.ChildSas ? "installed" : "deleted";
                    yield return new(at, "child_sa", $"{Name(pair)}: CHILD SA {kind}, now {pair.ChildSas} (was {before.ChildSas})");
                }
            }
        }

        if (current.Internet.PublicIp is not null && previous.Internet.PublicIp is not null && !current.Internet.PublicIp.Equals(previous.Internet.PublicIp))
        {
            yield return new(at, "public_ip", $"public IP changed from {previous.Internet.PublicIp} to {current.Internet.PublicIp}");
        }

        if (current.RemoteGatewayAddress is not null && previous.RemoteGatewayAddress is not null && !current.RemoteGatewayAddress.Equals(previous.RemoteGatewayAddress))
        {
            yield return new(at, "remote_gateway", $"remote gateway address changed from {previous.RemoteGatewayAddress} to {current.RemoteGatewayAddress}");
        }

        var lossBefore = previousDiagnosis?.Check(Checks.GatewayReachable).State;
        var lossNow = diagnosis.Check(Checks.GatewayReachable);
        if (lossNow.State == CheckState.Fail && lossBefore != CheckState.Fail)
        {
            yield return new(at, "loss", $"gateway packet loss began: {lossNow.Evidence}");
        }
        else if (lossBefore == CheckState.Fail && lossNow.State == CheckState.Pass)
        {
            yield return new(at, "loss", $"gateway packet loss ended: {lossNow.Evidence}");
        }

        if (previousDiagnosis is not null && previousDiagnosis.Verdict != diagnosis.Verdict)
        {
            yield return new(at, "verdict", $"{TunnelDiagnosis.StatusLabel(previousDiagnosis.Verdict)} -> {TunnelDiagnosis.StatusLabel(diagnosis.Verdict)}: {diagnosis.Reason}");
        }
    }

    private static string Name(PairSample pair) => $"{pair.Local} <-> {pair.Remote}";
}

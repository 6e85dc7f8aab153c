using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis;
using IpsecExporter.Sources;
using IpsecExporter.Tunnels;

namespace IpsecExporter.Web;

/// <summary>What <c>/api/tunnels</c> and the status page show of one tunnel.</summary>
public static class TunnelSummaries
{
    public const string RunbookBase = "https://github.com/ipsec-exporter/ipsec-exporter/blob/main/docs/runbooks/";

    /// <param name="observed">The tunnel model's newest observation of the tunnel, for the SA states (null: none shown).</param>
    public static TunnelSummary Build(ExporterConfig config, TunnelView view, IReadOnlyDictionary<string, SourceState> sources, TunnelObservation? observed = null)
    {
        var tunnel = view.Tunnel;
        var latest = view.Latest;
        var source = sources.GetValueOrDefault(tunnel.Source);
        return new TunnelSummary(
            tunnel.Name,
            tunnel.Description,
            TunnelDiagnosis.StatusLabel(view.Diagnosis.Verdict),
            view.Diagnosis.Reason,
            view.Diagnosis.FirstFailingCheck,
            view.VerdictSince,
            view.Diagnosis.Checks,
            $"/tunnels/{Uri.EscapeDataString(tunnel.Name)}/report",
            new SummaryGateways(
                (tunnel.LocalGateway ?? config.Site.PublicIp)?.ToString(),
                latest?.Ike?.LocalHost?.ToString(),
                tunnel.RemoteGateway,
                latest?.RemoteGatewayAddress?.ToString(),
                latest?.Ike?.RemoteHost?.ToString()),
            tunnel.Partner,
            new SummarySource(tunnel.Source, source?.Up ?? false, source?.LastSuccess, source?.LastError),
            [.. (latest?.BestPractices ?? []).Select(p => new PracticeResult(p.Label, p.Followed, p.Reason))],
            Runbook(view, source),
            config.DashboardUrl(tunnel.Name)?.ToString())
        {
            SaStates = observed is null ? null : SaStates(observed),
        };
    }

    /// <summary>The newest IKE SA's state, then each configured pair's CHILD SA state, as the tunnel model last saw them.</summary>
    private static SummarySaStates SaStates(TunnelObservation observed) => new(
        ReportSaState.Of(observed.Ike.State, observed.Ike.StateText),
        [.. observed.Pairs.Select(p => new SummaryPairState(p.LocalTs, p.RemoteTs, ReportSaState.Of(p.State, p.StateText)))]);

    /// <summary>The runbook of the alert that names the tunnel's first failing step (docs/runbooks/).</summary>
    private static string? Runbook(TunnelView view, SourceState? source)
    {
        if (source is { Up: false })
        {
            return RunbookBase + "IpsecSourceDown.md";
        }

        var alert = view.Diagnosis.FirstFailingCheck switch
        {
            Checks.Internet => "IpsecPublicIpUnexpected",
            Checks.GatewayReachable => "IpsecGatewayUnreachable",
            Checks.Phase1 => "IpsecPhase1Down",
            Checks.Phase2SingleSa => view.Latest?.Pairs.Any(p => p.InstalledChildSas == 0) == true ? "IpsecPhase2Missing" : "IpsecDuplicateChildSas",
            Checks.TrafficBothDirections => "IpsecTunnelAsymmetricTraffic",
            Checks.InsideReachable => "IpsecInsideUnreachable",
            Checks.BestPractices => "IpsecBestPracticeViolated",
            _ => null,
        };
        return alert is null ? null : RunbookBase + alert + ".md";
    }
}

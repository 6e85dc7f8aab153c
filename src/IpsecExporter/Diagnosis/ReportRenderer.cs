using System.Globalization;
using System.Text;
using System.Text.Json;


namespace IpsecExporter.Diagnosis;

/// <summary>Renders a <see cref="PartnerReport"/> as Markdown (to paste into a ticket), plain text (e-mail) or JSON.</summary>
public static class ReportRenderer
{
    public static string Render(PartnerReport report, ReportFormat format) => format switch
    {
        ReportFormat.Json => JsonSerializer.Serialize(report, ReportJson.Options.GetTypeInfo(typeof(PartnerReport))) + "\n",
        ReportFormat.Markdown => Markdown(report),
        _ => Text(report),
    };

    public static string RenderJson(IReadOnlyList<PartnerReport> reports) =>
        JsonSerializer.Serialize(reports, ReportJson.Options.GetTypeInfo(typeof(IReadOnlyList<PartnerReport>))) + "\n";

    public static string ContentType(ReportFormat format) => format switch
    {
        ReportFormat.Json => "application/json; charset=utf-8",
        ReportFormat.Markdown => "text/markdown; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    };

    private static string Markdown(PartnerReport r)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# IPsec trouble report: {M(r.Tunnel)}");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"**Verdict: {r.Verdict}** since {Time(r.VerdictSince)}: {r.Reason}");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Generated {Time(r.GeneratedAt)}{(r.Description is null ? "" : $" for \"{M(r.Description)}\"")}; observations over the last {r.Window}.");
        md.AppendLine();
        md.AppendLine("## Both gateways");
        md.AppendLine("| | our side | partner side |");
        md.AppendLine("|---|---|---|");
        foreach (var (label, ours, theirs) in EndRows(r))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {label} | {M(ours)} | {M(theirs)} |");
        }

        md.AppendLine();
        md.AppendLine("## Networks and inside IPs");
        md.AppendLine("| local network | remote network | CHILD SAs (SPI associations) | sent packets (+window) | received packets (+window) | sent / received bytes | rekeys | PFS DH group |");
        md.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var p in r.NetworkPairs)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {p.Local} | {p.Remote} | {N(p.ChildSas)} | {N(p.SentPackets)} (+{Window(p.SentPacketsInWindow, p.SentBytesInWindow)}) | {N(p.ReceivedPackets)} (+{Window(p.ReceivedPacketsInWindow, p.ReceivedBytesInWindow)}) | {N(p.SentBytes)} / {N(p.ReceivedBytes)} | {N(p.Rekeys)} | {p.DhGroup ?? "none seen"} |");
        }

        if (SaStates(r) is { } states)
        {
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"SA states as the gateway reports them: {states}");
        }

        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Inside source IP: {r.InsideSource ?? "not configured"}");
        md.AppendLine();
        if (r.InsideTargets.Count > 0 || r.GatewayPing is not null)
        {
            md.AppendLine("| ping | target | requests | replies | loss | last RTT |");
            md.AppendLine("|---|---|---|---|---|---|");
            foreach (var (kind, probe) in Probes(r))
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {kind} | {probe.Target} | {probe.Requests} | {probe.Responses} | {PartnerReports.Percent(probe.LossRatio)} | {Rtt(probe.LastRttSeconds)} |");
            }

            md.AppendLine();
        }

        md.AppendLine("## Steps taken");
        var step = 1;
        foreach (var check in r.Steps)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"{step++}. **{StepName(check.Check)}**: {State(check.State)}. {check.Evidence}");
        }

        md.AppendLine();
        md.AppendLine("## Recent events");
        if (r.Events.Count == 0)
        {
            md.AppendLine("None recorded.");
        }

        foreach (var e in r.Events.TakeLast(30))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- {Time(e.At)} {Describe(e)}");
        }

        md.AppendLine();
        md.AppendLine("## Advice");
        foreach (var advice in r.Advice)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- {advice}");
        }

        if (r.DashboardUrl is not null)
        {
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"Dashboard: {r.DashboardUrl}");
        }

        return md.ToString();
    }

    private static string Text(PartnerReport r)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"IPsec trouble report: {r.Tunnel}{(r.Description is null ? "" : $" ({r.Description})")}");
        text.AppendLine(CultureInfo.InvariantCulture, $"Verdict: {r.Verdict.ToUpperInvariant()} since {Time(r.VerdictSince)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"Reason:  {r.Reason}");
        text.AppendLine(CultureInfo.InvariantCulture, $"Generated {Time(r.GeneratedAt)}, observations over the last {r.Window}.");
        text.AppendLine();
        text.AppendLine("BOTH GATEWAYS");
        foreach (var (label, ours, theirs) in EndRows(r))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {label,-20} ours: {ours,-32} partner: {theirs}");
        }

        text.AppendLine();
        text.AppendLine("NETWORKS AND INSIDE IPS");
        foreach (var p in r.NetworkPairs)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {p.Local} <-> {p.Remote}: {N(p.ChildSas)} CHILD SA(s); sent {N(p.SentPackets)} packets (+{Window(p.SentPacketsInWindow, p.SentBytesInWindow)}), received {N(p.ReceivedPackets)} (+{Window(p.ReceivedPacketsInWindow, p.ReceivedBytesInWindow)}); rekeys {N(p.Rekeys)}; PFS group {p.DhGroup ?? "none seen"}");
        }

        if (SaStates(r) is { } states)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  SA states: {states}");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"  inside source: {r.InsideSource ?? "not configured"}");
        foreach (var (kind, probe) in Probes(r))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {kind} ping {probe.Target}: {probe.Responses}/{probe.Requests} replies, loss {PartnerReports.Percent(probe.LossRatio)}, last RTT {Rtt(probe.LastRttSeconds)}");
        }

        text.AppendLine();
        text.AppendLine("STEPS TAKEN");
        var step = 1;
        foreach (var check in r.Steps)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {step++}. {StepName(check.Check)}: {State(check.State)}. {check.Evidence}");
        }

        text.AppendLine();
        text.AppendLine("RECENT EVENTS");
        if (r.Events.Count == 0)
        {
            text.AppendLine("  none recorded");
        }

        foreach (var e in r.Events.TakeLast(30))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {Time(e.At)} {Describe(e)}");
        }

        text.AppendLine();
        text.AppendLine("ADVICE");
        foreach (var advice in r.Advice)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  - {advice}");
        }

        if (r.DashboardUrl is not null)
        {
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"Dashboard: {r.DashboardUrl}");
        }

        return text.ToString();
    }

    private static IEnumerable<(string Label, string Ours, string Theirs)> EndRows(PartnerReport r)
    {
        yield return ("name", r.OurSide.Name ?? "-", r.TheirSide.Name ?? "-");
        yield return ("contact", r.OurSide.Contact ?? "-", r.TheirSide.Contact ?? "-");
        yield return ("location", r.OurSide.Location ?? "-", r.TheirSide.Location ?? "-");
        yield return ("equipment", r.OurSide.Equipment ?? "-", r.TheirSide.Equipment ?? "-");
        yield return ("public IP configured", r.OurSide.ConfiguredGateway ?? "-", r.TheirSide.ConfiguredGateway ?? "-");
        yield return ("public IP observed", r.OurSide.ObservedAddress ?? "-", r.TheirSide.ObservedAddress ?? "-");
        yield return ("IKE SA address", r.OurSide.IkeAddress ?? "-", r.TheirSide.IkeAddress ?? "-");
    }

    /// <summary>The IKE SA's and each pair's CHILD SA state, where the tunnel model knows them; null when it knows none.</summary>
    private static string? SaStates(PartnerReport r)
    {
        var states = r.NetworkPairs.Where(p => p.ChildSaState is not null).Select(p => $"{p.Local} <-> {p.Remote}: CHILD SA {p.ChildSaState!.Described}");
        if (r.IkeSaState is { } ike)
        {
            states = states.Prepend($"IKE SA {ike.Described}");
        }

        var text = string.Join("; ", states);
        return text.Length == 0 ? null : text;
    }

    private static IEnumerable<(string Kind, ReportProbe Probe)> Probes(PartnerReport r)
    {
        if (r.GatewayPing is not null)
        {
            yield return ("gateway", r.GatewayPing);
        }

        foreach (var target in r.InsideTargets)
        {
            yield return ("inside", target);
        }
    }

    public static string StepName(string check) => check switch
    {
        Checks.Internet => "Verify local internet connectivity and public IP",
        Checks.GatewayReachable => "Ping remote gateway internet IP address",
        Checks.Phase1 => "Phase 1 (IKE SA)",
        Checks.Phase2SingleSa => "Check Phase 2 associations",
        Checks.TrafficBothDirections => "Verify traffic over Phase 2 tunnels",
        Checks.InsideReachable => "Ping remote addresses via Phase 2 tunnel",
        Checks.BestPractices => "Best practices (PFS, lifetimes, time sync)",
        _ => check,
    };

    public static string State(CheckState state) => state switch
    {
        CheckState.Pass => "OK",
        CheckState.Fail => "FAILED",
        _ => "unknown",
    };

    /// <summary>
    /// Configured text (names, locations, descriptions) as literal Markdown: a partner pastes the report into a ticket
    /// system that renders it, so `*`, `[x](...)`, `|` or raw HTML from the configuration must stay text.
    /// </summary>
    public static string M(string text)
    {
        var escaped = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            _ = c switch
            {
                '\\' or '`' or '*' or '_' or '[' or ']' or '<' or '>' or '|' or '~' or '#' or '!' => escaped.Append('\\').Append(c),
                '&' => escaped.Append("&amp;"),
                '\r' or '\n' => escaped.Append(' '),
                _ => escaped.Append(c),
            };
        }

        return escaped.ToString();
    }

    private static string N(ulong? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "-";

    /// <summary>Growth over the window: packets, or bytes (so marked) where the source counts no packets.</summary>
    private static string Window(ulong? packets, ulong? bytes) => bytes is { } b ? $"{N(b)} bytes" : N(packets);

    private static string N(int? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "-";

    private static string Rtt(double? seconds) => seconds is { } s ? Diagnoser.FormatRtt(TimeSpan.FromSeconds(s)) : "-";

    /// <summary>An event's text; of folded repetitions, how many and since when.</summary>
    private static string Describe(TunnelEvent e) => e.Count == 1 ? e.Message
        : e.First == e.At ? $"{e.Message} (×{N(e.Count)})"
        : $"{e.Message} (×{N(e.Count)} between {(e.First.UtcDateTime.Date == e.At.UtcDateTime.Date ? Clock(e.First) : Time(e.First))} and {Clock(e.At)})";

    private static string N(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "-";

    private static string Clock(DateTimeOffset at) => at.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture);

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
}

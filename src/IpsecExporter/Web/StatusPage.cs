using System.Globalization;
using System.Net;
using System.Text;
using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis;

namespace IpsecExporter.Web;

/// <summary>
/// The <c>/</c> page: one row per tunnel, each troubleshooting step as a coloured cell with its evidence on hover, the
/// verdict and how long it has held. Self-contained HTML (no external assets) so it works air-gapped.
/// </summary>
public static class StatusPage
{
    private const string Style = """
        body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem;color:#1d2330;background:#f7f8fa}
        h1{font-size:1.4rem;margin:0 0 .25rem}p.meta{color:#5b6475;margin:0 0 1rem}
        table{border-collapse:collapse;background:#fff;box-shadow:0 1px 3px rgba(0,0,0,.12)}
        th,td{padding:.45rem .6rem;border-bottom:1px solid #e3e6ec;text-align:left;vertical-align:top;font-size:.9rem}
        th{background:#eef0f4;font-weight:600}
        td.check{text-align:center;font-weight:600;min-width:4.5rem;cursor:help}
        .pass{background:#d7f5dd;color:#135e26}.fail{background:#fbd9d7;color:#8a1c14}.unknown{background:#eceef2;color:#5b6475}
        .verdict{font-weight:700;text-transform:uppercase;padding:.15rem .45rem;border-radius:.25rem;display:inline-block}
        .v-healthy{background:#1f9d3a;color:#fff}.v-degraded{background:#e8a317;color:#1d2330}.v-desynchronized{background:#c0392b;color:#fff}
        .v-down{background:#7b1a12;color:#fff}.v-unknown{background:#8a93a5;color:#fff}
        .reason{color:#3b4252;max-width:32rem}a{color:#1f5fbf}
        """;

    public static string Render(ExporterConfig config, IReadOnlyList<TunnelView> views, DateTimeOffset now)
    {
        var html = new StringBuilder();
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"10\">");
        html.Append("<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>IPsec tunnels: ").Append(E(config.Site.Name)).Append("</title>");
        html.Append("<style>").Append(Style).Append("</style></head><body>");
        html.Append("<h1>IPsec tunnels at ").Append(E(config.Site.Name)).Append("</h1><p class=\"meta\">");
        if (config.Site.Location is not null)
        {
            html.Append(E(config.Site.Location)).Append(" · ");
        }

        if (config.Shard is not null)
        {
            html.Append("<span id=\"shard\">shard ").Append(E(config.Shard.ToString())).Append(": ").Append(config.Tunnels.Count)
                .Append(" of the ").Append(config.TunnelsInFile).Append(" tunnels in the configuration</span> · ");
        }

        html.Append("updated ").Append(E(now.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture)));
        html.Append(" · checks look back ").Append(E(Diagnoser.Format(config.Diagnosis.Window))).Append(" · refreshes every 10s</p>");
        html.Append("<table id=\"tunnels\"><thead><tr><th>tunnel</th><th>verdict</th>");
        foreach (var check in Checks.InOrder)
        {
            html.Append("<th title=\"").Append(E(ReportRenderer.StepName(check))).Append("\">").Append(E(check.Replace('_', ' '))).Append("</th>");
        }

        html.Append("<th>for</th><th>reason</th><th>links</th></tr></thead><tbody>");
        foreach (var tunnel in config.Tunnels)
        {
            var view = views.FirstOrDefault(v => v.Tunnel.Name == tunnel.Name);
            var verdict = view is null ? "unknown" : TunnelDiagnosis.StatusLabel(view.Diagnosis.Verdict);
            html.Append("<tr class=\"tunnel\" data-tunnel=\"").Append(E(tunnel.Name)).Append("\" data-verdict=\"").Append(verdict).Append("\"><td><strong>")
                .Append(E(tunnel.Name)).Append("</strong>");
            if (tunnel.Description is not null)
            {
                html.Append("<br><small>").Append(E(tunnel.Description)).Append("</small>");
            }

            html.Append("</td><td><span class=\"verdict v-").Append(verdict).Append("\">").Append(verdict).Append("</span></td>");
            foreach (var check in Checks.InOrder)
            {
                var result = view?.Diagnosis.Checks.FirstOrDefault(c => c.Check == check);
                var state = result?.State ?? CheckState.Unknown;
                var css = state.ToString().ToLowerInvariant();
                html.Append("<td class=\"check ").Append(css).Append("\" data-check=\"").Append(check).Append("\" title=\"")
                    .Append(E(result?.Evidence ?? "no observations yet")).Append("\">").Append(ReportRenderer.State(state)).Append("</td>");
            }

            var since = view is null ? "-" : Diagnoser.Format(now - view.VerdictSince);
            html.Append("<td>").Append(E(since)).Append("</td><td class=\"reason\">").Append(E(view?.Diagnosis.Reason ?? "no observations yet")).Append("</td><td>");
            var report = $"/tunnels/{Uri.EscapeDataString(tunnel.Name)}/report";
            html.Append("<a href=\"").Append(E(report)).Append("?format=markdown\">report</a> (<a href=\"").Append(E(report)).Append("?format=text\">text</a>, <a href=\"")
                .Append(E(report)).Append("?format=json\">json</a>)");
            if (config.DashboardUrl(tunnel.Name) is { } dashboard)
            {
                html.Append(" · <a href=\"").Append(E(dashboard.ToString())).Append("\">Grafana</a>");
            }

            html.Append("</td></tr>");
        }

        html.Append("</tbody></table><p class=\"meta\"><a href=\"/metrics\">metrics</a> · <a href=\"/api/tunnels\">api/tunnels</a> · <a href=\"/healthz\">healthz</a> · <a href=\"/readyz\">readyz</a></p></body></html>");
        return html.ToString();
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}

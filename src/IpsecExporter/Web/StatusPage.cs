using System.Net;
using System.Text;
using System.Text.Json;
using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis;

namespace IpsecExporter.Web;

/// <summary>
/// The <c>/</c> page, for the engineer woken at 3 am: every tunnel worst first, each troubleshooting step with its
/// evidence in plain sight (not in tooltips), both gateways, the partner's contact, the source's state and last error,
/// links to the report, the runbook and Grafana. One renderer, in the page: it draws the data embedded at load and
/// redraws from <c>/api/tunnels</c> every 10 s, keeping open rows and the scroll position. Self-contained (no external
/// assets) so it works air-gapped; narrow screens get cards instead of the check columns.
/// </summary>
public static class StatusPage
{
    private const int RefreshSeconds = 10;

    private const string Style = """
        body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1rem;color:#1d2330;background:#f7f8fa}
        h1{font-size:1.4rem;margin:0 0 .25rem}p.meta{color:#5b6475;margin:0 0 1rem}
        table{border-collapse:collapse;background:#fff;box-shadow:0 1px 3px rgba(0,0,0,.12);width:100%}
        th,td{padding:.45rem .6rem;border-bottom:1px solid #e3e6ec;text-align:left;vertical-align:top;font-size:.9rem}
        th{background:#eef0f4;font-weight:600}
        td.check{text-align:center;font-weight:600;min-width:4.5rem}
        .pass{background:#d7f5dd;color:#135e26}.fail{background:#fbd9d7;color:#8a1c14}.unknown,.pending{background:#eceef2;color:#5b6475}
        .verdict{font-weight:700;text-transform:uppercase;padding:.15rem .45rem;border-radius:.25rem;display:inline-block}
        .v-healthy{background:#1f9d3a;color:#fff}.v-degraded{background:#e8a317;color:#1d2330}.v-desynchronized{background:#c0392b;color:#fff}
        .v-down{background:#7b1a12;color:#fff}.v-unknown{background:#8a93a5;color:#fff}
        .reason{color:#3b4252;max-width:32rem}a{color:#1f5fbf}
        button.toggle{font:inherit;background:none;border:0;padding:0;cursor:pointer;text-align:left;color:inherit}
        tr.details td{background:#fbfcfd}tr.details[hidden]{display:none}
        ol.steps{margin:.2rem 0 .6rem;padding-left:1.4rem}ol.steps li{margin:.15rem 0;padding:.15rem .35rem;border-radius:.2rem}
        .evidence{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.82rem;white-space:pre-wrap;word-break:break-word;user-select:text}
        dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:.2rem 0 .6rem}dl.facts dt{font-weight:600}dl.facts dd{margin:0}
        .down{color:#8a1c14;font-weight:600}
        @media (max-width:720px){th.step,td.check,th.for,td.for{display:none}body{margin:.5rem}th,td{font-size:1rem}dl.facts{grid-template-columns:1fr}}
        """;

    // Builds DOM nodes with textContent only: configured names and source errors are never parsed as HTML.
    private const string Script = """
        (() => {
          const rank = {down: 0, desynchronized: 1, degraded: 2, unknown: 3, healthy: 4};
          const doc = JSON.parse(document.getElementById('status-data').textContent);
          const toggled = new Map();
          const el = (tag, attrs, ...children) => {
            const node = document.createElement(tag);
            for (const [name, value] of Object.entries(attrs || {})) if (value !== null && value !== undefined) node.setAttribute(name, value);
            for (const child of children) if (child !== null && child !== undefined) node.append(child);
            return node;
          };
          const link = (href, text) => el('a', {href}, text);
          const ago = iso => {
            let s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
            const parts = [];
            for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60]]) if (s >= size) { parts.push(Math.floor(s / size) + unit); s %= size; }
            if (parts.length < 2) parts.push(s + 's');
            return parts.slice(0, 2).join(' ');
          };
          const state = c => String(c.state).toLowerCase();
          const shown = (t, c) => {
            const s = state(c);
            if (c.check === 'best_practices' && s === 'pass' && t.practices.some(p => p.ok === null)) return ['pending', 'pending'];
            return [s, s === 'pass' ? 'OK' : s === 'fail' ? 'FAILED' : 'unknown'];
          };
          const fact = (dl, name, ...values) => { dl.append(el('dt', null, name), el('dd', null, ...values)); };
          const orNone = v => v === null || v === undefined || v === '' ? '-' : v;
          function details(t) {
            const steps = el('ol', {class: 'steps'});
            for (const c of t.checks) {
              const [css, text] = shown(t, c);
              steps.append(el('li', {class: css, 'data-step': c.check}, el('b', null, doc.steps[c.check] || c.check), ': ' + text + '. ', el('span', {class: 'evidence'}, c.evidence)));
            }
            const dl = el('dl', {class: 'facts'});
            const g = t.gateways;
            fact(dl, 'Local gateway', orNone(g.local), g.local_observed && g.local_observed !== g.local ? ' (IKE seen from ' + g.local_observed + ')' : '');
            fact(dl, 'Remote gateway', g.remote, g.remote_resolved && g.remote_resolved !== g.remote ? ' = ' + g.remote_resolved : '',
              g.remote_observed && g.remote_observed !== (g.remote_resolved || g.remote) ? ' (IKE seen at ' + g.remote_observed + ')' : '');
            const sas = t.sa_states;
            if (sas) fact(dl, 'SA states', el('span', {'data-sa-states': ''}, [sas.ike ? 'IKE SA ' + sas.ike.described : 'no IKE SA listed',
              ...sas.pairs.map(x => x.local + ' <-> ' + x.remote + ': ' + (x.child_sa ? 'CHILD SA ' + x.child_sa.described : 'no CHILD SA listed'))].join('; ')));
            const p = t.partner;
            const contact = p.contact ? (/^[^@\s]+@[^@\s]+$/.test(p.contact) ? link('mailto:' + p.contact, p.contact) : p.contact) : '-';
            fact(dl, 'Partner', [p.name, p.location].filter(Boolean).join(', ') || '-', ' · ', contact);
            const src = t.source;
            fact(dl, 'Source', src.name + ': ', el('span', {class: src.up ? 'pass' : 'down', 'data-source-up': String(src.up)}, src.up ? 'up' : 'DOWN'),
              src.last_success ? ' · last success ' + ago(src.last_success) + ' ago' : ' · never read',
              src.last_error ? el('div', {class: 'evidence', 'data-source-error': ''}, 'last error: ' + src.last_error) : null);
            const pending = t.practices.filter(x => x.ok === null);
            if (pending.length) fact(dl, 'Pending', pending.map(x => x.practice + ': ' + x.reason).join('; '));
            const links = el('p', {class: 'links'}, link(t.report_url + '?format=markdown', 'partner report'), ' (', link(t.report_url + '?format=text', 'text'), ', ',
              link(t.report_url + '?format=json', 'json'), ')');
            if (t.runbook_url) links.append(' · ', link(t.runbook_url, 'runbook'));
            if (t.dashboard_url) links.append(' · ', link(t.dashboard_url, 'Grafana'));
            return [steps, dl, links];
          }
          function render(tunnels) {
            const scroll = window.scrollY;
            const body = document.querySelector('#tunnels tbody');
            const columns = 4 + doc.check_order.length;
            body.replaceChildren();
            const sorted = [...tunnels].sort((a, b) => (rank[a.verdict] - rank[b.verdict]) || a.tunnel.localeCompare(b.tunnel));
            for (const t of sorted) {
              const open = toggled.has(t.tunnel) ? toggled.get(t.tunnel) : t.verdict !== 'healthy';
              const name = el('button', {class: 'toggle', type: 'button', 'aria-expanded': String(open)}, el('strong', null, t.tunnel));
              const row = el('tr', {class: 'tunnel', 'data-tunnel': t.tunnel, 'data-verdict': t.verdict},
                el('td', null, name, t.description ? el('br') : null, t.description ? el('small', null, t.description) : null),
                el('td', null, el('span', {class: 'verdict v-' + t.verdict}, t.verdict)));
              for (const check of doc.check_order) {
                const c = t.checks.find(x => x.check === check);
                const [css, text] = c ? shown(t, c) : ['unknown', 'unknown'];
                row.append(el('td', {class: 'check ' + css, 'data-check': check, title: c ? c.evidence : 'no observations yet'}, text));
              }
              row.append(el('td', {class: 'for'}, ago(t.verdict_since)), el('td', {class: 'reason'}, t.reason));
              const more = el('tr', {class: 'details', 'data-details-for': t.tunnel}, el('td', {colspan: String(columns)}, ...details(t)));
              more.hidden = !open;
              name.addEventListener('click', () => {
                const now = more.hidden;
                more.hidden = !now;
                name.setAttribute('aria-expanded', String(now));
                toggled.set(t.tunnel, now);
              });
              body.append(row, more);
            }
            document.getElementById('updated').textContent = new Date().toISOString().replace('T', ' ').replace(/\..*/, ' UTC');
            window.scrollTo(0, scroll);
          }
          render(doc.tunnels);
          setInterval(async () => {
            try {
              const response = await fetch('/api/tunnels', {cache: 'no-store', credentials: 'same-origin'});
              if (!response.ok) throw new Error('HTTP ' + response.status);
              render(await response.json());
              document.getElementById('refresh').textContent = '';
            } catch (e) {
              document.getElementById('refresh').textContent = ' · refresh failed (' + e.message + '), showing the last data';
            }
          }, doc.refresh_seconds * 1000);
        })();
        """;

    public static string Render(ExporterConfig config, IReadOnlyList<TunnelSummary> tunnels)
    {
        var data = new StatusPageData(
            tunnels,
            Checks.InOrder,
            Checks.InOrder.ToDictionary(c => c, ReportRenderer.StepName),
            RefreshSeconds);
        var html = new StringBuilder();
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">");
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

        html.Append("updated <span id=\"updated\"></span> · checks look back ").Append(E(Diagnoser.Format(config.Diagnosis.Window)))
            .Append(" · worst first; click a tunnel for its evidence<span id=\"refresh\"></span></p>");
        html.Append("<table id=\"tunnels\"><thead><tr><th>tunnel</th><th>verdict</th>");
        foreach (var check in Checks.InOrder)
        {
            html.Append("<th class=\"step\" title=\"").Append(E(ReportRenderer.StepName(check))).Append("\">").Append(E(check.Replace('_', ' '))).Append("</th>");
        }

        html.Append("<th class=\"for\">for</th><th>reason</th></tr></thead><tbody></tbody></table>");
        html.Append("<noscript><p>This page draws itself with JavaScript; without it, read <a href=\"/api/tunnels\">/api/tunnels</a>.</p></noscript>");
        html.Append("<p class=\"meta\"><a href=\"/metrics\">metrics</a> · <a href=\"/api/tunnels\">api/tunnels</a> · <a href=\"/healthz\">healthz</a> · <a href=\"/readyz\">readyz</a></p>");
        html.Append("<script id=\"status-data\" type=\"application/json\">").Append(JsonSerializer.Serialize(data, ReportJson.Embedded)).Append("</script>");
        html.Append("<script>").Append(Script).Append("</script></body></html>");
        return html.ToString();
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}

/// <summary>The JSON a status page starts from: its tunnels (as <c>/api/tunnels</c>) and how to draw the steps.</summary>
public sealed record StatusPageData(IReadOnlyList<TunnelSummary> Tunnels, IReadOnlyList<string> CheckOrder, IReadOnlyDictionary<string, string> Steps, int RefreshSeconds);

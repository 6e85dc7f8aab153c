using System.Text.RegularExpressions;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Monitoring;

/// <summary>
/// Lint of alerts/: the alert names of SPEC.md, the annotations a partner report needs, runbooks, and that every metric
/// a rule reads is one the exporter exposes. promtool itself checks syntax and behaviour (scripts/suites/promtool-rules.sh).
/// </summary>
public sealed partial class AlertRulesTests
{
    private const string RunbookBase = "https://github.com/ipsec-exporter/ipsec-exporter/blob/main/docs/runbooks/";
    private const string ReportUrl = "http://{{ $labels.instance }}/tunnels/{{ $labels.tunnel | urlquery }}/report";
    private const string StatusUrl = "http://{{ $labels.instance }}/";
    private const string TunnelInfoJoin = "* on(job, instance, tunnel) group_left(location, local_gateway, remote_gateway, source) ipsec_tunnel_info";

    // SPEC.md, "Alerts": these names are the contract.
    private static readonly string[] SpecAlerts =
    [
        "IpsecTunnelAsymmetricTraffic", "IpsecDuplicateChildSas", "IpsecPhase2Missing", "IpsecPhase1Down", "IpsecGatewayPacketLoss",
        "IpsecGatewayUnreachable", "IpsecInsideUnreachable", "IpsecPublicIpChanged", "IpsecPublicIpUnexpected", "IpsecRemoteGatewayAddressChanged", "IpsecRemoteGatewayUnresolvable", "IpsecClockSkew",
        "IpsecBestPracticeViolated", "IpsecRekeyCollision", "IpsecSourceDown", "IpsecExporterDown",
    ];

    // About this site or a source rather than one tunnel: they link the status page, not a tunnel's report.
    private static readonly string[] SiteAlerts = ["IpsecPublicIpChanged", "IpsecPublicIpUnexpected", "IpsecClockSkew", "IpsecSourceDown"];

    // Written by Prometheus itself (the scrape health, the rule engine's alert states), not by the exporter.
    private static readonly string[] PrometheusSeries = ["up", "ALERTS"];

    [Fact]
    public void Every_alert_of_the_spec_is_defined_and_no_other()
    {
        Assert.Equal(SpecAlerts.Order(), RuleFiles.Alerts().Select(a => a.Alert!).Distinct().Order());
    }

    [Fact]
    public void Every_alert_has_a_severity_a_summary_a_templated_description_and_its_runbook()
    {
        foreach (var alert in RuleFiles.Alerts())
        {
            Assert.Contains(alert.Labels.GetValueOrDefault("severity"), (string[])["critical", "warning", "info"]);
            Assert.False(string.IsNullOrWhiteSpace(alert.Annotations.GetValueOrDefault("summary")), $"{alert.Alert}: summary");
            Assert.Contains("{{", alert.Annotations.GetValueOrDefault("description") ?? "", StringComparison.Ordinal);
            Assert.Equal(RunbookBase + alert.Alert + ".md", alert.Annotations.GetValueOrDefault("runbook_url"));
        }
    }

    [Fact]
    public void Tunnel_alerts_carry_both_public_gateways_the_location_and_the_report_link()
    {
        var tunnelAlerts = RuleFiles.Alerts().Where(a => !SiteAlerts.Contains(a.Alert) && a.Alert != "IpsecExporterDown").ToList();
        Assert.NotEmpty(tunnelAlerts);
        foreach (var alert in tunnelAlerts)
        {
            Assert.Contains(TunnelInfoJoin, Whitespace().Replace(alert.Expression, " "), StringComparison.Ordinal);
            Assert.Equal(ReportUrl, alert.Annotations.GetValueOrDefault("report_url"));
        }
    }

    [Fact]
    public void Site_alerts_link_the_status_page_except_when_the_exporter_itself_is_down()
    {
        foreach (var alert in RuleFiles.Alerts().Where(a => SiteAlerts.Contains(a.Alert)))
        {
            Assert.Equal(StatusUrl, alert.Annotations.GetValueOrDefault("status_url"));
        }

        Assert.All(RuleFiles.Alerts().Where(a => a.Alert == "IpsecExporterDown"), a => Assert.False(a.Annotations.ContainsKey("status_url")));
    }

    [Fact]
    public void Every_alert_has_a_runbook_with_meaning_impact_diagnosis_and_mitigation_and_every_runbook_an_alert()
    {
        var runbooks = Directory.GetFiles(Repository.Path("docs", "runbooks"), "*.md").Select(Path.GetFileNameWithoutExtension);
        Assert.Equal(SpecAlerts.Order(), runbooks.Order());
        foreach (var alert in SpecAlerts)
        {
            var text = File.ReadAllText(Repository.Path("docs", "runbooks", alert + ".md"));
            Assert.StartsWith("# " + alert + "\n", text, StringComparison.Ordinal);
            foreach (var section in (string[])["## Meaning", "## Impact", "## Diagnosis", "## Mitigation"])
            {
                Assert.True(text.Contains("\n" + section + "\n", StringComparison.Ordinal), $"{alert}.md lacks {section}");
            }
        }
    }

    [Fact]
    public void Every_alert_and_recording_rule_is_documented_in_alerts_md()
    {
        var doc = File.ReadAllText(Repository.Path("docs", "ALERTS.md"));
        foreach (var name in RuleFiles.Rules().Select(r => r.Alert ?? r.Record!).Distinct())
        {
            Assert.True(doc.Contains($"`{name}`", StringComparison.Ordinal), $"docs/ALERTS.md does not mention `{name}`");
        }
    }

    [Fact]
    public async Task Every_metric_a_rule_reads_is_exported_by_the_exporter_or_recorded_by_a_rule()
    {
        var rules = RuleFiles.Rules();
        var known = (await ExportedMetrics.NamesAsync()).Concat(rules.Select(r => r.Record).OfType<string>()).Concat(PrometheusSeries).ToHashSet();
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rule in rules)
        {
            // Annotation templates query too: {{ query (printf "ipsec_public_ip_info{...}" ...) }}.
            var queries = rule.Annotations.Values.SelectMany(v => TemplateQuery().Matches(v)).Select(m => m.Groups[1].Value);
            foreach (var name in queries.Prepend(rule.Expression).SelectMany(PromQlNames.Of))
            {
                Assert.True(known.Contains(name), $"{rule.Alert ?? rule.Record} reads {name}, which neither the exporter nor a recording rule provides");
                used.Add(name);
            }
        }

        Assert.Contains("ipsec_child_sa_sent_packets_total", used);
        Assert.Contains("ipsec_public_ip_info", used);
    }

    [Fact]
    public void Every_alert_is_tested_not_firing_and_firing()
    {
        var cases = RuleFiles.AlertTestCases();
        foreach (var alert in SpecAlerts)
        {
            Assert.True(cases.Any(c => c.Alert == alert && c.ExpectedAlerts == 0), $"{alert}: no promtool case where it does not fire");
            Assert.True(cases.Any(c => c.Alert == alert && c.ExpectedAlerts > 0), $"{alert}: no promtool case where it fires");
        }
    }

    [Fact]
    public void Every_recording_rule_is_tested()
    {
        var tested = RuleFiles.TestedExpressions().SelectMany(PromQlNames.Of).ToHashSet();
        foreach (var record in RuleFiles.Rules().Select(r => r.Record).OfType<string>())
        {
            Assert.True(tested.Contains(record), $"{record} has no promql_expr_test");
        }
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"query \(?(?:printf )?""([^""]*)""")]
    private static partial Regex TemplateQuery();
}

using System.Net;
using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis;
using IpsecExporter.Diagnosis.BestPractices;
using IpsecExporter.Sources;
using IpsecExporter.Tunnels;
using IpsecExporter.Web;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace IpsecExporter.Tests.Diagnosis;

/// <summary>
/// A desynchronized tunnel (sent grows, received flat) diagnosed by the real service over two minutes of samples, then
/// reported: golden files for markdown, text and JSON, and the metrics the service exports.
/// </summary>
public sealed class PartnerReportTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Start);
    private readonly ScriptedSampler _sampler = new();
    private readonly ExporterConfig _config;
    private readonly DiagnosisService _service;

    public PartnerReportTests()
    {
        var loader = new ConfigLoader(TestSources.Registry());
        _config = loader.Load(Fixtures.Path("config", "valid-full.yaml"));
        var store = new ConfigStore(_config, loader, NullLogger<ConfigStore>.Instance);
        _service = new DiagnosisService(store, _sampler, _time, NullLogger<DiagnosisService>.Instance);
    }

    [Theory]
    [InlineData(ReportFormat.Markdown, "desynchronized.md")]
    [InlineData(ReportFormat.Text, "desynchronized.txt")]
    [InlineData(ReportFormat.Json, "desynchronized.json")]
    public async Task A_desynchronized_tunnel_reports_the_checklist(ReportFormat format, string golden)
    {
        await RunDesynchronizedAsync();
        var report = PartnerReports.Build(_config, _service.Get("hq-branch-b")!, _time.GetUtcNow());

        var rendered = ReportRenderer.Render(report, format);

        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            await File.WriteAllTextAsync(Repository.Path("tests", "IpsecExporter.Tests", "Fixtures", "reports", golden), rendered);
        }

        var expected = await File.ReadAllTextAsync(Fixtures.Path("reports", golden));
        Assert.Equal(expected, rendered);
    }

    [Fact]
    public async Task Configured_text_stays_literal_text_in_the_markdown_report()
    {
        await RunDesynchronizedAsync();
        const string Hostile = "**urgent** <img src=x onerror=alert(1)> [click](https://evil.example) | cell\n# heading";
        var tunnel = _config.Tunnels[0] with { Description = Hostile, Partner = _config.Tunnels[0].Partner with { Name = Hostile } };
        var config = _config with { Tunnels = [tunnel], Site = _config.Site with { Location = Hostile } };
        var report = PartnerReports.Build(config, _service.Get("hq-branch-b")! with { Tunnel = tunnel }, _time.GetUtcNow());

        var markdown = ReportRenderer.Render(report, ReportFormat.Markdown);

        const string Escaped = "\\*\\*urgent\\*\\* \\<img src=x onerror=alert(1)\\> \\[click\\](https://evil.example) \\| cell \\# heading";
        Assert.Contains($"for \"{Escaped}\"", markdown, StringComparison.Ordinal);
        Assert.Contains($"| name | hq | {Escaped} |", markdown, StringComparison.Ordinal);
        Assert.Contains($"| location | {Escaped} | - |", markdown, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"(?<!\\)<img", markdown);
        Assert.DoesNotContain("**urgent**", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_service_exports_checks_and_exactly_one_status()
    {
        await RunDesynchronizedAsync();

        var text = MetricsText.Render(_service);

        Assert.Contains("ipsec_tunnel_status{tunnel=\"hq-branch-b\",status=\"desynchronized\"} 1", text, StringComparison.Ordinal);
        foreach (var other in new[] { "healthy", "degraded", "down", "unknown" })
        {
            Assert.Contains($"ipsec_tunnel_status{{tunnel=\"hq-branch-b\",status=\"{other}\"}} 0", text, StringComparison.Ordinal);
        }

        Assert.Contains("ipsec_tunnel_check{tunnel=\"hq-branch-b\",check=\"phase1\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_tunnel_check{tunnel=\"hq-branch-b\",check=\"traffic_both_directions\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_tunnel_check{tunnel=\"hq-branch-b\",check=\"inside_reachable\"} 0", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Events_record_the_rekey_and_the_verdict_change()
    {
        await RunDesynchronizedAsync();

        var events = _service.Get("hq-branch-b")!.Events.Select(e => (e.Message, e.Count)).ToList();

        Assert.Contains(("10.1.0.0/24 <-> 10.2.0.0/24: CHILD SA rekeyed, DH group ECP_256", 13L), events);
        Assert.Contains(events, e => e.Message.StartsWith("healthy -> desynchronized: one-way traffic", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_report_and_the_api_show_the_SA_states_with_the_vendors_words_where_they_differ()
    {
        await RunDesynchronizedAsync();
        var view = _service.Get("hq-branch-b")!;
        var pairs = view.Tunnel.NetworkPairs;
        PairObservation Pair(int i, ChildSaState state, string text) =>
            new(pairs[i], pairs[i].LocalText, pairs[i].RemoteText, 1, null, null, null, null, null, null, 0, null, null, null, null, null) { State = state, StateText = text };
        var observed = new TunnelObservation(
            "hq-branch-b", view.Tunnel.Source, view.Tunnel.Connection, _time.GetUtcNow(), true, _time.GetUtcNow(), true,
            new IkeObservation(true, 1, null, null, null, null, 0, 0, null, null) { State = IkeSaState.Established, StateText = "up" },
            [Pair(0, ChildSaState.Installed, "INSTALLED"), Pair(1, ChildSaState.Unknown, "PASSIVE")],
            null, null, 0);

        var report = PartnerReports.Build(_config, view, _time.GetUtcNow(), observed);
        var summary = TunnelSummaries.Build(_config, view, new Dictionary<string, SourceState>(), observed);

        const string States = "IKE SA ESTABLISHED (vendor: \"up\"); 10.1.0.0/24 <-> 10.2.0.0/24: CHILD SA INSTALLED; fd00:1::/64 <-> fd00:2::/64: CHILD SA UNKNOWN (vendor: \"PASSIVE\")";
        Assert.Contains($"\n  SA states: {States}\n", ReportRenderer.Render(report, ReportFormat.Text), StringComparison.Ordinal);
        Assert.Contains($"\nSA states as the gateway reports them: {States}\n", ReportRenderer.Render(report, ReportFormat.Markdown), StringComparison.Ordinal);
        var json = System.Text.Json.Nodes.JsonNode.Parse(ReportRenderer.Render(report, ReportFormat.Json))!;
        Assert.Equal("up", (string?)json["ike_sa_state"]!["vendor"]);
        Assert.Equal("UNKNOWN (vendor: \"PASSIVE\")", (string?)json["network_pairs"]![1]!["child_sa_state"]!["described"]);
        var api = System.Text.Json.Nodes.JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize<IReadOnlyList<TunnelSummary>>([summary], ReportJson.Options))![0]!["sa_states"]!;
        Assert.Equal("ESTABLISHED (vendor: \"up\")", (string?)api["ike"]!["described"]);
        Assert.Equal(("fd00:1::/64", "PASSIVE"), ((string?)api["pairs"]![1]!["local"], (string?)api["pairs"]![1]!["child_sa"]!["vendor"]));
        // Without the tunnel model's view (the golden reports), nothing of it appears.
        Assert.DoesNotContain("SA states", ReportRenderer.Render(PartnerReports.Build(_config, view, _time.GetUtcNow()), ReportFormat.Text), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bytes_only_source_reports_its_bytes_over_the_window()
    {
        // A FortiGate-like source: bytes both ways, no packet counters.
        for (var second = 0; second <= 120; second += 5)
        {
            if (second > 0)
            {
                _time.Advance(TimeSpan.FromSeconds(5));
            }

            var bytes = 5000 + ((ulong)second * 100);
            _sampler.Set("hq-branch-b", now => new TunnelSample(
                now,
                SourceUp: true,
                Ike: Observations.Ike(),
                Pairs: [Observations.Pair("10.1.0.0/24", "10.2.0.0/24", 1, bytes, bytes / 2, null, null), Observations.Pair("fd00:1::/64", "fd00:2::/64", 1, bytes, bytes, null, null)],
                Gateway: null,
                Inside: [],
                Internet: new InternetSample(true, IPAddress.Parse("203.0.113.10"), true, null),
                BestPractices: []));
            await _service.CollectOnceAsync(CancellationToken.None);
        }

        var report = PartnerReports.Build(_config, _service.Get("hq-branch-b")!, _time.GetUtcNow());

        var pair = report.NetworkPairs[0];
        Assert.Equal((12000UL, 6000UL), (pair.SentBytesInWindow, pair.ReceivedBytesInWindow));
        Assert.Equal((null, null), (pair.SentPacketsInWindow, pair.ReceivedPacketsInWindow));
        Assert.Contains("| 10.1.0.0/24 | 10.2.0.0/24 | 1 | - (+12000 bytes) | - (+6000 bytes) | 17000 / 8500 |", ReportRenderer.Render(report, ReportFormat.Markdown), StringComparison.Ordinal);
        Assert.Contains("sent - packets (+12000 bytes), received - (+6000 bytes)", ReportRenderer.Render(report, ReportFormat.Text), StringComparison.Ordinal);
        var json = ReportRenderer.Render(report, ReportFormat.Json);
        Assert.Contains("\"sent_bytes_in_window\": 12000", json, StringComparison.Ordinal);
        Assert.Contains("\"received_bytes_in_window\": 6000", json, StringComparison.Ordinal);
    }

    /// <summary>Healthy for two minutes (with 13 rekeys), then two minutes of sent packets that get no answer.</summary>
    private async Task RunDesynchronizedAsync()
    {
        ulong sent = 1000, received = 1000, gatewayRequests = 500, insideReplies = 400;
        ulong rekeys = 0;
        for (var second = 0; second <= 240; second += 5)
        {
            if (second > 0)
            {
                _time.Advance(TimeSpan.FromSeconds(5));
            }

            var healthy = second <= 120;
            sent += 5;
            received += healthy ? 5u : 0u;
            gatewayRequests += 5;
            insideReplies += healthy ? 5u : 0u;
            // Rekeyed at every sample from the first to the second minute: one event with a count in the report.
            rekeys = second < 60 ? 0u : (ulong)(Math.Min(second, 120) - 60) / 5 + 1;
            var (s, r, g, i, k) = (sent, received, gatewayRequests, insideReplies, rekeys);
            _sampler.Set("hq-branch-b", now => new TunnelSample(
                now,
                SourceUp: true,
                Ike: Observations.Ike(localHost: IPAddress.Parse("203.0.113.10"), remoteHost: IPAddress.Parse("198.51.100.20")),
                Pairs:
                [
                    Observations.Pair("10.1.0.0/24", "10.2.0.0/24", 1, s * 84, r * 84, s, r, rekeys: k, dhGroup: k > 0 ? "ECP_256" : null),
                    Observations.Pair("fd00:1::/64", "fd00:2::/64", 1, g * 104, g * 104, g, g),
                ],
                Gateway: new ProbeCounts(g, g, TimeSpan.FromMicroseconds(830)),
                Inside: [new InsideSample(IPAddress.Parse("10.2.0.1"), new ProbeCounts(g, i, TimeSpan.FromMicroseconds(1450))), new InsideSample(IPAddress.Parse("10.2.0.20"), new ProbeCounts(g, 400, null))],
                Internet: new InternetSample(true, IPAddress.Parse("203.0.113.10"), true, null),
                BestPractices: [new BestPracticeResult(BestPractice.Pfs, true, "DH group ECP_256 on rekeyed CHILD SAs")])
            {
                RemoteGatewayAddress = IPAddress.Parse("198.51.100.20"),
            });
            await _service.CollectOnceAsync(CancellationToken.None);
        }
    }
}

using System.Net;
using System.Text.RegularExpressions;
using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis;
using IpsecExporter.Diagnosis.BestPractices;
using IpsecExporter.Sources;
using IpsecExporter.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace IpsecExporter.Tests.Web;

/// <summary>The status page, the API and the report endpoints of a real Kestrel, the page read by real headless Chromium.</summary>
public sealed partial class StatusPageTests : IAsyncLifetime
{
    private const string Config = """
        site: { name: hq, location: "HQ, rack B4" }
        sources:
          - { name: gw, type: scripted }
        tunnels:
          - name: branch-b
            description: "HQ to Branch B"
            partner: { name: "Branch B IT", contact: "noc@branch-b.example", location: "Branch B, cabinet 2" }
            local_gateway: 203.0.113.10
            remote_gateway: 198.51.100.20
            network_pairs: [ { local: 10.1.0.0/24, remote: 10.2.0.0/24 } ]
            inside: { source: 10.1.0.1, targets: [10.2.0.1] }
          - name: branch-c
            remote_gateway: 198.51.100.30
            network_pairs: [ { local: 10.1.0.0/24, remote: 10.3.0.0/24 } ]
        grafana_url: https://grafana.example.net
        """;

    private readonly TempDirectory _directory = new();
    private readonly ScriptedSampler _sampler = new();
    private readonly ScriptedSourceType _sources = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
    private WebApplication? _app;
    private Uri _base = null!;

    public async Task InitializeAsync()
    {
        var registry = TestSources.Registry(_sources);
        var path = _directory.Write("ipsec.yaml", Config);
        var config = new ConfigLoader(registry).Load(path);
        (_app, _base) = InProcessExporter.Build(config, registry, configureServices: services =>
        {
            services.AddSingleton<ITunnelSampler>(_sampler);
            services.AddSingleton<TimeProvider>(_time);
        });

        ulong n = 100;
        _sampler.Set("branch-b", now => Sample(now, "10.2.0.0/24", n, n));
        _sampler.Set("branch-c", now => Sample(now, "10.3.0.0/24", n, 100) with { Inside = [] });
        var diagnosis = _app.Services.GetRequiredService<DiagnosisService>();
        await diagnosis.CollectOnceAsync(CancellationToken.None);
        n = 160;
        _time.Advance(TimeSpan.FromSeconds(60));
        await diagnosis.CollectOnceAsync(CancellationToken.None);
        await _app.StartAsync();
        // The diagnosis reads the scripted sampler; the tunnel model reads this source (the SA states on the page).
        await SetSourceAsync(_ => Task.FromResult(new SaSnapshot(_time.GetUtcNow(), [Sas.Ike("branch-b", "1", "ESTABLISHED", Sas.Child("1")) with { StateText = "up" }])));
    }

    /// <summary>
    /// The page for 3 am, in a real Chromium driven over DevTools on a phone-sized screen: worst tunnel first, the
    /// evidence of the failing step in plain text, both gateways, the partner contact, the source state and the runbook;
    /// a row opened by hand stays open, and the scroll position stays, when the page redraws from /api/tunnels; a
    /// source that fails shows its last error. Screenshots of each state are kept in artifacts/.
    /// </summary>
    [Fact]
    [Trait("Needs", "browser")]
    public async Task The_page_puts_the_worst_first_shows_the_evidence_and_keeps_open_rows_across_refreshes()
    {
        var artifacts = Repository.Path("artifacts");
        Directory.CreateDirectory(artifacts);
        await using var page = await ChromiumPage.OpenAsync(_base, 420, 700);
        await WaitForAsync(page, "document.querySelectorAll('tr.tunnel').length === 2");

        Assert.Equal("branch-c,branch-b", (string?)await page.EvaluateAsync("[...document.querySelectorAll('tr.tunnel')].map(r => r.dataset.tunnel).join()"));
        var evidence = (string?)await page.EvaluateAsync(
            "(() => { const d = document.querySelector('tr.details[data-details-for=\"branch-c\"]'); return d.hidden ? 'hidden' : d.querySelector('[data-step=traffic_both_directions] .evidence').innerText; })()");
        Assert.StartsWith("10.1.0.0/24 <-> 10.3.0.0/24: sent +60, received +0 packets", evidence, StringComparison.Ordinal);
        Assert.Equal(true, (bool?)await page.EvaluateAsync("document.querySelector('tr.details[data-details-for=\"branch-b\"]').hidden"));
        Assert.Contains("IpsecTunnelAsymmetricTraffic.md", (string?)await page.EvaluateAsync("document.querySelector('tr.details[data-details-for=\"branch-c\"] .links').innerHTML"), StringComparison.Ordinal);
        await page.ScreenshotAsync(Path.Combine(artifacts, "status-page-desynchronized.png"));

        // Open the healthy row by hand and scroll down; then the tunnel heals and the page redraws from /api/tunnels.
        await page.EvaluateAsync("document.querySelector('tr.tunnel[data-tunnel=\"branch-b\"] button.toggle').click()");
        var facts = (string?)await page.EvaluateAsync("document.querySelector('tr.details[data-details-for=\"branch-b\"]').innerText");
        Assert.Contains("203.0.113.10", facts, StringComparison.Ordinal);
        Assert.Contains("198.51.100.20", facts, StringComparison.Ordinal);
        Assert.Contains("noc@branch-b.example", facts, StringComparison.Ordinal);
        Assert.Contains("gw: up", facts, StringComparison.Ordinal);
        Assert.Equal(
            "IKE SA ESTABLISHED (vendor: \"up\"); 10.1.0.0/24 <-> 10.2.0.0/24: CHILD SA INSTALLED",
            (string?)await page.EvaluateAsync("document.querySelector('tr.details[data-details-for=\"branch-b\"] [data-sa-states]').innerText"));
        var scrolled = (double?)await page.EvaluateAsync("window.scrollTo(0, 150), window.scrollY");
        Assert.True(scrolled > 0, "the page should be taller than a phone screen");
        _sampler.Set("branch-c", now => Sample(now, "10.3.0.0/24", 220, 160) with { Inside = [] });
        await HealAsync();
        await WaitForAsync(page, "[...document.querySelectorAll('tr.tunnel')].every(r => r.dataset.verdict === 'healthy')");
        Assert.Equal(false, (bool?)await page.EvaluateAsync("document.querySelector('tr.details[data-details-for=\"branch-b\"]').hidden"));
        Assert.Equal(scrolled, (double?)await page.EvaluateAsync("window.scrollY"));
        await page.ScreenshotAsync(Path.Combine(artifacts, "status-page-healthy.png"));

        // The source fails: its state and last error appear on every tunnel it feeds.
        await SetSourceAsync(_ => throw new IOException("connect /run/strongswan/charon.vici: connection refused"));
        await WaitForAsync(page, "document.querySelector('[data-source-up=\"false\"]') !== null");
        var error = (string?)await page.EvaluateAsync("document.querySelector('[data-source-error]').innerText");
        Assert.Contains("connection refused", error, StringComparison.Ordinal);
        await page.ScreenshotAsync(Path.Combine(artifacts, "status-page-source-down.png"));
        foreach (var shot in (string[])["desynchronized", "healthy", "source-down"])
        {
            Assert.True(new FileInfo(Path.Combine(artifacts, $"status-page-{shot}.png")).Length > 10_000, $"the {shot} screenshot is empty");
        }
    }

    [Fact]
    public async Task The_api_carries_gateways_partner_source_and_runbook()
    {
        using var http = new HttpClient { BaseAddress = _base };

        using var document = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("api/tunnels"));

        var branchB = document.RootElement[0];
        Assert.Equal("203.0.113.10", branchB.GetProperty("gateways").GetProperty("local").GetString());
        Assert.Equal("198.51.100.20", branchB.GetProperty("gateways").GetProperty("remote").GetString());
        Assert.Equal("noc@branch-b.example", branchB.GetProperty("partner").GetProperty("contact").GetString());
        Assert.True(branchB.GetProperty("source").GetProperty("up").GetBoolean());
        var states = branchB.GetProperty("sa_states");
        Assert.Equal(("ESTABLISHED", "up"), (states.GetProperty("ike").GetProperty("state").GetString(), states.GetProperty("ike").GetProperty("vendor").GetString()));
        Assert.Equal("INSTALLED", states.GetProperty("pairs")[0].GetProperty("child_sa").GetProperty("described").GetString());
        var branchC = document.RootElement[1];
        Assert.Equal("https://github.com/ipsec-exporter/ipsec-exporter/blob/main/docs/runbooks/IpsecTunnelAsymmetricTraffic.md", branchC.GetProperty("runbook_url").GetString());
    }

    /// <summary>Pending, not OK, while a practice cannot be judged yet (PFS before the first CHILD SA rekey).</summary>
    [Fact]
    [Trait("Needs", "browser")]
    public async Task A_practice_not_yet_confirmed_is_pending_not_ok()
    {
        _sampler.Set("branch-b", now => Sample(now, "10.2.0.0/24", 220, 220) with
        {
            BestPractices = [new BestPracticeResult(BestPractice.Pfs, null, "no CHILD SA rekeyed yet"), new BestPracticeResult(BestPractice.ShortLifetimes, true, "CHILD rekey 1h")],
        });
        await HealAsync();

        var dom = await Chromium.RunAsync(_base, "--dump-dom");

        Assert.Matches("<tr class=\"tunnel\" data-tunnel=\"branch-b\"[^>]*>(?:(?!</tr>).)*<td class=\"check pending\" data-check=\"best_practices\"[^>]*>pending</td>", dom);
        Assert.Contains("pfs: no CHILD SA rekeyed yet", dom, StringComparison.Ordinal);
    }

    private async Task HealAsync()
    {
        _time.Advance(TimeSpan.FromSeconds(60));
        await _app!.Services.GetRequiredService<DiagnosisService>().CollectOnceAsync(CancellationToken.None);
    }

    private async Task SetSourceAsync(Func<CancellationToken, Task<SaSnapshot>> result)
    {
        await Poll.UntilAsync(() => Task.FromResult(_sources.Created.ContainsKey("gw")), TimeSpan.FromSeconds(10), "the source to be created");
        _sources.Created["gw"].Default = result;
        await _app!.Services.GetRequiredService<SourceCollector>().CollectOnceAsync(CancellationToken.None);
    }

    private static Task WaitForAsync(ChromiumPage page, string condition) =>
        Poll.UntilAsync(async () => (bool?)await page.EvaluateAsync(condition) == true, TimeSpan.FromSeconds(30), $"the page to satisfy {condition}");

    [Fact]
    [Trait("Needs", "browser")]
    public async Task Chromium_shows_one_row_per_tunnel_with_each_check_and_the_verdict()
    {
        var dom = await Chromium.RunAsync(_base, "--dump-dom");

        var rows = TunnelRow().Matches(dom).ToDictionary(m => m.Groups["tunnel"].Value, m => m.Groups["verdict"].Value);
        Assert.Equal(new Dictionary<string, string> { ["branch-b"] = "healthy", ["branch-c"] = "desynchronized" }, rows);
        Assert.Equal(14, CheckCell().Count(dom));
        Assert.Matches("data-check=\"traffic_both_directions\" title=\"10.1.0.0/24 &lt;-&gt; 10.3.0.0/24: sent \\+60, received \\+0 packets", dom);
        Assert.Contains("href=\"/tunnels/branch-c/report?format=markdown\"", dom, StringComparison.Ordinal);
        Assert.Contains("https://grafana.example.net/d/ipsec-exporter-tunnel/ipsec-tunnel?var-tunnel=branch-c", dom, StringComparison.Ordinal);
        Assert.DoesNotMatch("<(script|link|img)[^>]+(src|href)=\"https?://", dom);

        var artifacts = Repository.Path("artifacts");
        Directory.CreateDirectory(artifacts);
        var screenshot = Path.Combine(artifacts, "status-page.png");
        await Chromium.RunAsync(_base, $"--screenshot={screenshot}", "--window-size=1600,500");
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot is empty");
    }

    [Fact]
    public async Task The_api_lists_every_tunnel_with_its_checks()
    {
        using var http = new HttpClient { BaseAddress = _base };

        var json = await http.GetStringAsync("api/tunnels");

        using var document = System.Text.Json.JsonDocument.Parse(json);
        var tunnels = document.RootElement.EnumerateArray().ToList();
        Assert.Equal(["branch-b", "branch-c"], tunnels.Select(t => t.GetProperty("tunnel").GetString()));
        Assert.Equal("desynchronized", tunnels[1].GetProperty("verdict").GetString());
        Assert.Equal("traffic_both_directions", tunnels[1].GetProperty("first_failing_check").GetString());
        Assert.Equal(7, tunnels[1].GetProperty("checks").GetArrayLength());
        Assert.Equal("/tunnels/branch-c/report", tunnels[1].GetProperty("report_url").GetString());
    }

    [Theory]
    [InlineData("markdown", "text/markdown", "# IPsec trouble report: branch-c")]
    [InlineData("text", "text/plain", "Verdict: DESYNCHRONIZED")]
    [InlineData("json", "application/json", "\"verdict\": \"desynchronized\"")]
    public async Task The_report_endpoint_serves_each_format(string format, string contentType, string expected)
    {
        using var http = new HttpClient { BaseAddress = _base };

        var response = await http.GetAsync($"tunnels/branch-c/report?format={format}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType!.MediaType);
        Assert.Contains(expected, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_tunnels_and_formats_are_refused()
    {
        using var http = new HttpClient { BaseAddress = _base };

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("tunnels/nope/report")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("tunnels/branch-b/report?format=pdf")).StatusCode);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        _directory.Dispose();
    }

    private static TunnelSample Sample(DateTimeOffset now, string remote, ulong sent, ulong received) => new(
        now,
        SourceUp: true,
        Ike: Observations.Ike(),
        Pairs: [Observations.Pair("10.1.0.0/24", remote, 1, sent * 84, received * 84, sent, received)],
        Gateway: new ProbeCounts(sent, sent, TimeSpan.FromMicroseconds(400)),
        Inside: [new InsideSample(IPAddress.Parse("10.2.0.1"), new ProbeCounts(sent, received, TimeSpan.FromMicroseconds(900)))],
        Internet: new InternetSample(true, IPAddress.Parse("203.0.113.10"), null, null),
        BestPractices: []);

    [GeneratedRegex("<tr class=\"tunnel\" data-tunnel=\"(?<tunnel>[^\"]+)\" data-verdict=\"(?<verdict>[a-z]+)\"")]
    private static partial Regex TunnelRow();

    [GeneratedRegex("<td class=\"check (pass|fail|unknown)\" data-check=")]
    private static partial Regex CheckCell();
}

using System.Net;
using IpsecExporter.Configuration;
using IpsecExporter.Site;
using IpsecExporter.Site.Connectivity;
using IpsecExporter.Site.PublicIp;
using IpsecExporter.Sources;
using IpsecExporter.Tests.Site.PublicIp;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace IpsecExporter.Tests.Site;

/// <summary>The public IP metrics and the internet status, from real lookups (dnsmasq, WireMock) on loopback.</summary>
public sealed class SiteNetworkMonitorTests : IDisposable
{
    private readonly IkeLocalHostObserver _ikeLocalHosts = new();
    private readonly ServiceProvider _services = new ServiceCollection().AddHttpClient(HttpPublicIpLookup.HttpClientName).Services.BuildServiceProvider();
    private readonly WireMockServer _http = HttpPublicIpLookupTests.StartLoopback();
    private readonly TempDirectory _directory = new();

    public void Dispose()
    {
        _directory.Dispose();
        _http.Stop();
        _http.Dispose();
        _services.Dispose();
    }

    [Fact]
    [Trait("Needs", "daemon")]
    public async Task Observed_ip_is_published_and_a_changed_answer_counts_one_change()
    {
        await using var dns = await DnsmasqServer.StartAsync(["txt-record=o-o.myaddr.l.google.com,\"203.0.113.7\""]);
        var monitor = Monitor($"""
            site:
              name: hq
              public_ip: 203.0.113.7
              public_ip_lookup: {"{"} method: dns, server: "{dns.Server}" {"}"}
            """);

        await monitor.CollectOnceAsync(CancellationToken.None);
        var text = MetricsText.Render(monitor);
        Assert.Contains("ipsec_public_ip_info{address=\"203.0.113.7\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_public_ip_changes_total 0", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_public_ip_matches_expected 1", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_public_ip_lookup_success{lookup=\"primary\"} 1", text, StringComparison.Ordinal);

        // The same answer again is no change.
        await monitor.CollectOnceAsync(CancellationToken.None);
        Assert.Contains("ipsec_public_ip_changes_total 0", MetricsText.Render(monitor), StringComparison.Ordinal);

        await dns.RestartAsync(["txt-record=o-o.myaddr.l.google.com,\"203.0.113.99\""]);
        await monitor.CollectOnceAsync(CancellationToken.None);

        text = MetricsText.Render(monitor);
        Assert.Contains("ipsec_public_ip_info{address=\"203.0.113.99\"} 1", text, StringComparison.Ordinal);
        Assert.DoesNotContain("203.0.113.7\"", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_public_ip_changes_total 1", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_public_ip_matches_expected 0", text, StringComparison.Ordinal);
        Assert.Equal(IPAddress.Parse("203.0.113.99"), monitor.Status!.PublicIp);
    }

    [Fact]
    [Trait("Needs", "daemon")]
    public async Task A_failing_lookup_keeps_the_last_address_and_reports_the_failure()
    {
        var dns = await DnsmasqServer.StartAsync(["host-record=myip.opendns.com,198.51.100.4"]);
        var server = dns.Server;
        var monitor = Monitor($"""
            site:
              name: hq
              public_ip_lookup: {"{"} method: dns, query: opendns-a, server: "{server}", timeout: 300ms {"}"}
            """);
        await monitor.CollectOnceAsync(CancellationToken.None);

        await dns.DisposeAsync();
        await monitor.CollectOnceAsync(CancellationToken.None);

        var text = MetricsText.Render(monitor);
        Assert.Contains("ipsec_public_ip_lookup_success{lookup=\"primary\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_public_ip_info{address=\"198.51.100.4\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_public_ip_changes_total 0", text, StringComparison.Ordinal);
        Assert.DoesNotContain("ipsec_public_ip_matches_expected", text.Split('\n').Where(l => !l.StartsWith('#')), StringComparer.Ordinal);
        Assert.StartsWith($"DNS lookup at {server}", monitor.Status!.Lookup!.Error, StringComparison.Ordinal);
        Assert.False(monitor.Status.Internet.Up);
    }

    [Fact]
    public async Task Http_lookup_timeout_is_reported_as_such()
    {
        _http.Given(Request.Create().WithPath("/ip").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody("203.0.113.7").WithDelay(TimeSpan.FromSeconds(1)));
        var monitor = Monitor($"""
            site:
              name: hq
              public_ip_lookup: {"{"} method: http, url: "{_http.Urls[0]}/ip", timeout: 200ms {"}"}
            """);

        await monitor.CollectOnceAsync(CancellationToken.None);

        Assert.Equal($"HTTP lookup at {_http.Urls[0]}/ip timed out after 200ms", monitor.Status!.Lookup!.Error);
        Assert.Contains("ipsec_public_ip_lookup_success{lookup=\"primary\"} 0", MetricsText.Render(monitor), StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Needs", "daemon")]
    public async Task Cross_check_by_http_agrees_or_not_with_the_dns_lookup()
    {
        await using var dns = await DnsmasqServer.StartAsync(["txt-record=o-o.myaddr.l.google.com,\"203.0.113.7\""]);
        ServeIp("203.0.113.50");
        var monitor = Monitor($"""
            site:
              name: hq
              public_ip_lookup:
                method: dns
                server: "{dns.Server}"
                cross_check: {"{"} method: http, url: "{_http.Urls[0]}/ip" {"}"}
            """);

        await monitor.CollectOnceAsync(CancellationToken.None);
        var text = MetricsText.Render(monitor);
        Assert.Contains("ipsec_public_ip_cross_check_matches{check=\"lookup\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_public_ip_lookup_success{lookup=\"cross_check\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_public_ip_info{address=\"203.0.113.7\"} 1", text, StringComparison.Ordinal);

        _http.Reset();
        ServeIp("203.0.113.7");
        await monitor.CollectOnceAsync(CancellationToken.None);
        Assert.Contains("ipsec_public_ip_cross_check_matches{check=\"lookup\"} 1", MetricsText.Render(monitor), StringComparison.Ordinal);
        Assert.True(monitor.Status!.CrossCheckMatches);
    }

    [Fact]
    public async Task Cross_check_against_the_public_local_host_of_ike_sas()
    {
        ServeIp("203.0.113.7");
        var monitor = Monitor($"""
            site:
              name: hq
              public_ip_lookup: {"{"} method: http, url: "{_http.Urls[0]}/ip" {"}"}
            """);
        var source = TestConfigs.Parse("site: { name: hq }\nsources: [{ name: gw, type: no-sas }]").Sources[0];

        // Behind NAT the IKE SA's local address is private: no opinion.
        _ikeLocalHosts.OnCollected(source, Snapshot("10.0.0.2"));
        await monitor.CollectOnceAsync(CancellationToken.None);
        Assert.DoesNotContain("check=\"ike_local_host\"", MetricsText.Render(monitor), StringComparison.Ordinal);

        _ikeLocalHosts.OnCollected(source, Snapshot("203.0.113.7"));
        await monitor.CollectOnceAsync(CancellationToken.None);
        Assert.Contains("ipsec_public_ip_cross_check_matches{check=\"ike_local_host\"} 1", MetricsText.Render(monitor), StringComparison.Ordinal);

        _ikeLocalHosts.OnCollected(source, Snapshot("198.51.100.20"));
        await monitor.CollectOnceAsync(CancellationToken.None);
        Assert.Contains("ipsec_public_ip_cross_check_matches{check=\"ike_local_host\"} 0", MetricsText.Render(monitor), StringComparison.Ordinal);
        Assert.False(monitor.Status!.IkeLocalHostMatches);

        _ikeLocalHosts.OnRemoved("gw");
        await monitor.CollectOnceAsync(CancellationToken.None);
        Assert.DoesNotContain("check=\"ike_local_host\"", MetricsText.Render(monitor), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_lookup_there_are_no_public_ip_series_and_internet_rests_on_routes()
    {
        var monitor = Monitor("site: { name: hq }");

        await monitor.CollectOnceAsync(CancellationToken.None);

        var series = (MetricsText.Render(monitor)).Split('\n').Where(l => l.StartsWith("ipsec_public_ip", StringComparison.Ordinal));
        Assert.Empty(series);
        Assert.Null(monitor.Status!.Lookup);
        Assert.EndsWith("(no public IP lookup configured)", monitor.Status.Internet.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Changes_count_on_across_reloads_and_nothing_else_stays_while_no_lookup_is_configured()
    {
        ServeIp("203.0.113.7");
        var withLookup = $"site: {{ name: hq, public_ip_lookup: {{ method: http, url: \"{_http.Urls[0]}/ip\" }} }}";
        var path = _directory.Write("ipsec.yaml", withLookup);
        var store = TestConfigs.FileStore(path, withLookup);
        var monitor = Monitor(store);
        await monitor.CollectOnceAsync(CancellationToken.None);
        _http.Reset();
        ServeIp("203.0.113.8");
        await monitor.CollectOnceAsync(CancellationToken.None);
        Assert.Equal(1, MetricsText.Value(MetricsText.Render(monitor), "ipsec_public_ip_changes_total"));

        _directory.Write("ipsec.yaml", "site: { name: hq }");
        Assert.Empty(store.Reload());
        await monitor.CollectOnceAsync(CancellationToken.None);
        Assert.Equal(["ipsec_public_ip_changes_total 1"], Series(MetricsText.Render(monitor)));

        // The first address after rounds without a lookup is an observation, not a change.
        _directory.Write("ipsec.yaml", withLookup);
        Assert.Empty(store.Reload());
        await monitor.CollectOnceAsync(CancellationToken.None);
        Assert.Equal(
            ["ipsec_public_ip_info{address=\"203.0.113.8\"} 1", "ipsec_public_ip_changes_total 1", "ipsec_public_ip_lookup_success{lookup=\"primary\"} 1"],
            Series(MetricsText.Render(monitor)));
    }

    private static List<string> Series(string text) => [.. text.Split('\n').Where(l => l.StartsWith("ipsec_public_ip", StringComparison.Ordinal))];

    private SiteNetworkMonitor Monitor(string yaml) => Monitor(TestConfigs.Store(yaml));

    private SiteNetworkMonitor Monitor(ConfigStore store)
    {
        var registry = new PublicIpLookupRegistry([new DnsPublicIpLookup(), new HttpPublicIpLookup(_services.GetRequiredService<IHttpClientFactory>())]);
        // This host's real interfaces and routes: the tests that use the internet verdict state what they depend on.
        return new SiteNetworkMonitor(store, registry, new LocalNetworkReader(), _ikeLocalHosts, TimeProvider.System, NullLogger<SiteNetworkMonitor>.Instance);
    }

    private void ServeIp(string address) =>
        _http.Given(Request.Create().WithPath("/ip").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "text/plain").WithBody(address));

    private static SaSnapshot Snapshot(string localHost) => new(DateTimeOffset.UnixEpoch, [
        new IkeSa("site", "1", IkeSaState.Established, "ESTABLISHED", IPAddress.Parse(localHost), IPAddress.Parse("192.0.2.50"), TimeSpan.FromMinutes(1), null, null, []),
    ]);
}

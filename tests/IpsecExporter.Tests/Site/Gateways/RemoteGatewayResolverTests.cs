using System.Net;
using IpsecExporter.Configuration;
using IpsecExporter.Site.Gateways;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpsecExporter.Tests.Site.Gateways;

/// <summary>Dynamic DNS: remote gateway names re-resolved against a real dnsmasq whose answer changes.</summary>
[Trait("Needs", "daemon")]
public sealed class RemoteGatewayResolverTests : IAsyncLifetime
{
    private readonly List<GatewayAddressChange> _changes = [];
    private readonly string _configPath = Path.Combine(Path.GetTempPath(), $"resolver-{Guid.NewGuid():N}.yaml");
    private DnsmasqServer _dns = null!;
    private ConfigStore? _store;

    public async Task InitializeAsync() => _dns = await DnsmasqServer.StartAsync([], "192.0.2.10 gw.branch-b.test\n");

    public async Task DisposeAsync()
    {
        await _dns.DisposeAsync();
        File.Delete(_configPath);
    }

    [Fact]
    public async Task A_changed_answer_moves_the_address_counts_one_change_and_tells_the_probes()
    {
        var resolver = Resolver(Config(("branch-b", "gw.branch-b.test", null), ("branch-c", "198.51.100.30", null)));

        // A literal address needs no resolution; a name is unknown until resolved.
        Assert.Equal(IPAddress.Parse("198.51.100.30"), resolver.GetAddress("branch-c"));
        Assert.Null(resolver.GetAddress("branch-b"));

        await resolver.CollectOnceAsync(CancellationToken.None);
        Assert.Equal(IPAddress.Parse("192.0.2.10"), resolver.GetAddress("branch-b"));
        var text = MetricsText.Render(resolver);
        Assert.Contains("ipsec_remote_gateway_address_info{tunnel=\"branch-b\",address=\"192.0.2.10\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_remote_gateway_address_info{tunnel=\"branch-c\",address=\"198.51.100.30\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_remote_gateway_address_changes_total{tunnel=\"branch-b\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_remote_gateway_address_changes_total{tunnel=\"branch-c\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_remote_gateway_resolution_success{tunnel=\"branch-b\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_remote_gateway_resolution_success{tunnel=\"branch-c\"} 1", text, StringComparison.Ordinal);
        Assert.Equal([new GatewayAddressChange("branch-b", null, IPAddress.Parse("192.0.2.10"))], _changes);

        await _dns.SetHostsAsync("192.0.2.11 gw.branch-b.test\n", "gw.branch-b.test", "192.0.2.11");
        await resolver.CollectOnceAsync(CancellationToken.None);

        Assert.Equal(IPAddress.Parse("192.0.2.11"), resolver.GetAddress("branch-b"));
        text = MetricsText.Render(resolver);
        Assert.Contains("ipsec_remote_gateway_address_info{tunnel=\"branch-b\",address=\"192.0.2.11\"} 1", text, StringComparison.Ordinal);
        Assert.DoesNotContain("192.0.2.10", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_remote_gateway_address_changes_total{tunnel=\"branch-b\"} 1", text, StringComparison.Ordinal);
        Assert.Equal(new GatewayAddressChange("branch-b", IPAddress.Parse("192.0.2.10"), IPAddress.Parse("192.0.2.11")), _changes[^1]);
    }

    [Fact]
    public async Task Round_robin_answers_are_no_change_while_the_current_address_stays_among_them()
    {
        var resolver = Resolver(Config(("branch-b", "gw.branch-b.test", null)));
        await resolver.CollectOnceAsync(CancellationToken.None);

        await _dns.SetHostsAsync("192.0.2.12 gw.branch-b.test\n192.0.2.10 gw.branch-b.test\n", "gw.branch-b.test", "192.0.2.12");
        await resolver.CollectOnceAsync(CancellationToken.None);
        await resolver.CollectOnceAsync(CancellationToken.None);

        Assert.Equal(IPAddress.Parse("192.0.2.10"), resolver.GetAddress("branch-b"));
        Assert.Contains("ipsec_remote_gateway_address_changes_total{tunnel=\"branch-b\"} 0", MetricsText.Render(resolver), StringComparison.Ordinal);
        Assert.Single(_changes);
    }

    [Fact]
    public async Task A_failed_resolution_keeps_the_last_address_and_says_why()
    {
        var resolver = Resolver(Config(("branch-b", "gw.branch-b.test", null)));
        await resolver.CollectOnceAsync(CancellationToken.None);

        await _dns.SetHostsAsync("192.0.2.99 other.test\n", "other.test", "192.0.2.99");
        await resolver.CollectOnceAsync(CancellationToken.None);

        Assert.Equal(IPAddress.Parse("192.0.2.10"), resolver.GetAddress("branch-b"));
        var status = resolver.Statuses["branch-b"];
        Assert.StartsWith("resolving gw.branch-b.test failed: DNS server 127.0.0.1:", status.Error, StringComparison.Ordinal);
        var text = MetricsText.Render(resolver);
        Assert.Contains("ipsec_remote_gateway_address_changes_total{tunnel=\"branch-b\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_remote_gateway_resolution_success{tunnel=\"branch-b\"} 0", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_family_of_this_ends_gateway_is_resolved()
    {
        await _dns.SetHostsAsync("192.0.2.20 gw6.test\n2001:db8:9::20 gw6.test\n", "gw6.test", "192.0.2.20");
        var resolver = Resolver(Config(("v4", "gw6.test", null), ("v6", "gw6.test", "2001:db8::1")));

        await resolver.CollectOnceAsync(CancellationToken.None);

        Assert.Equal(IPAddress.Parse("192.0.2.20"), resolver.GetAddress("v4"));
        Assert.Equal(IPAddress.Parse("2001:db8:9::20"), resolver.GetAddress("v6"));
    }

    [Fact]
    public async Task Without_a_server_the_system_resolver_answers()
    {
        var resolver = Resolver(Config(("local", "localhost", null)).Replace($"  server: \"{_dns.Server}\"\n", "", StringComparison.Ordinal));

        await resolver.CollectOnceAsync(CancellationToken.None);

        Assert.Equal(IPAddress.Loopback, resolver.GetAddress("local"));
    }

    [Fact]
    public async Task Reload_removes_a_tunnel_and_applies_a_new_literal_at_once()
    {
        var resolver = Resolver(Config(("branch-b", "gw.branch-b.test", null), ("branch-c", "198.51.100.30", null)));
        await resolver.CollectOnceAsync(CancellationToken.None);

        await File.WriteAllTextAsync(_configPath, Config(("branch-c", "198.51.100.31", null)));
        Assert.Empty(_store!.Reload());

        Assert.Null(resolver.GetAddress("branch-b"));
        Assert.Equal(IPAddress.Parse("198.51.100.31"), resolver.GetAddress("branch-c"));
        // An edited remote_gateway is a new gateway, not a move of the old one: nothing to alert on.
        Assert.Equal(new GatewayAddressChange("branch-c", null, IPAddress.Parse("198.51.100.31")), _changes[^1]);
        var text = MetricsText.Render(resolver);
        Assert.Contains("ipsec_remote_gateway_address_changes_total{tunnel=\"branch-c\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_remote_gateway_address_info{tunnel=\"branch-c\",address=\"198.51.100.31\"} 1", text, StringComparison.Ordinal);
        Assert.DoesNotContain("198.51.100.30", text, StringComparison.Ordinal);
    }

    private RemoteGatewayResolver Resolver(string yaml)
    {
        _store = TestConfigs.FileStore(_configPath, yaml);
        var resolver = new RemoteGatewayResolver(_store, TimeProvider.System, NullLogger<RemoteGatewayResolver>.Instance);
        resolver.AddressChanged += _changes.Add;
        return resolver;
    }

    private string Config(params (string Name, string RemoteGateway, string? LocalGateway)[] tunnels)
    {
        var lines = new List<string>
        {
            "site: { name: hq }",
            "sources: [{ name: gw, type: no-sas }]",
            "remote_gateway_resolution:",
            "  timeout: 500ms",
            $"  server: \"{_dns.Server}\"",
            "tunnels:",
        };
        for (var i = 0; i < tunnels.Length; i++)
        {
            lines.Add($"  - name: {tunnels[i].Name}");
            lines.Add($"    remote_gateway: {tunnels[i].RemoteGateway}");
            if (tunnels[i].LocalGateway is { } local)
            {
                lines.Add($"    local_gateway: \"{local}\"");
            }

            lines.Add($"    network_pairs: [{{ local: 10.1.{i}.0/24, remote: 10.2.{i}.0/24 }}]");
        }

        return string.Join('\n', lines) + "\n";
    }
}

using System.Net;
using System.Net.Sockets;
using IpsecExporter.Site.Connectivity;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Site.Connectivity;

/// <summary>Default routes as the kernel reports them: in a namespace of our own, and on this host against iproute2.</summary>
[Trait("Needs", "root")]
public sealed class LocalNetworkReaderTests : IAsyncLifetime
{
    private readonly string _procNet = Path.Combine(Path.GetTempPath(), $"procnet-{Guid.NewGuid():N}");
    private NetworkNamespace _ns = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_procNet);
        _ns = await NetworkNamespace.CreateAsync();
        await _ns.IpAsync("link", "set", "lo", "up");
        await _ns.IpAsync("link", "add", "wan0", "type", "veth", "peer", "name", "wan1");
        await _ns.IpAsync("link", "set", "wan0", "up");
        await _ns.IpAsync("link", "set", "wan1", "up");
        await _ns.IpAsync("addr", "add", "192.0.2.10/24", "dev", "wan0");
        await _ns.IpAsync("-6", "addr", "add", "2001:db8:5::10/64", "dev", "wan0", "nodad");
    }

    public async Task DisposeAsync()
    {
        await _ns.DisposeAsync();
        Directory.Delete(_procNet, recursive: true);
    }

    [Fact]
    public async Task No_default_route_in_a_namespace_without_one()
    {
        var routes = await ReadNamespaceRoutesAsync();

        Assert.Empty(routes);
    }

    [Fact]
    public async Task Default_routes_via_gateways_in_both_families()
    {
        await _ns.IpAsync("route", "add", "default", "via", "192.0.2.1", "dev", "wan0");
        await _ns.IpAsync("-6", "route", "add", "default", "via", "2001:db8:5::1", "dev", "wan0");

        var routes = await ReadNamespaceRoutesAsync();

        Assert.Equal(
            [new DefaultRoute("wan0", AddressFamily.InterNetwork, IPAddress.Parse("192.0.2.1")), new DefaultRoute("wan0", AddressFamily.InterNetworkV6, IPAddress.Parse("2001:db8:5::1"))],
            routes);
    }

    [Fact]
    public async Task A_device_default_route_has_no_gateway()
    {
        // As on PPP or WireGuard links.
        await _ns.IpAsync("route", "add", "default", "dev", "wan0");

        var routes = await ReadNamespaceRoutesAsync();

        Assert.Equal([new DefaultRoute("wan0", AddressFamily.InterNetwork, null)], routes);
    }

    [Fact]
    public async Task This_hosts_default_routes_are_the_ones_iproute2_shows()
    {
        var expected = new List<(string, AddressFamily)>();
        foreach (var (flag, family) in new[] { ("-4", AddressFamily.InterNetwork), ("-6", AddressFamily.InterNetworkV6) })
        {
            var lines = (await ExternalCommand.RunAsync("ip", flag, "-o", "route", "show", "default")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            expected.AddRange(lines.Where(l => !l.Contains(" dev lo ", StringComparison.Ordinal) && !l.StartsWith("unreachable", StringComparison.Ordinal))
                .Select(l => (l.Split(' ')[Array.IndexOf(l.Split(' '), "dev") + 1], family)));
        }

        var routes = new LocalNetworkReader().ReadDefaultRoutes();

        Assert.Equal(expected.Order(), routes.Select(r => (r.Interface, r.Family)).Order());
    }

    [Fact]
    public void This_hosts_interfaces_include_loopback_flagged_as_such()
    {
        var interfaces = LocalNetworkReader.ReadInterfaces();

        Assert.Contains(interfaces, i => i.Name == "lo" && i.Loopback);
        Assert.All(interfaces.Where(i => i.Name != "lo"), i => Assert.False(i.Loopback));
    }

    /// <summary>The namespace's route tables, as its /proc/net shows them, read by the same parser as the host's.</summary>
    private async Task<IReadOnlyList<DefaultRoute>> ReadNamespaceRoutesAsync()
    {
        await File.WriteAllTextAsync(Path.Combine(_procNet, "route"), await _ns.ExecAsync("cat", "/proc/net/route"));
        await File.WriteAllTextAsync(Path.Combine(_procNet, "ipv6_route"), await _ns.ExecAsync("cat", "/proc/net/ipv6_route"));
        return new LocalNetworkReader(_procNet).ReadDefaultRoutes();
    }
}

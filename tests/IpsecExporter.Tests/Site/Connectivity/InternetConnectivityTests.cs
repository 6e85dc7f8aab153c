using System.Net;
using System.Net.Sockets;
using IpsecExporter.Site.Connectivity;

namespace IpsecExporter.Tests.Site.Connectivity;

public sealed class InternetConnectivityTests
{
    private static readonly InterfaceFacts Loopback = new("lo", true, true);
    private static readonly InterfaceFacts Wan = new("eth0", true, false);
    private static readonly InterfaceFacts WanDown = new("eth0", false, false);
    private static readonly DefaultRoute ViaWan = new("eth0", AddressFamily.InterNetwork, IPAddress.Parse("192.0.2.1"));

    public static TheoryData<InterfaceFacts[], DefaultRoute[], bool, string?, bool, string> Cases => new()
    {
        { [Loopback], [], false, null, false, "no operational network interface besides loopback" },
        { [Loopback, WanDown], [ViaWan], false, null, false, "no operational network interface besides loopback" },
        { [Loopback, Wan], [], false, null, false, "no default route (operational interfaces: eth0)" },
        { [Loopback, Wan, new("wwan0", false, false)], [new("wwan0", AddressFamily.InterNetwork, null)], false, null, false, "the default route goes through wwan0, which is not operational" },
        { [Loopback, Wan], [ViaWan], false, null, true, "default route via 192.0.2.1 dev eth0 (no public IP lookup configured)" },
        { [Loopback, Wan], [ViaWan], true, null, true, "default route via 192.0.2.1 dev eth0; the public IP lookup answered" },
        { [Loopback, Wan], [ViaWan], true, "DNS lookup at ns1.google.com timed out after 5s", false, "default route via 192.0.2.1 dev eth0, but the public IP lookup failed: DNS lookup at ns1.google.com timed out after 5s" },
        { [Loopback, new("ppp0", true, false)], [new("ppp0", AddressFamily.InterNetwork, null)], true, null, true, "default route via dev ppp0; the public IP lookup answered" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Verdict_and_reason(InterfaceFacts[] interfaces, DefaultRoute[] routes, bool lookupConfigured, string? lookupError, bool up, string reason)
    {
        var status = InternetConnectivity.Evaluate(new LocalNetworkFacts(interfaces, routes), lookupConfigured, lookupError);

        Assert.Equal(new InternetStatus(up, reason), status);
    }
}

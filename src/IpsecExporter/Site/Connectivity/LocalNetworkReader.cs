using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace IpsecExporter.Site.Connectivity;

public sealed record InterfaceFacts(string Name, bool Operational, bool Loopback);

/// <summary>A default route (0.0.0.0/0 or ::/0); <see cref="Gateway"/> is null for a device route (PPP, tunnels).</summary>
public sealed record DefaultRoute(string Interface, AddressFamily Family, IPAddress? Gateway);

public sealed record LocalNetworkFacts(IReadOnlyList<InterfaceFacts> Interfaces, IReadOnlyList<DefaultRoute> DefaultRoutes);

/// <summary>
/// Reads the interfaces (System.Net.NetworkInformation) and the default routes of this host. On Linux the routes come
/// from the kernel's route tables under <c>/proc/net</c>: .NET's <c>GatewayAddresses</c> lists any route with a
/// gateway (not only default ones) and misses device-only default routes (PPP, WireGuard).
/// </summary>
public sealed class LocalNetworkReader(string procNetDirectory = "/proc/net")
{
    private const int RouteUp = 0x0001;
    private const int RouteReject = 0x0200;

    public LocalNetworkFacts Read() => new(ReadInterfaces(), ReadDefaultRoutes());

    public static IReadOnlyList<InterfaceFacts> ReadInterfaces() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Select(n => new InterfaceFacts(
                n.Name,
                // tun, ppp and WireGuard devices report "unknown" while they carry traffic; only "down" & co. are down.
                n.OperationalStatus is OperationalStatus.Up or OperationalStatus.Unknown,
                n.NetworkInterfaceType == NetworkInterfaceType.Loopback))
            .ToList();

    public IReadOnlyList<DefaultRoute> ReadDefaultRoutes()
    {
        var ipv4 = Path.Combine(procNetDirectory, "route");
        var ipv6 = Path.Combine(procNetDirectory, "ipv6_route");
        if (!File.Exists(ipv4) && !File.Exists(ipv6))
        {
            return ReadDefaultRoutesPortably();
        }

        var routes = new List<DefaultRoute>();
        if (File.Exists(ipv4))
        {
            routes.AddRange(ParseIpv4Routes(File.ReadAllLines(ipv4)));
        }

        if (File.Exists(ipv6))
        {
            routes.AddRange(ParseIpv6Routes(File.ReadAllLines(ipv6)));
        }

        return routes;
    }

    /// <summary>Default routes in <c>/proc/net/route</c>: <c>Iface Destination Gateway Flags ... Mask</c>, addresses in little-endian hex.</summary>
    public static IEnumerable<DefaultRoute> ParseIpv4Routes(IEnumerable<string> lines)
    {
        foreach (var line in lines.Skip(1))
        {
            var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 8 || fields[1] != "00000000" || fields[7] != "00000000"
                || !int.TryParse(fields[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var flags)
                || (flags & RouteUp) == 0 || (flags & RouteReject) != 0
                || !uint.TryParse(fields[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var gateway))
            {
                continue;
            }

            yield return new DefaultRoute(fields[0], AddressFamily.InterNetwork, gateway == 0 ? null : new IPAddress(gateway));
        }
    }

    /// <summary>Default routes in <c>/proc/net/ipv6_route</c>: <c>dest plen src plen nexthop metric refcnt use flags iface</c>.</summary>
    public static IEnumerable<DefaultRoute> ParseIpv6Routes(IEnumerable<string> lines)
    {
        foreach (var line in lines)
        {
            var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 10 || fields[1] != "00" || fields[0].Any(c => c != '0')
                || !int.TryParse(fields[8], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var flags)
                || (flags & RouteUp) == 0 || (flags & RouteReject) != 0)
            {
                continue;
            }

            var nextHop = new IPAddress(Convert.FromHexString(fields[4]));
            yield return new DefaultRoute(fields[9], AddressFamily.InterNetworkV6, nextHop.Equals(IPAddress.IPv6Any) ? null : nextHop);
        }
    }

    /// <summary>Where there is no /proc: interfaces that have a gateway are taken as carrying the default route.</summary>
    private static List<DefaultRoute> ReadDefaultRoutesPortably() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(n => n.GetIPProperties().GatewayAddresses.Select(g => new DefaultRoute(n.Name, g.Address.AddressFamily, g.Address)))
            .ToList();
}

using System.Net;

namespace IpsecExporter.Tests.Support;

/// <summary>
/// Two namespaces joined by a veth pair: <see cref="Prober"/> (where a test opens its ICMP sockets) with two IPv4 and
/// two IPv6 addresses, and <see cref="Target"/> with one of each. Like two sites, each also has an inside network on
/// its loopback, routed over the link: the prober's 10.1.0.1 (an <c>inside.source</c>) and the target's 10.2.0.1 and
/// 10.2.0.2 (inside targets). Nothing touches the root namespace.
/// </summary>
public sealed class ProbeTopology : IAsyncDisposable
{
    public static readonly IPAddress ProberV4 = IPAddress.Parse("10.0.0.1");
    public static readonly IPAddress ProberV4Second = IPAddress.Parse("10.0.0.3");
    public static readonly IPAddress TargetV4 = IPAddress.Parse("10.0.0.2");
    public static readonly IPAddress ProberV6 = IPAddress.Parse("fd00::1");
    public static readonly IPAddress ProberV6Second = IPAddress.Parse("fd00::3");
    public static readonly IPAddress TargetV6 = IPAddress.Parse("fd00::2");
    public static readonly IPAddress InsideSource = IPAddress.Parse("10.1.0.1");
    public static readonly IPAddress InsideTarget = IPAddress.Parse("10.2.0.1");
    public static readonly IPAddress InsideTargetSecond = IPAddress.Parse("10.2.0.2");

    /// <summary>Routed to the target namespace, which has no such address.</summary>
    public static readonly IPAddress InsideAbsent = IPAddress.Parse("10.2.0.99");

    /// <summary>On the link, but nobody answers: neighbour resolution fails.</summary>
    public static readonly IPAddress AbsentV4 = IPAddress.Parse("10.0.0.99");

    /// <summary>No route in the prober namespace.</summary>
    public static readonly IPAddress UnroutedV4 = IPAddress.Parse("10.9.9.9");

    private ProbeTopology(NetworkNamespace prober, NetworkNamespace target)
    {
        Prober = prober;
        Target = target;
    }

    public NetworkNamespace Prober { get; }

    public NetworkNamespace Target { get; }

    public static async Task<ProbeTopology> CreateAsync()
    {
        var prober = await NetworkNamespace.CreateAsync();
        NetworkNamespace? target = null;
        try
        {
            target = await NetworkNamespace.CreateAsync();
            await NetworkNamespace.ConnectAsync(prober, target);
            foreach (var cidr in new[] { "10.0.0.1/24", "10.0.0.3/24", "fd00::1/64", "fd00::3/64" })
            {
                await prober.AddAddressAsync("veth0", cidr);
            }

            await target.AddAddressAsync("veth0", "10.0.0.2/24");
            await target.AddAddressAsync("veth0", "fd00::2/64");
            await prober.AddAddressAsync("lo", "10.1.0.1/32");
            await target.AddAddressAsync("lo", "10.2.0.1/32");
            await target.AddAddressAsync("lo", "10.2.0.2/32");
            await prober.IpAsync("route", "add", "10.2.0.0/24", "via", "10.0.0.2");
            await target.IpAsync("route", "add", "10.1.0.0/24", "via", "10.0.0.1");
            return new ProbeTopology(prober, target);
        }
        catch
        {
            await prober.DisposeAsync();
            if (target is not null)
            {
                await target.DisposeAsync();
            }

            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Prober.DisposeAsync();
        await Target.DisposeAsync();
    }
}

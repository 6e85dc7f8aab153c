using System.Net;

namespace IpsecExporter.Tests.Support;

/// <summary>
/// Two namespaces joined by a veth pair: <see cref="Prober"/> (where a test opens its ICMP sockets) with two IPv4 and
/// two IPv6 addresses, and <see cref="Target"/> with one of each. Like two sites, each also has an inside network on
/// its loopback, routed over the link: the prober's 10.1.0.1 (an <c>inside.source</c>) and the target's 10.2.0.1 and
/// 10.2.0.2 (inside targets). Nothing touches the root namespace.
/// </summary>
public sealed class ProbeTopology : IDisposable
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

    public ProbeTopology()
    {
        Prober = TestNamespace.Create("p");
        try
        {
            Target = TestNamespace.Create("t");
            TestNamespace.Connect(Prober, Target);
            Prober.AddAddress("veth0", "10.0.0.1/24");
            Prober.AddAddress("veth0", "10.0.0.3/24");
            Prober.AddAddress("veth0", "fd00::1/64");
            Prober.AddAddress("veth0", "fd00::3/64");
            Target.AddAddress("veth0", "10.0.0.2/24");
            Target.AddAddress("veth0", "fd00::2/64");
            Prober.AddAddress("lo", "10.1.0.1/32");
            Target.AddAddress("lo", "10.2.0.1/32");
            Target.AddAddress("lo", "10.2.0.2/32");
            Prober.Ip("route", "add", "10.2.0.0/24", "via", "10.0.0.2");
            Target.Ip("route", "add", "10.1.0.0/24", "via", "10.0.0.1");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public TestNamespace Prober { get; }

    public TestNamespace Target { get; } = null!;

    public void Dispose()
    {
        Prober.Dispose();
        Target?.Dispose();
    }
}

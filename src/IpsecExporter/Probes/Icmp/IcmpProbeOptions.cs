namespace IpsecExporter.Probes.Icmp;

/// <summary>Which kind of socket the ICMP engine sends with.</summary>
public enum IcmpSocketKind
{
    /// <summary>Raw when permitted (CAP_NET_RAW), else datagram (net.ipv4.ping_group_range), else <see cref="SystemPing"/>.</summary>
    Auto,

    /// <summary>Raw ICMP socket: needs CAP_NET_RAW; sees every echo reply of the host.</summary>
    Raw,

    /// <summary>Unprivileged ICMP datagram ("ping") socket: needs the process's group in net.ipv4.ping_group_range.</summary>
    Datagram,

    /// <summary>System.Net.NetworkInformation.Ping: the last resort, millisecond RTTs and no source address.</summary>
    SystemPing,
}

/// <summary>
/// Options of the ICMP engine. <see cref="NetworkNamespace"/> (a path such as <c>/run/netns/NAME</c>) opens the
/// sockets inside that network namespace, as <c>ip netns exec</c> would for the whole process; the rest of the
/// process stays where it is. <see cref="KernelTimestamps"/> false times replies on the monotonic clock instead of the
/// kernel's receive timestamps (for comparison and tests). Register an instance in DI to override the defaults.
/// </summary>
public sealed record IcmpProbeOptions(IcmpSocketKind SocketKind = IcmpSocketKind.Auto, string? NetworkNamespace = null, bool KernelTimestamps = true)
{
    public static IcmpProbeOptions Default { get; } = new();
}

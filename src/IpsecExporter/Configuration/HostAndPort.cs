using System.Globalization;
using System.Net;

namespace IpsecExporter.Configuration;

/// <summary>A server written as <c>host</c>, <c>host:port</c>, <c>IP</c>, <c>IPv4:port</c> or <c>[IPv6]:port</c>.</summary>
public sealed record HostAndPort(string Host, int? Port)
{
    public static bool TryParse(string text, out HostAndPort value)
    {
        value = new HostAndPort(text, null);
        if (IsHostOrAddress(text))
        {
            value = new HostAndPort(text.Trim('[', ']'), null);
            return true;
        }

        var colon = text.LastIndexOf(':');
        if (colon <= 0)
        {
            return false;
        }

        var host = text[..colon];
        var bracketed = host.StartsWith('[') && host.EndsWith(']');
        host = host.Trim('[', ']');
        // An unbracketed IPv6 address already parsed above; "a::b:53" must not be read as host "a::b", port 53.
        if (!bracketed && host.Contains(':', StringComparison.Ordinal))
        {
            return false;
        }

        if (!ushort.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port == 0 || !IsHostOrAddress(host))
        {
            return false;
        }

        value = new HostAndPort(host, port);
        return true;
    }

    /// <summary>An IP address or a DNS name, without a port (IPAddress.TryParse also takes "[::1]:53").</summary>
    public static bool IsHostOrAddress(string text) =>
        (IPAddress.TryParse(text, out _) && !text.Contains("]:", StringComparison.Ordinal)) || Uri.CheckHostName(text) == UriHostNameType.Dns;

    public int PortOr(int defaultPort) => Port ?? defaultPort;

    /// <summary>The address to send to: the literal IP, or the host name resolved by the system resolver (first address).</summary>
    public async Task<IPEndPoint> ResolveAsync(int defaultPort, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(Host, out var literal))
        {
            return new IPEndPoint(literal, PortOr(defaultPort));
        }

        var addresses = await Dns.GetHostAddressesAsync(Host, cancellationToken);
        if (addresses.Length == 0)
        {
            throw new IOException($"'{Host}' resolved to no address");
        }

        return new IPEndPoint(addresses[0], PortOr(defaultPort));
    }

    public override string ToString() => Port is null ? Host : Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}

using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace IpsecExporter.Site.PublicIp;

/// <summary>Reads one IP address from the text a lookup service returned.</summary>
public static class PublicIpText
{
    /// <summary>True when <paramref name="text"/>, trimmed, is exactly one IPv4 (dotted quad) or IPv6 address.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        var trimmed = text?.Trim();
        if (string.IsNullOrEmpty(trimmed) || !IPAddress.TryParse(trimmed, out var parsed))
        {
            return false;
        }

        // IPAddress.TryParse takes "1" or "1.2" as IPv4 shorthand and accepts scope ids; neither is an answer.
        if (parsed.AddressFamily == AddressFamily.InterNetwork && trimmed.Count(c => c == '.') != 3)
        {
            return false;
        }

        if (parsed.AddressFamily == AddressFamily.InterNetworkV6 && trimmed.Contains('%', StringComparison.Ordinal))
        {
            return false;
        }

        address = parsed;
        return true;
    }
}

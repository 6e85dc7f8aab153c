using System.Net;
using System.Net.Sockets;
using System.Numerics;

namespace IpsecExporter.Sources;

/// <summary>
/// Writes a vendor's address ranges as the traffic selector text the tracker matches (<c>10.1.0.0/24</c>, or
/// <c>10.1.0.5..10.1.0.9</c> for a range that is not one block), so every source spells selectors like strongSwan.
/// </summary>
public static class SelectorText
{
    /// <summary>The CIDR block when <paramref name="first"/>..<paramref name="last"/> is exactly one, the range otherwise.</summary>
    public static string FromRange(IPAddress first, IPAddress last)
    {
        var bits = first.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var low = ToNumber(first);
        var size = ToNumber(last) - low + 1;
        if (size > 0 && size.IsPowerOfTwo && (low & (size - 1)) == 0)
        {
            return $"{first}/{bits - (int)(size.GetBitLength() - 1)}";
        }

        return $"{first}..{last}";
    }

    /// <summary>
    /// <c>a.b.c.d/m.m.m.m</c> (a dotted mask), <c>a.b.c.d/n</c>, <c>a.b.c.d-e.f.g.h</c> or a single address, as a
    /// selector; null when it is none of these or the mask is not contiguous.
    /// </summary>
    public static string? Parse(string text)
    {
        text = text.Trim();
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash > 0)
        {
            return IPAddress.TryParse(text[..dash], out var first) && IPAddress.TryParse(text[(dash + 1)..], out var last)
                && first.AddressFamily == last.AddressFamily && ToNumber(first) <= ToNumber(last)
                ? FromRange(first, last)
                : null;
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return IPAddress.TryParse(text, out var single) ? FromRange(single, single) : null;
        }

        if (!IPAddress.TryParse(text[..slash], out var address))
        {
            return null;
        }

        var suffix = text[(slash + 1)..];
        int prefix;
        if (IPAddress.TryParse(suffix, out var mask))
        {
            if (mask.AddressFamily != address.AddressFamily || !TryPrefix(mask, out prefix))
            {
                return null;
            }
        }
        else if (!int.TryParse(suffix, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out prefix))
        {
            return null;
        }

        // The network, not the address: firewalls accept host bits in a subnet field and ignore them.
        return IPNetwork.TryParse($"{address}/{prefix}", out _) ? new IPNetwork(Network(address, prefix), prefix).ToString() : null;
    }

    private static bool TryPrefix(IPAddress mask, out int prefix)
    {
        var bits = mask.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var value = ToNumber(mask);
        prefix = 0;
        while (prefix < bits && !((value >> (bits - 1 - prefix)) & 1).IsZero)
        {
            prefix++;
        }

        // Contiguous: nothing set after the first zero bit.
        var expected = prefix == 0 ? BigInteger.Zero : ((BigInteger.One << prefix) - 1) << (bits - prefix);
        return value == expected;
    }

    private static IPAddress Network(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(prefix - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }

        return new IPAddress(bytes);
    }

    private static BigInteger ToNumber(IPAddress address) => new(address.GetAddressBytes(), isUnsigned: true, isBigEndian: true);
}

using System.Net;
using System.Net.Sockets;

namespace IpsecExporter.Tunnels;

/// <summary>
/// The address range of one traffic selector as strongSwan prints it: <c>10.1.0.0/24</c>, <c>fd00::/64</c>,
/// <c>10.1.0.5..10.1.0.9</c>, optionally followed by a protocol/port part such as <c>[tcp/443]</c> (ignored: network
/// pairs are about addresses).
/// </summary>
public sealed record TrafficSelector
{
    // The range as numbers only: matching CHILD SAs to pairs compares them at every collection, and a hub keeps
    // four selectors per tunnel and pair (the configured ones and the CHILD SAs'), two addresses each.
    private readonly UInt128 _first;
    private readonly UInt128 _last;
    private readonly AddressFamily _family;

    public TrafficSelector(IPAddress first, IPAddress last)
        : this(ToNumber(first), ToNumber(last), first.AddressFamily)
    {
    }

    private TrafficSelector(UInt128 first, UInt128 last, AddressFamily family) => (_first, _last, _family) = (first, last, family);

    public IPAddress First => FromNumber(_first, _family);

    public IPAddress Last => FromNumber(_last, _family);

    public static bool TryParse(string text, out TrafficSelector? selector)
    {
        selector = null;
        var bracket = text.IndexOf('[', StringComparison.Ordinal);
        var range = (bracket >= 0 ? text[..bracket] : text).Trim();
        var dots = range.IndexOf("..", StringComparison.Ordinal);
        if (dots > 0)
        {
            if (IPAddress.TryParse(range[..dots], out var first) && IPAddress.TryParse(range[(dots + 2)..], out var last)
                && first.AddressFamily == last.AddressFamily && ToNumber(first) <= ToNumber(last))
            {
                selector = new TrafficSelector(first, last);
            }

            return selector is not null;
        }

        if (IPNetwork.TryParse(range, out var network) || (IPAddress.TryParse(range, out var single) && IPNetwork.TryParse($"{single}/{Bits(single)}", out network)))
        {
            selector = FromNetwork(network);
        }

        return selector is not null;
    }

    /// <summary>The selectors among <paramref name="texts"/> that parse (e.g. <c>dynamic</c> does not), in an array of their size.</summary>
    public static TrafficSelector[] ParseAll(IReadOnlyList<string> texts)
    {
        var selectors = new TrafficSelector[texts.Count];
        var parsed = 0;
        foreach (var text in texts)
        {
            if (TryParse(text, out var selector))
            {
                selectors[parsed++] = selector!;
            }
        }

        if (parsed < selectors.Length)
        {
            Array.Resize(ref selectors, parsed);
        }

        return selectors;
    }

    public static TrafficSelector FromNetwork(IPNetwork network)
    {
        var bits = Bits(network.BaseAddress);
        var first = ToNumber(network.BaseAddress);
        var hostBits = bits - network.PrefixLength;
        var last = hostBits == 0 ? first : first | (hostBits == 128 ? UInt128.MaxValue : (UInt128.One << hostBits) - 1);
        return new TrafficSelector(first, last, network.BaseAddress.AddressFamily);
    }

    /// <summary>True when the two ranges share at least one address (same address family only).</summary>
    public bool Overlaps(TrafficSelector other) =>
        _family == other._family
        && _first <= other._last
        && other._first <= _last;

    private static int Bits(IPAddress address) => address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;

    private static UInt128 ToNumber(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        UInt128 value = 0;
        foreach (var b in bytes[..written])
        {
            value = (value << 8) | b;
        }

        return value;
    }

    private static IPAddress FromNumber(UInt128 value, AddressFamily family)
    {
        var bytes = new byte[family == AddressFamily.InterNetwork ? 4 : 16];
        for (var i = bytes.Length - 1; i >= 0; i--, value >>= 8)
        {
            bytes[i] = (byte)value;
        }

        return new IPAddress(bytes);
    }
}

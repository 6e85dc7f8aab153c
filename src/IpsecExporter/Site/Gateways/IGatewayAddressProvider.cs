using System.Net;

namespace IpsecExporter.Site.Gateways;

/// <summary>A tunnel's remote gateway moved to another address (dynamic DNS, or a new IP in the configuration).</summary>
public sealed record GatewayAddressChange(string Tunnel, IPAddress? Previous, IPAddress Current);

/// <summary>
/// The address to probe for each tunnel's remote gateway: the configured IP, or the current address of its DNS name.
/// Probes read <see cref="GetAddress"/> before each round, or follow <see cref="AddressChanged"/>.
/// </summary>
public interface IGatewayAddressProvider
{
    /// <summary>Null for an unknown tunnel, or while its name has never resolved.</summary>
    IPAddress? GetAddress(string tunnel);

    /// <summary>Raised after the address of a tunnel's gateway is first known and after every change; must be quick.</summary>
    event Action<GatewayAddressChange>? AddressChanged;
}

using System.Net;

namespace IpsecExporter.Probes;

/// <summary>The address a tunnel's remote gateway is probed at, and why it is unknown when it is.</summary>
public sealed record GatewayAddress(IPAddress? Address, string? Error);

/// <summary>
/// Turns a configured <c>remote_gateway</c> (an IP address or a DNS name) into the address to probe. Kept behind this
/// interface so a dedicated resolver (the one behind <c>ipsec_remote_gateway_address_*</c>) can take over.
/// </summary>
public interface IGatewayAddressProvider
{
    /// <summary>
    /// The current address of <paramref name="remoteGateway"/>. Completes synchronously whenever an answer is known
    /// (names are re-resolved in the background), so probing many gateways is never held up by DNS; only a name's
    /// first resolution is waited for. A failed re-resolution keeps the last good address.
    /// </summary>
    ValueTask<GatewayAddress> GetAddressAsync(string remoteGateway, CancellationToken cancellationToken);
}

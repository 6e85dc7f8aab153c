using System.Net.Http.Headers;
using IpsecExporter.Sources.Http;

namespace IpsecExporter.Sources.FortiGate;

/// <summary>
/// Reads a FortiGate's IPsec tunnels with one read-only <c>GET /api/v2/monitor/vpn/ipsec?vdom=...</c> per collection,
/// authenticated by a REST API administrator's bearer token (read again on every collection, so a rotated token file
/// takes effect at once). FortiOS counts bytes per phase-2 selector and starts them again when the selector's SA is
/// renegotiated or the statistics are reset; <see cref="FortiGateMapper"/> turns each restart into a new SA key.
/// </summary>
public sealed class FortiGateSaSource(HttpSourceClient client, SecretReference token, string vdom, TimeProvider time) : ISaSource
{
    private readonly FortiGateMapper _mapper = new();

    public async Task<SaSnapshot> CollectAsync(CancellationToken cancellationToken)
    {
        var bearer = token.Read();
        using var answer = await client.GetJsonAsync(
            $"api/v2/monitor/vpn/ipsec?vdom={Uri.EscapeDataString(vdom)}",
            request => request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer),
            cancellationToken);
        return new SaSnapshot(time.GetUtcNow(), _mapper.Map(answer.RootElement, vdom == FortiGateSourceOptions.AllVdoms))
        {
            Counters = CounterCapabilities.Bytes,
            DhGroupsReported = false,
        };
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

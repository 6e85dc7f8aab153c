using System.Collections.Concurrent;
using System.Globalization;
using IpsecExporter.Sources.Http;

namespace IpsecExporter.Sources.PanOs;

/// <summary>
/// Reads a PAN-OS firewall's SAs over the XML API with read-only operational commands (<c>type=op</c>): the SA list,
/// the tunnel list, and each tunnel's flow detail for its counters. The API key goes in the <c>X-PAN-KEY</c> header,
/// never in the URL, and is read from its file or variable on every collection.
/// </summary>
public sealed class PanOsSaSource : ISaSource
{
    public const string IpsecSaCommand = "<show><vpn><ipsec-sa></ipsec-sa></vpn></show>";
    public const string FlowCommand = "<show><vpn><flow></flow></vpn></show>";

    /// <summary>Flow details asked for at once: enough to keep a big firewall's collection short, few enough for its management plane.</summary>
    private const int ParallelDetails = 4;

    private readonly HttpSourceClient _client;
    private readonly SecretReference _apiKey;
    private readonly TimeProvider _time;
    private readonly SaCounterLedger _ledger = new();

    public PanOsSaSource(HttpSourceClient client, SecretReference apiKey, TimeProvider time)
    {
        _client = client;
        _apiKey = apiKey;
        _time = time;
    }

    public static string FlowDetailCommand(int tunnelId) => $"<show><vpn><flow><tunnel-id>{tunnelId.ToString(CultureInfo.InvariantCulture)}</tunnel-id></flow></vpn></show>";

    public async Task<SaSnapshot> CollectAsync(CancellationToken cancellationToken)
    {
        var key = _apiKey.Read();
        try
        {
            var sas = PanOsSaMapper.ParseIpsecSas(await OpAsync(IpsecSaCommand, key, cancellationToken));
            var flows = PanOsSaMapper.ParseFlows(await OpAsync(FlowCommand, key, cancellationToken));
            var details = new ConcurrentDictionary<int, PanOsFlowDetail>();
            await Parallel.ForEachAsync(
                sas.Select(s => s.TunnelId).Distinct(),
                new ParallelOptions { MaxDegreeOfParallelism = ParallelDetails, CancellationToken = cancellationToken },
                async (tunnelId, token) =>
                {
                    if (PanOsSaMapper.ParseFlowDetail(await OpAsync(FlowDetailCommand(tunnelId), key, token)) is { } detail)
                    {
                        details[tunnelId] = detail;
                    }
                });
            return PanOsSaMapper.Map(_time.GetUtcNow(), sas, flows, details, _ledger);
        }
        catch (IOException e) when (e.Message.Contains(key, StringComparison.Ordinal))
        {
            // A firewall that echoes the request back in its error must not put the key into our logs.
            throw new IOException(e.Message.Replace(key, "<redacted>", StringComparison.Ordinal));
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task<System.Xml.Linq.XElement> OpAsync(string command, string key, CancellationToken cancellationToken)
    {
        var body = await _client.GetStringAsync($"api/?type=op&cmd={Uri.EscapeDataString(command)}", request => request.Headers.Add("X-PAN-KEY", key), cancellationToken);
        return PanOsSaMapper.Result(body, command);
    }
}

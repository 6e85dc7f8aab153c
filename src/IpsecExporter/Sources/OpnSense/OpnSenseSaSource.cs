using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using IpsecExporter.Sources.Http;

namespace IpsecExporter.Sources.OpnSense;

/// <summary>
/// Reads an OPNsense firewall's SAs over its API with HTTP basic auth (API key and secret, read from their files or
/// variables on every collection): the IPsec service's status first, so a stopped service is a source error and never
/// an empty tunnel list, then the phase-1 sessions and, for each connected one, its phase-2 sessions. Only the
/// read-only status and search actions are called; <c>search_phase2</c> takes the phase-1 id in a JSON POST body, the
/// only place OPNsense reads it from.
/// </summary>
public sealed class OpnSenseSaSource : ISaSource
{
    public const string StatusPath = "api/ipsec/service/status";
    public const string Phase1Path = "api/ipsec/sessions/search_phase1";
    public const string Phase2Path = "api/ipsec/sessions/search_phase2";

    /// <summary>
    /// Phase-2 searches asked for at once: each makes the firewall list every SA, so few enough for its CPU, enough to
    /// keep a collection of many tunnels within the timeout.
    /// </summary>
    private const int ParallelPhase2 = 4;

    private readonly HttpSourceClient _client;
    private readonly SecretReference _apiKey;
    private readonly SecretReference _apiSecret;
    private readonly TimeProvider _time;

    public OpnSenseSaSource(HttpSourceClient client, SecretReference apiKey, SecretReference apiSecret, TimeProvider time)
    {
        _client = client;
        _apiKey = apiKey;
        _apiSecret = apiSecret;
        _time = time;
    }

    public async Task<SaSnapshot> CollectAsync(CancellationToken cancellationToken)
    {
        var credentials = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_apiKey.Read()}:{_apiSecret.Read()}")));
        void Authorize(HttpRequestMessage request) => request.Headers.Authorization = credentials;

        using (var status = await _client.GetJsonAsync(StatusPath, Authorize, cancellationToken))
        {
            OpnSenseSaMapper.EnsureRunning(status.RootElement);
        }

        List<OpnSensePhase1> phase1s;
        using (var answer = await _client.GetJsonAsync(Phase1Path, Authorize, cancellationToken))
        {
            phase1s = OpnSenseSaMapper.ParsePhase1(answer.RootElement);
        }

        var phase2s = new ConcurrentDictionary<string, List<OpnSensePhase2>>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(
            phase1s.Where(p => p.Connected),
            new ParallelOptions { MaxDegreeOfParallelism = ParallelPhase2, CancellationToken = cancellationToken },
            async (phase1, token) =>
            {
                using var answer = await _client.PostJsonAsync(Phase2Path, new JsonObject { ["id"] = phase1.Name }, Authorize, token);
                phase2s[phase1.Name] = OpnSenseSaMapper.ParsePhase2(answer.RootElement, phase1.Name);
            });
        return OpnSenseSaMapper.Map(_time.GetUtcNow(), phase1s, phase2s);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

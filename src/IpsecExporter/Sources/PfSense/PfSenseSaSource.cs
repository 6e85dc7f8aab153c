using IpsecExporter.Sources.Http;

namespace IpsecExporter.Sources.PfSense;

/// <summary>
/// Reads a pfSense firewall's SAs over the REST API package v2 with two GETs, the API key in the <c>X-API-Key</c>
/// header (read from its file or variable on every collection): the <c>ipsec</c> service's status first, so a stopped
/// strongSwan is a source error and never an empty SA list, then <c>status/ipsec/sas</c>, charon's IKE SAs with their
/// CHILD SAs.
/// </summary>
public sealed class PfSenseSaSource(HttpSourceClient client, SecretReference apiKey, TimeProvider time) : ISaSource
{
    public const string ServicesPath = "api/v2/status/services?name=ipsec";
    public const string SasPath = "api/v2/status/ipsec/sas";

    public async Task<SaSnapshot> CollectAsync(CancellationToken cancellationToken)
    {
        var key = apiKey.Read();
        void Authorize(HttpRequestMessage request) => request.Headers.Add("X-API-Key", key);

        using (var services = await client.GetJsonAsync(ServicesPath, Authorize, cancellationToken))
        {
            PfSenseSaMapper.EnsureRunning(services.RootElement);
        }

        using var sas = await client.GetJsonAsync(SasPath, Authorize, cancellationToken);
        return new SaSnapshot(time.GetUtcNow(), PfSenseSaMapper.Map(sas.RootElement)) { Counters = CounterCapabilities.All };
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

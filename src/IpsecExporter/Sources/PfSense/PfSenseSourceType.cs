using IpsecExporter.Sources.Http;

namespace IpsecExporter.Sources.PfSense;

/// <summary>
/// The <c>pfsense</c> source type: pfSense with the REST API package v2, its base URL and the API key sent as
/// <c>X-API-Key</c> (docs/SOURCES.md).
/// </summary>
internal sealed class PfSenseSourceType : ApiKeySourceType
{
    public override string Type => "pfsense";

    protected override ISaSource Create(HttpSourceClient client, SecretReference apiKey, TimeProvider time) => new PfSenseSaSource(client, apiKey, time);
}

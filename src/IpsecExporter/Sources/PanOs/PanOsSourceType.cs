using IpsecExporter.Sources.Http;

namespace IpsecExporter.Sources.PanOs;

/// <summary>
/// The <c>panos</c> source type: a Palo Alto Networks firewall's XML API and the API key sent as <c>X-PAN-KEY</c>
/// (docs/SOURCES.md).
/// </summary>
internal sealed class PanOsSourceType : ApiKeySourceType
{
    public override string Type => "panos";

    protected override ISaSource Create(HttpSourceClient client, SecretReference apiKey, TimeProvider time) => new PanOsSaSource(client, apiKey, time);
}

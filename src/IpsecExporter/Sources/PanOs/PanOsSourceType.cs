using IpsecExporter.Configuration;
using IpsecExporter.Sources.Http;

namespace IpsecExporter.Sources.PanOs;

/// <summary>The options of a <c>panos</c> source: the firewall's XML API and the API key sent as <c>X-PAN-KEY</c>.</summary>
public sealed record PanOsSourceOptions(HttpEndpoint Api, SecretReference ApiKey) : SourceOptions
{
    public override string Endpoint => Api.Url.ToString();
}

/// <summary>The <c>panos</c> source type: a Palo Alto Networks firewall's XML API (docs/SOURCES.md).</summary>
internal sealed class PanOsSourceType : SaSourceType<PanOsSourceOptions>
{
    public override string Type => "panos";

    public override IReadOnlyCollection<string> OptionKeys { get; } = [.. HttpEndpoint.Keys, "token_file", "token_env"];

    public override PanOsSourceOptions Parse(YamlMap map, ConfigErrors errors) =>
        // Both are null only after an error was reported, and a configuration with errors is never used.
        new(HttpEndpoint.Parse(map, errors)!, SecretReference.Parse(map, "token", errors, required: true)!);

    public override ISaSource Create(SourceConfig config, PanOsSourceOptions options, IServiceProvider services) =>
        new PanOsSaSource(
            services.GetRequiredService<HttpSourceClients>().Create(config.Name, options.Api, config.Timeout),
            options.ApiKey,
            services.GetRequiredService<TimeProvider>());
}

using IpsecExporter.Configuration;
using IpsecExporter.Sources.Http;

namespace IpsecExporter.Sources.PfSense;

/// <summary>The options of a <c>pfsense</c> source: the REST API package's base URL and the API key sent as <c>X-API-Key</c>.</summary>
public sealed record PfSenseSourceOptions(HttpEndpoint Api, SecretReference ApiKey) : SourceOptions
{
    public override string Endpoint => Api.Url.ToString();
}

/// <summary>The <c>pfsense</c> source type: pfSense with the REST API package v2 (docs/SOURCES.md).</summary>
internal sealed class PfSenseSourceType : SaSourceType<PfSenseSourceOptions>
{
    public override string Type => "pfsense";

    public override IReadOnlyCollection<string> OptionKeys { get; } = [.. HttpEndpoint.Keys, "token_file", "token_env"];

    public override PfSenseSourceOptions Parse(YamlMap map, ConfigErrors errors) =>
        // Both are null only after an error was reported, and a configuration with errors is never used.
        new(HttpEndpoint.Parse(map, errors)!, SecretReference.Parse(map, "token", errors, required: true)!);

    public override ISaSource Create(SourceConfig config, PfSenseSourceOptions options, IServiceProvider services) =>
        new PfSenseSaSource(
            services.GetRequiredService<HttpSourceClients>().Create(config.Name, options.Api, config.Timeout),
            options.ApiKey,
            services.GetRequiredService<TimeProvider>());
}

using IpsecExporter.Configuration;
using IpsecExporter.Sources.Http;

namespace IpsecExporter.Sources.OpnSense;

/// <summary>The options of an <c>opnsense</c> source: the firewall's API and the API key and secret for basic auth.</summary>
public sealed record OpnSenseSourceOptions(HttpEndpoint Api, SecretReference ApiKey, SecretReference ApiSecret) : SourceOptions
{
    public override string Endpoint => Api.Url.ToString();
}

/// <summary>The <c>opnsense</c> source type: an OPNsense firewall's IPsec API (docs/SOURCES.md).</summary>
internal sealed class OpnSenseSourceType : SaSourceType<OpnSenseSourceOptions>
{
    public override string Type => "opnsense";

    public override IReadOnlyCollection<string> OptionKeys { get; } = [.. HttpEndpoint.Keys, "api_key_file", "api_key_env", "api_secret_file", "api_secret_env"];

    public override IReadOnlyDictionary<string, string> RefusedKeys { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["api_key"] = "inline secrets are not allowed: put the API key in a file and set api_key_file, or set api_key_env to an environment variable's name",
        ["api_secret"] = "inline secrets are not allowed: put the API secret in a file and set api_secret_file, or set api_secret_env to an environment variable's name",
    };

    public override OpnSenseSourceOptions Parse(YamlMap map, ConfigErrors errors) =>
        // Null only after an error was reported, and a configuration with errors is never used.
        new(HttpEndpoint.Parse(map, errors)!, SecretReference.Parse(map, "api_key", errors, required: true)!, SecretReference.Parse(map, "api_secret", errors, required: true)!);

    public override ISaSource Create(SourceConfig config, OpnSenseSourceOptions options, IServiceProvider services) =>
        new OpnSenseSaSource(
            services.GetRequiredService<HttpSourceClients>().Create(config.Name, options.Api, config.Timeout),
            options.ApiKey,
            options.ApiSecret,
            services.GetRequiredService<TimeProvider>());
}

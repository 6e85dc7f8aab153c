using IpsecExporter.Configuration;
using IpsecExporter.Sources.Http;

namespace IpsecExporter.Sources.MikroTik;

/// <summary>The options of a <c>mikrotik</c> source: the router's REST API and a (read-only) user for basic auth.</summary>
public sealed record MikroTikSourceOptions(HttpEndpoint Api, string Username, SecretReference Password) : SourceOptions
{
    public override string Endpoint => Api.Url.ToString();
}

/// <summary>The <c>mikrotik</c> source type: a RouterOS 7 router's REST API (docs/SOURCES.md).</summary>
internal sealed class MikroTikSourceType : SaSourceType<MikroTikSourceOptions>
{
    public override string Type => "mikrotik";

    public override IReadOnlyCollection<string> OptionKeys { get; } = [.. HttpEndpoint.Keys, "username", "password_file", "password_env"];

    public override MikroTikSourceOptions Parse(YamlMap map, ConfigErrors errors) =>
        // Null only after an error was reported, and a configuration with errors is never used.
        new(HttpEndpoint.Parse(map, errors)!, map.String("username", required: true)!, SecretReference.Parse(map, "password", errors, required: true)!);

    public override ISaSource Create(SourceConfig config, MikroTikSourceOptions options, IServiceProvider services) =>
        new MikroTikSaSource(
            services.GetRequiredService<HttpSourceClients>().Create(config.Name, options.Api, config.Timeout),
            options.Username,
            options.Password,
            services.GetRequiredService<TimeProvider>());
}

using IpsecExporter.Configuration;

namespace IpsecExporter.Sources.Http;

/// <summary>The options of a vendor source that reads an HTTP API with one API key (<c>token_file</c> / <c>token_env</c>).</summary>
public sealed record ApiKeySourceOptions(HttpEndpoint Api, SecretReference ApiKey) : SourceOptions
{
    public override string Endpoint => Api.Url.ToString();
}

/// <summary>
/// A source type whose options are the shared <c>url</c>, <c>tls</c> and one API key: the vendor names its type and
/// builds its source from the shared HTTP client, the key and the clock.
/// </summary>
internal abstract class ApiKeySourceType : SaSourceType<ApiKeySourceOptions>
{
    public override IReadOnlyCollection<string> OptionKeys { get; } = [.. HttpEndpoint.Keys, "token_file", "token_env"];

    public override ApiKeySourceOptions Parse(YamlMap map, ConfigErrors errors) =>
        // Both are null only after an error was reported, and a configuration with errors is never used.
        new(HttpEndpoint.Parse(map, errors)!, SecretReference.Parse(map, "token", errors, required: true)!);

    public override ISaSource Create(SourceConfig config, ApiKeySourceOptions options, IServiceProvider services) =>
        Create(services.GetRequiredService<HttpSourceClients>().Create(config.Name, options.Api, config.Timeout), options.ApiKey, services.GetRequiredService<TimeProvider>());

    protected abstract ISaSource Create(HttpSourceClient client, SecretReference apiKey, TimeProvider time);
}

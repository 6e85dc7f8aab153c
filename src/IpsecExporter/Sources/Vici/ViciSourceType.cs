using IpsecExporter.Configuration;

namespace IpsecExporter.Sources.Vici;

/// <summary>The options of a <c>vici</c> source: charon's VICI socket (null: <see cref="ViciSourceType.DefaultUri"/>).</summary>
public sealed record ViciSourceOptions(string? Uri) : SourceOptions
{
    public override string Endpoint => Uri ?? ViciSourceType.DefaultUri;
}

/// <summary>The <c>vici</c> source type: a strongSwan charon's VICI socket (<c>uri</c>, default <see cref="DefaultUri"/>).</summary>
internal sealed class ViciSourceType : SaSourceType<ViciSourceOptions>
{
    public const string DefaultUri = ConfigLoader.DefaultViciUri;

    private const string NoCredentials = "vici sources take no credentials (access is controlled by the socket's permissions)";

    public override string Type => "vici";

    public override IReadOnlyCollection<string> OptionKeys { get; } = ["uri"];

    public override IReadOnlyDictionary<string, string> RefusedKeys { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["token_file"] = NoCredentials,
        ["token_env"] = NoCredentials,
        ["username"] = NoCredentials,
        ["password_file"] = NoCredentials,
        ["password_env"] = NoCredentials,
    };

    public override ViciSourceOptions Parse(YamlMap map, ConfigErrors errors)
    {
        var uri = map.String("uri");
        if (!ViciEndpoint.TryParse(uri ?? DefaultUri, out _, out var error))
        {
            errors.Add(map.ValueNode("uri")!, $"{map.Child("uri")}: {error}");
        }

        return new ViciSourceOptions(uri);
    }

    public override ISaSource Create(SourceConfig config, ViciSourceOptions options, IServiceProvider services) =>
        new ViciSaSource(ViciEndpoint.Parse(options.Endpoint), config.Timeout, services.GetRequiredService<TimeProvider>(), services.GetRequiredService<ILogger<ViciSaSource>>());
}

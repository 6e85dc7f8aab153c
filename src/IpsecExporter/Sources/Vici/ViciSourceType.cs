using IpsecExporter.Configuration;

namespace IpsecExporter.Sources.Vici;

/// <summary>
/// The options of a <c>vici</c> source: charon's VICI socket (null: <see cref="ViciSourceType.DefaultUri"/>) and the most
/// one collection may read.
/// </summary>
public sealed record ViciSourceOptions(string? Uri, ViciCollectionLimits? Limits = null) : SourceOptions
{
    // Resolved once per configuration load: the tracker asks on every collection.
    public override string Endpoint { get; } =
        ViciEndpoint.TryParse(Uri ?? ViciSourceType.DefaultUri, out var endpoint, out _) ? endpoint!.Canonical : Uri ?? ViciSourceType.DefaultUri;
}

/// <summary>The <c>vici</c> source type: a strongSwan charon's VICI socket (<c>uri</c>, default <see cref="DefaultUri"/>).</summary>
internal sealed class ViciSourceType : SaSourceType<ViciSourceOptions>
{
    public const string DefaultUri = ConfigLoader.DefaultViciUri;

    private const string NoCredentials = "vici sources take no credentials (access is controlled by the socket's permissions)";

    public override string Type => "vici";

    public override IReadOnlyCollection<string> OptionKeys { get; } = ["uri", "max_sas", "max_answer_bytes"];

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

        // The lower bounds keep a typo from cutting off every collection of a small gateway.
        var maxSas = map.Integer("max_sas", 100, int.MaxValue);
        var maxAnswerBytes = map.Integer("max_answer_bytes", ViciCodec.MaxFrameLength, int.MaxValue);
        var limits = maxSas is null && maxAnswerBytes is null
            ? null
            : new ViciCollectionLimits(maxSas ?? ViciCollectionLimits.DefaultMaxSas, maxAnswerBytes ?? ViciCollectionLimits.DefaultMaxAnswerBytes);
        return new ViciSourceOptions(uri, limits);
    }

    public override ISaSource Create(SourceConfig config, ViciSourceOptions options, IServiceProvider services) =>
        new ViciSaSource(ViciEndpoint.Parse(options.Uri ?? DefaultUri), config.Timeout, services.GetRequiredService<TimeProvider>(), services.GetRequiredService<ILogger<ViciSaSource>>(), options.Limits);
}

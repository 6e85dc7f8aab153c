using IpsecExporter.Configuration;

namespace IpsecExporter.Sources.Vici;

/// <summary>The <c>vici</c> source type: a strongSwan charon's VICI socket (<c>uri</c>, default <see cref="DefaultUri"/>).</summary>
public sealed class ViciSourceFactory : ISaSourceFactory
{
    public const string DefaultUri = ConfigLoader.DefaultViciUri;

    public string Type => "vici";

    public IEnumerable<(string Key, string Message)> Validate(SourceConfig config)
    {
        if (!ViciEndpoint.TryParse(config.Uri ?? DefaultUri, out _, out var error))
        {
            yield return ("uri", error);
        }

        foreach (var (key, value) in new[] { ("token_file", config.TokenFile), ("token_env", config.TokenEnv), ("username", config.Username), ("password_file", config.PasswordFile), ("password_env", config.PasswordEnv) })
        {
            if (value is not null)
            {
                yield return (key, "vici sources take no credentials (access is controlled by the socket's permissions)");
            }
        }
    }

    public ISaSource Create(SourceConfig config, IServiceProvider services)
    {
        return new ViciSaSource(ViciEndpoint.Parse(config.Uri ?? DefaultUri), config.Timeout, services.GetRequiredService<TimeProvider>(), services.GetRequiredService<ILogger<ViciSaSource>>());
    }
}

using IpsecExporter.Configuration;
using IpsecExporter.Sources.Http;

namespace IpsecExporter.Sources.FortiGate;

/// <summary>
/// The options of a <c>fortigate</c> source: the FortiOS REST API, its REST API administrator's token, and the VDOM
/// (one name, or <c>*</c> for every VDOM the token may read).
/// </summary>
public sealed record FortiGateSourceOptions(HttpEndpoint? Api, SecretReference? Token, string Vdom) : SourceOptions
{
    public const string AllVdoms = "*";

    public override string Endpoint => Api is null ? "" : $"{HttpSourceClient.Describe(Api.Url)}#vdom={Vdom}";
}

/// <summary>The <c>fortigate</c> source type: FortiOS 7.x <c>GET /api/v2/monitor/vpn/ipsec</c> with a bearer token.</summary>
internal sealed class FortiGateSourceType : SaSourceType<FortiGateSourceOptions>
{
    public override string Type => "fortigate";

    public override IReadOnlyCollection<string> OptionKeys { get; } = [.. HttpEndpoint.Keys, "token_file", "token_env", "vdom"];

    public override FortiGateSourceOptions Parse(YamlMap map, ConfigErrors errors)
    {
        var api = HttpEndpoint.Parse(map, errors);
        var token = SecretReference.Parse(map, "token", errors, required: true);
        var vdom = map.String("vdom") ?? "root";
        if (vdom != FortiGateSourceOptions.AllVdoms && (vdom.Length == 0 || !vdom.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')))
        {
            errors.Add(map.ValueNode("vdom")!, $"{map.Child("vdom")}: '{vdom}' is not a VDOM name (letters, digits, '_', '-', '.'), nor * for every VDOM");
        }

        return new FortiGateSourceOptions(api, token, vdom);
    }

    public override ISaSource Create(SourceConfig config, FortiGateSourceOptions options, IServiceProvider services)
    {
        // A configuration without url or token never loads, so both are set here.
        var client = services.GetRequiredService<HttpSourceClients>().Create(config.Name, options.Api!, config.Timeout);
        return new FortiGateSaSource(client, options.Token!, options.Vdom, services.GetRequiredService<TimeProvider>());
    }
}

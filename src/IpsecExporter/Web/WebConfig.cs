using System.Globalization;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using IpsecExporter.Configuration;
using YamlDotNet.RepresentationModel;

namespace IpsecExporter.Web;

/// <summary>exporter-toolkit's <c>client_auth_type</c> values (Go's tls.ClientAuthType names).</summary>
public enum ClientAuthType
{
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

/// <summary><c>tls_server_config</c>: paths are absolute (relative ones resolved against the web config's directory).</summary>
public sealed record TlsServerConfig(
    string CertFile,
    string KeyFile,
    ClientAuthType ClientAuth,
    string? ClientCaFile,
    SslProtocols MinVersion,
    SslProtocols MaxVersion,
    IReadOnlyList<TlsCipherSuite>? CipherSuites,
    IReadOnlyList<string> ClientAllowedSans)
{
    /// <summary>Every protocol from <see cref="MinVersion"/> to <see cref="MaxVersion"/>.</summary>
    public SslProtocols EnabledProtocols => WebConfig.Versions.Values
        .Where(v => v >= MinVersion && v <= MaxVersion)
        .Aggregate(SslProtocols.None, (all, v) => all | v);
}

/// <summary>
/// The Prometheus exporter-toolkit web configuration (<c>--web-config</c>), as <c>promtool check web-config</c> accepts
/// it: TLS (versions, cipher suites, client certificates), basic-auth users with bcrypt hashes, response headers.
/// </summary>
public sealed partial record WebConfig(TlsServerConfig? Tls, IReadOnlyDictionary<string, string> BasicAuthUsers, IReadOnlyDictionary<string, string> Headers)
{
    /// <summary>Go's names, in order.</summary>
#pragma warning disable SYSLIB0039, CA5397 // TLS 1.0 and 1.1 are accepted because exporter-toolkit accepts them; OpenSSL may still refuse them.
    public static readonly IReadOnlyDictionary<string, SslProtocols> Versions = new Dictionary<string, SslProtocols>(StringComparer.Ordinal)
    {
        ["TLS10"] = SslProtocols.Tls,
        ["TLS11"] = SslProtocols.Tls11,
        ["TLS12"] = SslProtocols.Tls12,
        ["TLS13"] = SslProtocols.Tls13,
    };
#pragma warning restore SYSLIB0039, CA5397

    /// <summary>The headers exporter-toolkit lets a web config set (any other is an error there too).</summary>
    public static readonly IReadOnlyList<string> ConfigurableHeaders = ["Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options", "X-XSS-Protection", "Content-Security-Policy"];

    /// <summary>Accepted for compatibility; .NET leaves the key exchange groups to OpenSSL.</summary>
    private static readonly string[] Curves = ["CurveP256", "CurveP384", "CurveP521", "X25519"];

    private static readonly string[] RootKeys = ["tls_server_config", "basic_auth_users", "http_server_config"];
    private static readonly string[] TlsKeys = ["cert_file", "key_file", "client_auth_type", "client_ca_file", "client_allowed_sans", "cipher_suites", "curve_preferences", "min_version", "max_version", "prefer_server_cipher_suites"];
    private static readonly string[] HttpKeys = ["http2", "headers"];

    public bool TlsEnabled => Tls is not null;

    public bool Http2 { get; init; } = true;

    /// <summary>Where it was read from (absolute); null for the empty default.</summary>
    public string? FilePath { get; init; }

    /// <summary>Every file this configuration reads: a change to any of them is a reason to reload it.</summary>
    public IReadOnlyList<string> Files { get; init; } = [];

    public static WebConfig Load(string path) => Parse(path, YamlDocuments.ReadFile(path, "web config"));

    public static WebConfig Parse(string path, string text)
    {
        var errors = new ConfigErrors(path);
        var stream = YamlDocuments.Parse(path, text, "web config");
        var root = stream.Documents.Count == 0 ? null : YamlMap.From(stream.Documents[0].RootNode, "", errors, RootKeys);
        var tls = ParseTls(path, YamlMap.From(root?.ValueNode("tls_server_config"), "tls_server_config", errors, TlsKeys), errors);
        var http = YamlMap.From(root?.ValueNode("http_server_config"), "http_server_config", errors, HttpKeys);
        var http2 = http?.Bool("http2") ?? true;
        var headers = ParseHeaders(http?.ValueNode("headers"), errors);
        var users = ParseUsers(root?.ValueNode("basic_auth_users"), errors);
        if (errors.All.Count > 0)
        {
            throw new ConfigException(errors.All.OrderBy(e => e.Line).ThenBy(e => e.Column).ToList());
        }

        string[] files = tls is null ? [path] : [path, tls.CertFile, tls.KeyFile, .. tls.ClientCaFile is null ? Array.Empty<string>() : [tls.ClientCaFile]];
        return new WebConfig(tls, users, headers) { Http2 = http2, FilePath = Path.GetFullPath(path), Files = files.Select(Path.GetFullPath).ToList() };
    }

    private static TlsServerConfig? ParseTls(string path, YamlMap? map, ConfigErrors errors)
    {
        if (map is null)
        {
            return null;
        }

        var cert = ExistingFile(path, map, "cert_file", required: true, errors);
        var key = ExistingFile(path, map, "key_file", required: true, errors);
        var ca = ExistingFile(path, map, "client_ca_file", required: false, errors);
        if (cert is not null && key is not null)
        {
            try
            {
                using var pair = X509Certificate2.CreateFromPemFile(cert, key);
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                errors.Add(map.ValueNode("cert_file")!, $"tls_server_config: cannot load the certificate and key: {e.Message}");
            }
        }

        if (ca is not null)
        {
            try
            {
                var authorities = new X509Certificate2Collection();
                authorities.ImportFromPemFile(ca);
                if (authorities.Count == 0)
                {
                    errors.Add(map.ValueNode("client_ca_file")!, "tls_server_config.client_ca_file: holds no PEM certificate");
                }
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
            {
                errors.Add(map.ValueNode("client_ca_file")!, $"tls_server_config.client_ca_file: cannot load the certificates: {e.Message}");
            }
        }

        var authText = map.String("client_auth_type");
        var auth = authText switch
        {
            null => ClientAuthType.NoClientCert,
            // exporter-toolkit's older name for it.
            "RequireClientCert" => ClientAuthType.RequireAnyClientCert,
            _ when Enum.GetNames<ClientAuthType>().Contains(authText) => Enum.Parse<ClientAuthType>(authText),
            _ => (ClientAuthType?)null,
        };
        if (auth is null)
        {
            errors.Add(map.ValueNode("client_auth_type")!, $"tls_server_config.client_auth_type: unknown value '{authText}' (expected one of: {string.Join(", ", Enum.GetNames<ClientAuthType>())})");
        }

        if (ca is not null && auth == ClientAuthType.NoClientCert)
        {
            // exporter-toolkit refuses this too: a CA without a policy would silently check nothing.
            errors.Add(map.ValueNode("client_ca_file")!, "tls_server_config.client_ca_file: set without a client_auth_type that asks for client certificates");
        }

        var min = Version("min_version", SslProtocols.Tls12);
        var max = Version("max_version", SslProtocols.Tls13);
        if (min > max)
        {
            errors.Add(map.ValueNode("min_version") ?? map.Node, "tls_server_config: min_version is above max_version");
        }

        List<TlsCipherSuite>? suites = null;
        if (map.Has("cipher_suites"))
        {
            suites = [];
            foreach (var (node, name) in map.StringList("cipher_suites"))
            {
                if (Enum.GetNames<TlsCipherSuite>().Contains(name))
                {
                    suites.Add(Enum.Parse<TlsCipherSuite>(name));
                }
                else
                {
                    errors.Add(node, $"tls_server_config.cipher_suites: unknown cipher suite '{name}' (IANA names as Go spells them, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
                }
            }
        }

        foreach (var (node, curve) in map.StringList("curve_preferences"))
        {
            if (!Curves.Contains(curve))
            {
                errors.Add(node, $"tls_server_config.curve_preferences: unknown curve '{curve}' (expected one of: {string.Join(", ", Curves)})");
            }
        }

        map.Bool("prefer_server_cipher_suites");
        var sans = map.StringList("client_allowed_sans").Select(s => s.Value).ToList();
        return cert is null || key is null ? null : new TlsServerConfig(cert, key, auth ?? ClientAuthType.NoClientCert, ca, min, max, suites, sans);

        SslProtocols Version(string field, SslProtocols fallback)
        {
            var text = map.String(field);
            if (text is null)
            {
                return fallback;
            }

            if (Versions.TryGetValue(text, out var version))
            {
                return version;
            }

            errors.Add(map.ValueNode(field)!, $"tls_server_config.{field}: unknown TLS version '{text}' (expected one of: {string.Join(", ", Versions.Keys)})");
            return fallback;
        }
    }

    private static string? ExistingFile(string configPath, YamlMap map, string field, bool required, ConfigErrors errors)
    {
        var file = map.String(field, required);
        if (file is null)
        {
            return null;
        }

        var resolved = ResolvePath(configPath, file);
        if (!File.Exists(resolved))
        {
            errors.Add(map.ValueNode(field)!, $"tls_server_config.{field}: file '{file}' does not exist");
            return null;
        }

        return resolved;
    }

    private static Dictionary<string, string> ParseHeaders(YamlNode? node, ConfigErrors errors)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var map = YamlMap.From(node, "http_server_config.headers", errors, ConfigurableHeaders);
        if (map is null)
        {
            return headers;
        }

        foreach (var name in ConfigurableHeaders)
        {
            var value = map.String(name);
            if (value is null)
            {
                continue;
            }

            // The same rules as exporter-toolkit: these two have a fixed set of meaningful values.
            if (name == "X-Content-Type-Options" && value != "nosniff")
            {
                errors.Add(map.ValueNode(name)!, $"http_server_config.headers.{name}: must be nosniff");
                continue;
            }

            if (name == "X-Frame-Options" && !value.Equals("deny", StringComparison.OrdinalIgnoreCase) && !value.Equals("sameorigin", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add(map.ValueNode(name)!, $"http_server_config.headers.{name}: must be deny or sameorigin");
                continue;
            }

            headers[name] = value;
        }

        return headers;
    }

    private static Dictionary<string, string> ParseUsers(YamlNode? node, ConfigErrors errors)
    {
        var users = new Dictionary<string, string>(StringComparer.Ordinal);
        if (node is YamlMappingNode usersMap)
        {
            foreach (var (userNode, hashNode) in usersMap.Children)
            {
                var user = (userNode as YamlScalarNode)?.Value;
                var hash = (hashNode as YamlScalarNode)?.Value;
                var match = hash is null ? null : BcryptHash().Match(hash);
                if (string.IsNullOrEmpty(user) || match is not { Success: true })
                {
                    // Never echo the value: it may be a plain password pasted by mistake. A malformed hash would
                    // otherwise fail on the first request, as a 500 with a stack trace.
                    errors.Add(hashNode, $"basic_auth_users: the entry for '{user}' must be a bcrypt hash ($2y$...)");
                    continue;
                }

                // Each step of the cost doubles the work of one check, and the dummy hash for unknown users is made
                // at the highest configured cost when the file is loaded: a cost-31 hash kept `run` from ever serving.
                if (int.Parse(match.Groups["cost"].ValueSpan, CultureInfo.InvariantCulture) > MaxBcryptCost)
                {
                    errors.Add(hashNode, $"basic_auth_users: the entry for '{user}' has a bcrypt cost above {MaxBcryptCost} (htpasswd's limit; each step doubles the time of every check, 31 takes days)");
                    continue;
                }

                users[user] = match.Value;
            }
        }
        else if (node is not null && !YamlMap.IsNull(node))
        {
            errors.Add(node, "basic_auth_users: expected a mapping of user name to bcrypt hash");
        }

        return users;
    }

    private static string ResolvePath(string configPath, string file) =>
        Path.IsPathRooted(file) ? file : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(configPath))!, file);

    /// <summary>The highest bcrypt cost accepted: htpasswd's (`-C 4` to `17`), several seconds per check on a small machine.</summary>
    private const int MaxBcryptCost = 17;

    /// <summary>Modular crypt format: version, cost 04-31, 22 characters of salt and 31 of hash in bcrypt's base64.</summary>
    [GeneratedRegex(@"^\$2[abxy]?\$(?<cost>0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$", RegexOptions.CultureInvariant)]
    private static partial Regex BcryptHash();
}

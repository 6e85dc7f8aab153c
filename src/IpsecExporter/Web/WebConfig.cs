using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using IpsecExporter.Configuration;
using YamlDotNet.RepresentationModel;

namespace IpsecExporter.Web;

/// <summary>
/// The Prometheus exporter-toolkit web configuration (<c>--web-config</c>): TLS certificate and key, and basic-auth
/// users with bcrypt hashes, applied to every endpoint.
/// </summary>
public sealed record WebConfig(string? CertFile, string? KeyFile, IReadOnlyDictionary<string, string> BasicAuthUsers)
{
    private static readonly string[] RootKeys = ["tls_server_config", "basic_auth_users", "http_server_config"];
    private static readonly string[] TlsKeys = ["cert_file", "key_file"];
    private static readonly string[] HttpKeys = ["http2"];

    public bool TlsEnabled => CertFile is not null;

    public static WebConfig Load(string path) => Parse(path, YamlDocuments.ReadFile(path, "web config"));

    public static WebConfig Parse(string path, string text)
    {
        var errors = new ConfigErrors(path);
        var stream = YamlDocuments.Parse(path, text, "web config");
        var root = stream.Documents.Count == 0 ? null : YamlMap.From(stream.Documents[0].RootNode, "", errors, RootKeys);
        var tls = YamlMap.From(root?.ValueNode("tls_server_config"), "tls_server_config", errors, TlsKeys);
        YamlMap.From(root?.ValueNode("http_server_config"), "http_server_config", errors, HttpKeys)?.Bool("http2");
        var cert = tls?.String("cert_file", required: true);
        var key = tls?.String("key_file", required: true);
        foreach (var (file, field) in new[] { (cert, "cert_file"), (key, "key_file") })
        {
            if (file is not null && !File.Exists(ResolvePath(path, file)))
            {
                errors.Add(tls!.ValueNode(field)!, $"tls_server_config.{field}: file '{file}' does not exist");
            }
        }

        if (cert is not null && key is not null && errors.All.Count == 0)
        {
            try
            {
                using var pair = X509Certificate2.CreateFromPemFile(ResolvePath(path, cert), ResolvePath(path, key));
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
            {
                errors.Add(tls!.ValueNode("cert_file")!, $"tls_server_config: cannot load the certificate and key: {e.Message}");
            }
        }

        var users = new Dictionary<string, string>(StringComparer.Ordinal);
        var usersNode = root?.ValueNode("basic_auth_users");
        if (usersNode is YamlMappingNode usersMap)
        {
            foreach (var (userNode, hashNode) in usersMap.Children)
            {
                var user = (userNode as YamlScalarNode)?.Value;
                var hash = (hashNode as YamlScalarNode)?.Value;
                if (string.IsNullOrEmpty(user) || hash is null || !hash.StartsWith("$2", StringComparison.Ordinal))
                {
                    // Never echo the value: it may be a plain password pasted by mistake.
                    errors.Add(hashNode, $"basic_auth_users: the entry for '{user}' must be a bcrypt hash ($2y$...)");
                    continue;
                }

                users[user] = hash;
            }
        }
        else if (usersNode is not null)
        {
            errors.Add(usersNode, "basic_auth_users: expected a mapping of user name to bcrypt hash");
        }

        if (errors.All.Count > 0)
        {
            throw new ConfigException(errors.All.ToList());
        }

        return new WebConfig(cert is null ? null : ResolvePath(path, cert), key is null ? null : ResolvePath(path, key), users);
    }

    private static string ResolvePath(string configPath, string file) =>
        Path.IsPathRooted(file) ? file : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(configPath))!, file);
}

/// <summary>Checks basic-auth credentials against bcrypt hashes; remembers good ones so scrapes don't pay bcrypt each time.</summary>
public sealed class BasicAuthenticator(IReadOnlyDictionary<string, string> users)
{
    private readonly HashSet<string> _verified = [];
    private readonly Lock _lock = new();

    public bool Enabled => users.Count > 0;

    public bool Verify(string user, string password)
    {
        if (!users.TryGetValue(user, out var hash))
        {
            return false;
        }

        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{user}\0{password}\0{hash}")));
        lock (_lock)
        {
            if (_verified.Contains(key))
            {
                return true;
            }
        }

        if (!BCrypt.Net.BCrypt.Verify(password, hash))
        {
            return false;
        }

        lock (_lock)
        {
            _verified.Add(key);
        }

        return true;
    }
}

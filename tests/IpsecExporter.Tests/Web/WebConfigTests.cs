using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using IpsecExporter.Configuration;
using IpsecExporter.Tests.Support;
using IpsecExporter.Web;

namespace IpsecExporter.Tests.Web;

/// <summary>--web-config: TLS and bcrypt basic auth on every endpoint, with a real Kestrel on loopback.</summary>
public sealed class WebConfigTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task Tls_and_basic_auth_protect_every_endpoint()
    {
        using var certificate = TestPki.SelfSignedLoopback();
        _directory.Write("tls.crt", certificate.ExportCertificatePem());
        _directory.Write("tls.key", certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        var hash = BCrypt.Net.BCrypt.HashPassword("correct horse", 4);
        var webConfigPath = _directory.Write("web.yml", $"tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\nbasic_auth_users:\n  prometheus: '{hash}'\n");
        var webConfig = WebConfig.Load(webConfigPath);
        var (app, baseAddress) = await InProcessExporter.StartAsync(new ConfigLoader(TestSources.Registry()).Load(_directory.Write("ipsec.yaml", "site: { name: hq }\n")), TestSources.Registry(), webConfig);
        await using var running = app;
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert!.Thumbprint == certificate.Thumbprint };
        using var http = new HttpClient(handler) { BaseAddress = baseAddress };

        foreach (var path in new[] { "metrics", "healthz", "readyz", "" })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(path)).StatusCode);
        }

        http.DefaultRequestHeaders.Authorization = Basic("prometheus", "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("metrics")).StatusCode);

        http.DefaultRequestHeaders.Authorization = Basic("prometheus", "correct horse");
        var metrics = await http.GetStringAsync("metrics");
        Assert.Contains("ipsec_exporter_build_info", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public void A_plain_password_instead_of_a_hash_is_rejected_without_echoing_it()
    {
        var path = _directory.Write("web.yml", "basic_auth_users:\n  prometheus: hunter2\n");

        var error = Assert.Single(Assert.Throws<ConfigException>(() => WebConfig.Load(path)).Errors);

        Assert.Equal($"{path}:2:15: basic_auth_users: the entry for 'prometheus' must be a bcrypt hash ($2y$...)", error.ToString());
        Assert.DoesNotContain("hunter2", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("$2y$10$tooshort")]
    [InlineData("$2y$99$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0")]
    [InlineData("$2y$10$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!")]
    public void A_malformed_bcrypt_hash_is_rejected_at_load_with_its_line(string hash)
    {
        var path = _directory.Write("web.yml", $"# users\nbasic_auth_users:\n  ok: '{BCrypt.Net.BCrypt.HashPassword("x", 4)}'\n  prometheus: '{hash}'\n");

        var error = Assert.Single(Assert.Throws<ConfigException>(() => WebConfig.Load(path)).Errors);

        Assert.Equal($"{path}:4:15: basic_auth_users: the entry for 'prometheus' must be a bcrypt hash ($2y$...)", error.ToString());
    }

    [Theory]
    [InlineData("18")]
    [InlineData("31")]
    public void A_bcrypt_cost_above_htpasswds_17_is_rejected_at_load_because_the_exporter_could_not_serve(string cost)
    {
        // Well formed, and promtool accepts it; but the dummy hash for unknown users is made at this cost when the file
        // loads, and 2^31 rounds kept `run` busy for days before it served anything.
        var path = _directory.Write("web.yml", $"basic_auth_users:\n  prometheus: '$2b${cost}$gAXlbIZHylBP4gEa0MHu6u8ngeXWuSaFN838ccUOXTGrD97x5Z3CW'\n");

        var error = Assert.Single(Assert.Throws<ConfigException>(() => WebConfig.Load(path)).Errors);

        Assert.Equal($"{path}:2:15: basic_auth_users: the entry for 'prometheus' has a bcrypt cost above 17 (htpasswd's limit; each step doubles the time of every check, 31 takes days)", error.ToString());
    }

    [Fact]
    public void A_bcrypt_cost_of_17_is_accepted()
    {
        var path = _directory.Write("web.yml", "basic_auth_users:\n  prometheus: '$2b$17$gAXlbIZHylBP4gEa0MHu6u8ngeXWuSaFN838ccUOXTGrD97x5Z3CW'\n");

        Assert.Equal(["prometheus"], WebConfig.Load(path).BasicAuthUsers.Keys);
    }

    [Theory]
    [InlineData("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  min_version: TLS14\n", 4, 16, "tls_server_config.min_version: unknown TLS version 'TLS14' (expected one of: TLS10, TLS11, TLS12, TLS13)")]
    [InlineData("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  min_version: TLS13\n  max_version: TLS12\n", 4, 16, "tls_server_config: min_version is above max_version")]
    [InlineData("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  client_auth_type: Sometimes\n", 4, 21, "tls_server_config.client_auth_type: unknown value 'Sometimes'")]
    [InlineData("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  client_ca_file: tls.crt\n", 4, 19, "tls_server_config.client_ca_file: set without a client_auth_type that asks for client certificates")]
    [InlineData("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  cipher_suites: [TLS_RSA_WITH_RC4_128_MD5X]\n", 4, 19, "tls_server_config.cipher_suites: unknown cipher suite 'TLS_RSA_WITH_RC4_128_MD5X'")]
    [InlineData("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  curve_preferences: [P256]\n", 4, 23, "tls_server_config.curve_preferences: unknown curve 'P256'")]
    [InlineData("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n", 3, 29, "http_server_config.headers.X-Content-Type-Options: must be nosniff")]
    [InlineData("http_server_config:\n  headers:\n    Set-Cookie: a=b\n", 3, 5, "http_server_config.headers: unknown key 'Set-Cookie'")]
    public void Each_web_config_rule_names_its_position(string text, int line, int column, string message)
    {
        using var certificate = TestPki.SelfSignedLoopback();
        _directory.Write("tls.crt", certificate.ExportCertificatePem());
        _directory.Write("tls.key", certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        var path = _directory.Write("web.yml", text);

        var error = Assert.Single(Assert.Throws<ConfigException>(() => WebConfig.Load(path)).Errors);

        Assert.StartsWith($"{path}:{line}:{column}: {message}", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_certificate_files_and_unknown_keys_are_reported_together()
    {
        var path = _directory.Write("web.yml", "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n  client_ca: x\n");

        var errors = Assert.Throws<ConfigException>(() => WebConfig.Load(path)).Errors.Select(e => e.Message).ToList();

        Assert.Contains("tls_server_config: unknown key 'client_ca' (expected one of: cert_file, key_file, client_auth_type, client_ca_file, client_allowed_sans, cipher_suites, curve_preferences, min_version, max_version, prefer_server_cipher_suites)", errors);
        Assert.Contains("tls_server_config.cert_file: file 'missing.crt' does not exist", errors);
        Assert.Contains("tls_server_config.key_file: file 'missing.key' does not exist", errors);
    }

    [Fact]
    public void A_certificate_that_does_not_load_is_a_config_error_not_a_crash()
    {
        _directory.Write("tls.crt", "not a certificate\n");
        _directory.Write("tls.key", "not a key\n");
        var path = _directory.Write("web.yml", "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n");

        var error = Assert.Single(Assert.Throws<ConfigException>(() => WebConfig.Load(path)).Errors);

        Assert.StartsWith($"{path}:2:14: tls_server_config: cannot load the certificate and key:", error.ToString(), StringComparison.Ordinal);
    }

    public void Dispose() => _directory.Dispose();

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
}

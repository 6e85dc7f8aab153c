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
        using var certificate = TestCertificates.SelfSignedLoopback();
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

    [Fact]
    public void Missing_certificate_files_and_unknown_keys_are_reported_together()
    {
        var path = _directory.Write("web.yml", "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n  client_ca: x\n");

        var errors = Assert.Throws<ConfigException>(() => WebConfig.Load(path)).Errors.Select(e => e.Message).ToList();

        Assert.Contains("tls_server_config: unknown key 'client_ca' (expected one of: cert_file, key_file)", errors);
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

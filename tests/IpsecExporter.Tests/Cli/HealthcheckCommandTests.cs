using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using IpsecExporter.Cli;
using IpsecExporter.Configuration;
using IpsecExporter.Tests.Support;
using IpsecExporter.Web;

namespace IpsecExporter.Tests.Cli;

/// <summary><c>healthcheck</c> against a real exporter host on loopback (the image's HEALTHCHECK runs exactly this).</summary>
public sealed class HealthcheckCommandTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task A_running_exporter_is_healthy()
    {
        var (app, baseAddress) = await StartExporterAsync(webConfig: null);
        await using var running = app;

        var (code, stdout, stderr) = await RunAsync("healthcheck", "--listen", $"127.0.0.1:{baseAddress.Port}");

        Assert.Equal((0, ""), (code, stderr));
        Assert.Equal($"http://127.0.0.1:{baseAddress.Port}/healthz: ok", stdout.Trim());
    }

    [Fact]
    public async Task No_exporter_on_the_port_is_unhealthy_with_the_reason()
    {
        var port = FreePorts.Loopback();

        var (code, _, stderr) = await RunAsync("healthcheck", "--listen", $"127.0.0.1:{port}");

        Assert.Equal(1, code);
        Assert.StartsWith($"ipsec-exporter healthcheck: http://127.0.0.1:{port}/healthz: ", stderr, StringComparison.Ordinal);
        Assert.Contains("refused", stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Another_server_on_the_port_that_does_not_answer_ok_is_unhealthy()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var server = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            var stream = client.GetStream();
            using var request = new StreamReader(stream, leaveOpen: true);
            while (!string.IsNullOrEmpty(await request.ReadLineAsync()))
            {
                // The request's head ends with an empty line.
            }

            await stream.WriteAsync("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray());
        });

        var (code, _, stderr) = await RunAsync("healthcheck", "--listen", $"127.0.0.1:{port}");
        await server;

        Assert.Equal(1, code);
        Assert.Equal($"ipsec-exporter healthcheck: http://127.0.0.1:{port}/healthz answered 404 Not Found", stderr.Trim());
    }

    [Fact]
    public async Task With_tls_and_basic_auth_the_exporter_is_reached_through_its_own_certificate_and_challenge()
    {
        using var certificate = TestPki.SelfSignedLoopback();
        _directory.Write("tls.crt", certificate.ExportCertificatePem());
        _directory.Write("tls.key", certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        var hash = BCrypt.Net.BCrypt.HashPassword("correct horse", 4);
        var webConfigPath = _directory.Write("web.yml", $"tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\nbasic_auth_users:\n  prometheus: '{hash}'\n");
        var (app, baseAddress) = await StartExporterAsync(WebConfig.Load(webConfigPath));
        await using var running = app;

        var (code, stdout, stderr) = await RunAsync("healthcheck", "--listen", $"127.0.0.1:{baseAddress.Port}", "--web-config", webConfigPath);

        Assert.Equal((0, ""), (code, stderr));
        Assert.StartsWith($"https://127.0.0.1:{baseAddress.Port}/healthz: alive (basic auth is on", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tls_server_with_another_certificate_is_not_taken_for_the_exporter()
    {
        using var certificate = TestPki.SelfSignedLoopback();
        using var other = TestPki.SelfSignedLoopback();
        _directory.Write("tls.crt", certificate.ExportCertificatePem());
        _directory.Write("tls.key", certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        _directory.Write("other.crt", other.ExportCertificatePem());
        _directory.Write("other.key", other.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        var serverWebConfig = WebConfig.Load(_directory.Write("server.yml", "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n"));
        var clientWebConfigPath = _directory.Write("client.yml", "tls_server_config:\n  cert_file: other.crt\n  key_file: other.key\n");
        var (app, baseAddress) = await StartExporterAsync(serverWebConfig);
        await using var running = app;

        var (code, _, stderr) = await RunAsync("healthcheck", "--listen", $"127.0.0.1:{baseAddress.Port}", "--web-config", clientWebConfigPath);

        Assert.Equal(1, code);
        Assert.StartsWith($"ipsec-exporter healthcheck: https://127.0.0.1:{baseAddress.Port}/healthz: ", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0.0.0.0:9478", false, "http://127.0.0.1:9478/healthz")]
    [InlineData("[::]:9478", true, "https://[::1]:9478/healthz")]
    [InlineData("192.0.2.1:80", false, "http://192.0.2.1/healthz")]
    public void A_wildcard_listen_address_is_asked_on_loopback(string listen, bool tls, string expected)
    {
        var commandLine = CommandLine.Parse(["healthcheck", "--listen", listen]);

        Assert.Equal((Command.Healthcheck, expected), (commandLine.Command, HealthcheckCommand.HealthzUrl(commandLine.Listen, tls).ToString()));
    }

    public void Dispose() => _directory.Dispose();

    private async Task<(Microsoft.AspNetCore.Builder.WebApplication App, Uri BaseAddress)> StartExporterAsync(WebConfig? webConfig) =>
        await InProcessExporter.StartAsync(new ConfigLoader(TestSources.Registry()).Load(_directory.Write("ipsec.yaml", "site: { name: hq }\n")), TestSources.Registry(), webConfig);

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliApp.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}

using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace IpsecExporter.Tests.Support;

/// <summary>
/// Certificates made by openssl as an operator would: a CA, a server certificate for 127.0.0.1 signed by it, and an
/// unrelated self-signed one (what a firewall ships with).
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private readonly TempDirectory _directory = new();

    private TestCertificates()
    {
    }

    public string CaFile => Path("ca.pem");

    public string ServerCertFile => Path("server.pem");

    public string ServerKeyFile => Path("server.key");

    public string SelfSignedCertFile => Path("self.pem");

    public string SelfSignedKeyFile => Path("self.key");

    public static async Task<TestCertificates> CreateAsync()
    {
        var certificates = new TestCertificates();
        string P(string name) => certificates.Path(name);
        await ExternalCommand.RunAsync("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=ipsec-exporter test CA", "-keyout", P("ca.key"), "-out", P("ca.pem"), "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        await ExternalCommand.RunAsync("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-subj", "/CN=127.0.0.1", "-keyout", P("server.key"), "-out", P("server.csr"));
        File.WriteAllText(P("server.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
        await ExternalCommand.RunAsync("openssl", "x509", "-req", "-in", P("server.csr"), "-CA", P("ca.pem"), "-CAkey", P("ca.key"), "-CAcreateserial",
            "-days", "2", "-extfile", P("server.ext"), "-out", P("server.pem"));
        await ExternalCommand.RunAsync("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", P("self.key"), "-out", P("self.pem"));
        return certificates;
    }

    /// <summary>The SHA-256 fingerprint of a certificate file as openssl prints it (<c>AA:BB:...</c>).</summary>
    public static async Task<string> FingerprintAsync(string certFile)
    {
        var output = await ExternalCommand.RunAsync("openssl", "x509", "-in", certFile, "-noout", "-fingerprint", "-sha256");
        return output.Trim().Split('=')[1];
    }

    public void Dispose() => _directory.Dispose();

    private string Path(string name) => System.IO.Path.Combine(_directory.Path, name);
}

/// <summary>A real Kestrel on 127.0.0.1 and a free port, over HTTPS with the given certificate or plain HTTP.</summary>
public sealed class TlsTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TlsTestServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    /// <summary>Headers of the requests received, in order (copied: Kestrel reuses its header objects).</summary>
    public List<Dictionary<string, string>> Requests { get; } = [];

    public static async Task<TlsTestServer> StartAsync(string? certFile, string? keyFile, RequestDelegate handler)
    {
        var port = FreePorts.Loopback();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen =>
        {
            if (certFile is not null)
            {
                listen.UseHttps(X509Certificate2.CreateFromPemFile(certFile, keyFile));
            }
        }));
        var app = builder.Build();
        TlsTestServer? server = null;
        app.Run(context =>
        {
            lock (server!.Requests)
            {
                server.Requests.Add(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase));
            }

            return handler(context);
        });
        server = new TlsTestServer(app, new Uri($"{(certFile is null ? "http" : "https")}://127.0.0.1:{port}/"));
        await app.StartAsync();
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

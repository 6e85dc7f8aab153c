using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

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

    /// <summary>An in-memory self-signed RSA certificate for 127.0.0.1, valid for the next hour (no files, no openssl).</summary>
    public static X509Certificate2 SelfSignedLoopback()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddHours(1));
    }

    public void Dispose() => _directory.Dispose();

    private string Path(string name) => System.IO.Path.Combine(_directory.Path, name);
}

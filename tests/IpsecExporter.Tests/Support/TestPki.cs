using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace IpsecExporter.Tests.Support;

/// <summary>
/// Certificate authorities and certificates made with the real openssl as an operator would, in a directory of the
/// test's own: <c>NAME.crt</c> and <c>NAME.key</c> each.
/// </summary>
public sealed class TestPki(string directory)
{
    public string Directory => directory;

    public string Certificate(string name) => Path.Combine(directory, name + ".crt");

    public string Key(string name) => Path.Combine(directory, name + ".key");

    /// <summary>A self-signed CA.</summary>
    public async Task AuthorityAsync(string name)
    {
        await ExternalCommand.RunAsync("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", Key(name), "-out", Certificate(name), "-days", "2", "-subj", $"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    }

    /// <summary>A certificate for <paramref name="subjectAltName"/> (e.g. <c>IP:127.0.0.1</c>) issued by <paramref name="authority"/>.</summary>
    public async Task IssueAsync(string name, string authority, string subjectAltName, string extendedKeyUsage)
    {
        var request = Path.Combine(directory, name + ".csr");
        var extensions = Path.Combine(directory, name + ".ext");
        await File.WriteAllTextAsync(extensions, $"subjectAltName={subjectAltName}\nextendedKeyUsage={extendedKeyUsage}\nbasicConstraints=CA:FALSE\n");
        await ExternalCommand.RunAsync("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", Key(name), "-out", request, "-subj", $"/CN={name}");
        await ExternalCommand.RunAsync("openssl", "x509", "-req", "-in", request, "-CA", Certificate(authority), "-CAkey", Key(authority),
            "-CAcreateserial", "-out", Certificate(name), "-days", "2", "-extfile", extensions);
    }

    /// <summary>A self-signed leaf for <paramref name="subjectAltName"/>, issued by nobody (what a firewall ships with).</summary>
    public async Task SelfSignedAsync(string name, string subjectAltName)
    {
        await ExternalCommand.RunAsync("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", $"/CN={name}", "-addext", $"subjectAltName={subjectAltName}", "-keyout", Key(name), "-out", Certificate(name));
    }

    public X509Certificate2 Load(string name) => X509Certificate2.CreateFromPemFile(Certificate(name), Key(name));

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
}

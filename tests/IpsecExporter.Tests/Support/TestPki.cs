using System.Security.Cryptography.X509Certificates;

namespace IpsecExporter.Tests.Support;

/// <summary>Certificate authorities and certificates made with the real openssl, in a directory of the test's own.</summary>
public sealed class TestPki(string directory)
{
    public string Directory => directory;

    public string Certificate(string name) => Path.Combine(directory, name + ".crt");

    public string Key(string name) => Path.Combine(directory, name + ".key");

    /// <summary>A self-signed CA, <c>NAME.crt</c> and <c>NAME.key</c>.</summary>
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

    public X509Certificate2 Load(string name) => X509Certificate2.CreateFromPemFile(Certificate(name), Key(name));
}

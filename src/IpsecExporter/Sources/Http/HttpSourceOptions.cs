using System.Security.Cryptography.X509Certificates;
using IpsecExporter.Configuration;

namespace IpsecExporter.Sources.Http;

/// <summary>
/// How an HTTP source checks the server's certificate. By default the system trust store and the host name decide;
/// <see cref="CaFile"/> trusts only the CAs in that PEM file (still checking the name); <see cref="PinnedSha256"/>
/// accepts exactly the certificate with that SHA-256 fingerprint (the usual way to trust a firewall's self-signed
/// certificate); <see cref="InsecureSkipVerify"/> accepts anything and is logged as a warning.
/// </summary>
public sealed record HttpTlsOptions(string? CaFile, string? PinnedSha256, bool InsecureSkipVerify)
{
    public static HttpTlsOptions Verify { get; } = new(null, null, false);
}

/// <summary>Where an HTTP source's API is and how its certificate is checked: the shared part of every vendor's options.</summary>
public sealed record HttpEndpoint(Uri Url, HttpTlsOptions Tls)
{
    /// <summary>The keys <see cref="Parse"/> reads: add them to a vendor type's option keys.</summary>
    public static IReadOnlyCollection<string> Keys { get; } = ["url", "tls"];

    private static readonly string[] TlsKeys = ["ca_file", "fingerprint_sha256", "insecure_skip_verify"];

    /// <summary>Reads <c>url</c> (required) and the optional <c>tls</c> mapping of a source entry.</summary>
    internal static HttpEndpoint? Parse(YamlMap map, ConfigErrors errors)
    {
        var url = map.HttpUrl("url", required: true);
        if (url is not null && (url.Query.Length > 0 || url.Fragment.Length > 0))
        {
            // Vendors append their API paths; a query is no part of a base URL, and a key in one (PAN-OS's ?key=) would
            // be an inline secret that ends up in logs. Never echo it.
            errors.Add(map.ValueNode("url")!, $"{map.Child("url")}: the API base URL takes no query or fragment (an API key belongs in token_file or token_env)");
            url = null;
        }

        var tlsMap = YamlMap.From(map.ValueNode("tls"), map.Child("tls"), errors, TlsKeys);
        var tls = HttpTlsOptions.Verify;
        if (tlsMap is not null)
        {
            tls = new HttpTlsOptions(tlsMap.String("ca_file"), Fingerprint(tlsMap, errors), tlsMap.Bool("insecure_skip_verify") ?? false);
            if (tls.CaFile is not null)
            {
                CheckCaFile(tlsMap, tls.CaFile, errors);
            }

            if (tls.InsecureSkipVerify && (tls.CaFile is not null || tls.PinnedSha256 is not null))
            {
                errors.Add(tlsMap.ValueNode("insecure_skip_verify")!, $"{tlsMap.Child("insecure_skip_verify")}: contradicts ca_file/fingerprint_sha256: verify, or skip verification, not both");
            }

            if (url is { Scheme: "http" })
            {
                errors.Add(tlsMap.Node, $"{map.Child("tls")}: applies only to https:// URLs");
            }
        }

        return url is null ? null : new HttpEndpoint(url, tls);
    }

    private static string? Fingerprint(YamlMap tls, ConfigErrors errors)
    {
        var text = tls.String("fingerprint_sha256");
        if (text is null)
        {
            return null;
        }

        // Accept the forms tools print: openssl's AA:BB:..., plain hex, either case.
        var hex = text.Replace(":", "", StringComparison.Ordinal).ToUpperInvariant();
        if (hex.Length == 64 && hex.All(Uri.IsHexDigit))
        {
            return hex;
        }

        errors.Add(tls.ValueNode("fingerprint_sha256")!, $"{tls.Child("fingerprint_sha256")}: '{text}' is not a SHA-256 fingerprint (64 hex digits, optionally colon-separated, as printed by openssl x509 -fingerprint -sha256)");
        return null;
    }

    private static void CheckCaFile(YamlMap tls, string path, ConfigErrors errors)
    {
        try
        {
            var certificates = new X509Certificate2Collection();
            certificates.ImportFromPemFile(path);
            if (certificates.Count == 0)
            {
                errors.Add(tls.ValueNode("ca_file")!, $"{tls.Child("ca_file")}: {path} holds no PEM certificate");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            errors.Add(tls.ValueNode("ca_file")!, $"{tls.Child("ca_file")}: cannot load {path}: {e.Message}");
        }
    }
}

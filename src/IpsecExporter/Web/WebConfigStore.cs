using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using IpsecExporter.Configuration;

namespace IpsecExporter.Web;

/// <summary>
/// The web configuration in force, with its certificates loaded. <see cref="Reload"/> (on SIGHUP, or when the web config
/// or any file it names changes) swaps in a valid new one, certificates included, for the next TLS handshake and request;
/// an invalid one is logged and the old one stays. TLS cannot be switched on or off without a restart: the listener is
/// either HTTPS or not.
/// </summary>
public sealed partial class WebConfigStore
{
    private readonly string? _path;
    private readonly ILogger<WebConfigStore> _logger;
    private readonly Lock _reloadLock = new();

    public WebConfigStore(WebConfig? initial, ILogger<WebConfigStore> logger)
    {
        _path = initial?.FilePath;
        _logger = logger;
        Current = WebSecurity.Create(initial ?? new WebConfig(null, new Dictionary<string, string>(), new Dictionary<string, string>()));
    }

    /// <summary>Raised after a valid new web configuration replaced the old one.</summary>
    public event Action<WebSecurity>? Changed;

    public WebSecurity Current { get; private set; }

    public string? FilePath => _path;

    /// <summary>Re-reads the web config; returns the errors, empty on success (or when there is no web config). Never throws.</summary>
    public IReadOnlyList<ConfigError> Reload()
    {
        if (_path is null)
        {
            return [];
        }

        lock (_reloadLock)
        {
            IReadOnlyList<ConfigError> errors;
            try
            {
                var next = WebSecurity.Create(WebConfig.Load(_path));
                if (next.Config.TlsEnabled == Current.Config.TlsEnabled)
                {
                    Current = next;
                    LogReloaded(_logger, _path);
                    Changed?.Invoke(next);
                    return [];
                }

                errors = [new ConfigError(_path, 1, 1, "tls_server_config was added or removed: switching TLS on or off needs a restart")];
            }
            catch (ConfigException e)
            {
                errors = e.Errors;
            }
#pragma warning disable CA1031 // Runs on a timer and the SIGHUP handler: any failure keeps the old configuration.
            catch (Exception e)
#pragma warning restore CA1031
            {
                errors = [new ConfigError(_path, 1, 1, $"the web config could not be loaded ({e.GetType().Name}: {e.Message})")];
            }

            LogReloadFailed(_logger, _path, string.Join(Environment.NewLine, errors));
            return errors;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Web config reloaded from {File}")]
    private static partial void LogReloaded(ILogger logger, string file);

    [LoggerMessage(Level = LogLevel.Error, Message = "Web config reload from {File} failed; keeping the previous one:\n{Errors}")]
    private static partial void LogReloadFailed(ILogger logger, string file, string errors);
}

/// <summary>One loaded web configuration: the certificate and client CAs in memory, and the TLS options built from them.</summary>
public sealed class WebSecurity
{
    /// <summary>The TLS 1.3 suites: Go does not let cipher_suites restrict them, so neither does this.</summary>
    private static readonly TlsCipherSuite[] Tls13Suites = [TlsCipherSuite.TLS_AES_128_GCM_SHA256, TlsCipherSuite.TLS_AES_256_GCM_SHA384, TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256];

    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    private readonly SslStreamCertificateContext? _certificate;
    private readonly X509Certificate2Collection _clientAuthorities;

    private WebSecurity(WebConfig config, SslStreamCertificateContext? certificate, X509Certificate2Collection clientAuthorities, string dummyHash)
    {
        Config = config;
        _certificate = certificate;
        _clientAuthorities = clientAuthorities;
        DummyHash = dummyHash;
    }

    public WebConfig Config { get; }

    /// <summary>
    /// Verified for a user name that does not exist, so that an unknown user costs what a wrong password costs (as
    /// exporter-toolkit does): made once per load, at the highest cost among the configured hashes.
    /// </summary>
    public string DummyHash { get; }

    public static WebSecurity Create(WebConfig config)
    {
        SslStreamCertificateContext? certificate = null;
        var authorities = new X509Certificate2Collection();
        if (config.Tls is { } tls)
        {
            var pair = X509Certificate2.CreateFromPemFile(tls.CertFile, tls.KeyFile);
            var chain = new X509Certificate2Collection();
            chain.ImportFromPemFile(tls.CertFile);
            certificate = SslStreamCertificateContext.Create(pair, new X509Certificate2Collection(chain.Skip(1).ToArray()), offline: true);
            if (tls.ClientCaFile is not null)
            {
                authorities.ImportFromPemFile(tls.ClientCaFile);
            }
        }

        var cost = config.BasicAuthUsers.Values.Select(h => int.Parse(h.AsSpan(h.LastIndexOf('$') - 2, 2), System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(4).Max();
        var dummy = BCrypt.Net.BCrypt.HashPassword(Convert.ToHexString(RandomNumberGenerator.GetBytes(16)), cost);
        return new WebSecurity(config, certificate, authorities, dummy);
    }

    /// <summary>The options of one TLS handshake (a new object each time: SslStream keeps a reference).</summary>
    public SslServerAuthenticationOptions ServerOptions()
    {
        var tls = Config.Tls ?? throw new InvalidOperationException("TLS is not configured");
        return new SslServerAuthenticationOptions
        {
            ServerCertificateContext = _certificate,
            EnabledSslProtocols = tls.EnabledProtocols,
            CipherSuitesPolicy = tls.CipherSuites is { } suites && !OperatingSystem.IsWindows() ? new CipherSuitesPolicy(suites.Concat(Tls13Suites).Distinct()) : null,
            ClientCertificateRequired = tls.ClientAuth != ClientAuthType.NoClientCert,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = (_, certificate, _, _) => AcceptClient(tls, certificate as X509Certificate2 ?? (certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()))),
            ApplicationProtocols = Config.Http2 ? [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11] : [SslApplicationProtocol.Http11],
        };
    }

    private bool AcceptClient(TlsServerConfig tls, X509Certificate2? certificate) => tls.ClientAuth switch
    {
        ClientAuthType.NoClientCert or ClientAuthType.RequestClientCert => true,
        ClientAuthType.RequireAnyClientCert => certificate is not null,
        ClientAuthType.VerifyClientCertIfGiven => certificate is null || Verify(tls, certificate),
        _ => certificate is not null && Verify(tls, certificate),
    };

    private bool Verify(TlsServerConfig tls, X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(ClientAuthentication);
        if (_clientAuthorities.Count > 0)
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(_clientAuthorities);
        }

        if (!chain.Build(certificate))
        {
            return false;
        }

        return tls.ClientAllowedSans.Count == 0 || SubjectAlternativeNames(certificate).Any(tls.ClientAllowedSans.Contains);
    }

    private static IEnumerable<string> SubjectAlternativeNames(X509Certificate2 certificate)
    {
        foreach (var extension in certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>())
        {
            foreach (var name in extension.EnumerateDnsNames())
            {
                yield return name;
            }

            foreach (var address in extension.EnumerateIPAddresses())
            {
                yield return address.ToString();
            }
        }
    }
}

/// <summary>
/// Checks basic-auth credentials against bcrypt hashes. Verified credentials are remembered (a scrape pays bcrypt once,
/// not every 15 s), and bcrypt runs on one request at a time: a flood of wrong passwords queues behind itself instead
/// of taking every core from the scrapes whose credentials are already known.
/// </summary>
public sealed class BasicAuthenticator(WebConfigStore store) : IDisposable
{
    /// <summary>Bounds the memory a stream of distinct good credentials could take; cleared when full.</summary>
    private const int MaxRemembered = 1024;

    private readonly ConcurrentDictionary<string, bool> _verified = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _bcrypt = new(1, 1);

    public bool Enabled => store.Current.Config.BasicAuthUsers.Count > 0;

    public async Task<bool> VerifyAsync(string user, string password, CancellationToken cancellationToken)
    {
        var security = store.Current;
        var known = security.Config.BasicAuthUsers.TryGetValue(user, out var hash);
        hash = known ? hash! : security.DummyHash;
        // The hash is part of the key, so a changed hash on reload forgets the old password.
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{user}\0{password}\0{hash}")));
        if (known && _verified.ContainsKey(key))
        {
            return true;
        }

        await _bcrypt.WaitAsync(cancellationToken);
        bool matches;
        try
        {
            matches = BCrypt.Net.BCrypt.Verify(password, hash);
        }
        finally
        {
            _bcrypt.Release();
        }

        if (!known || !matches)
        {
            return false;
        }

        if (_verified.Count >= MaxRemembered)
        {
            _verified.Clear();
        }

        _verified[key] = true;
        return true;
    }

    public void Dispose() => _bcrypt.Dispose();
}

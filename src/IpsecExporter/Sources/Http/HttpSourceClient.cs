using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;

namespace IpsecExporter.Sources.Http;

/// <summary>
/// Makes the <see cref="HttpSourceClient"/> of a vendor source: one named <see cref="IHttpClientFactory"/> client per
/// distinct TLS setting, so handlers are pooled and rotated by the factory while each source keeps its own trust.
/// Warns once per created client when the source's traffic is not protected (plain http://, or verification skipped).
/// </summary>
public sealed partial class HttpSourceClients
{
    private readonly IHttpClientFactory _factory;
    private readonly HttpSourceHandlers _handlers;
    private readonly TimeProvider _time;
    private readonly ILogger<HttpSourceClients> _logger;

    internal HttpSourceClients(IHttpClientFactory factory, HttpSourceHandlers handlers, TimeProvider time, ILogger<HttpSourceClients> logger)
    {
        _factory = factory;
        _handlers = handlers;
        _time = time;
        _logger = logger;
    }

    public HttpSourceClient Create(string source, HttpEndpoint endpoint, TimeSpan timeout)
    {
        var where = HttpSourceClient.Describe(endpoint.Url);
        if (endpoint.Url.Scheme == Uri.UriSchemeHttp)
        {
            LogPlainHttp(_logger, source, where);
        }
        else if (endpoint.Tls.InsecureSkipVerify)
        {
            LogVerificationSkipped(_logger, source, where);
        }

        return new HttpSourceClient(_factory, _handlers.Register(endpoint.Tls), endpoint.Url, timeout, _time);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Source {Source} reads {Url} over plain http://: its credentials and SA data cross the network unencrypted")]
    private static partial void LogPlainHttp(ILogger logger, string source, string url);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Source {Source} does not verify the TLS certificate of {Url} (tls.insecure_skip_verify): anyone in the path can read its credentials; configure tls.ca_file or tls.fingerprint_sha256 instead")]
    private static partial void LogVerificationSkipped(ILogger logger, string source, string url);
}

/// <summary>GETs of one source's API with its timeout and its certificate checks; errors never carry secrets or bodies.</summary>
public sealed class HttpSourceClient
{
    /// <summary>A firewall with thousands of tunnels answers in megabytes; more than this is not an SA list.</summary>
    public const int MaxResponseBytes = 64 * 1024 * 1024;

    private readonly IHttpClientFactory _factory;
    private readonly string _clientName;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;

    internal HttpSourceClient(IHttpClientFactory factory, string clientName, Uri baseUrl, TimeSpan timeout, TimeProvider time)
    {
        _factory = factory;
        _clientName = clientName;
        BaseUrl = baseUrl;
        _timeout = timeout;
        _time = time;
    }

    public Uri BaseUrl { get; }

    /// <summary>
    /// GETs <paramref name="relative"/> (resolved against <see cref="BaseUrl"/>) and returns the body of a 2xx answer.
    /// <paramref name="authorize"/> adds the credentials (read from a <see cref="SecretReference"/> just before).
    /// </summary>
    /// <exception cref="TimeoutException">No complete answer within the source's timeout.</exception>
    /// <exception cref="IOException">Not reachable, TLS refused, or a non-2xx status.</exception>
    public Task<string> GetStringAsync(string relative, Action<HttpRequestMessage>? authorize, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, relative, null, authorize, cancellationToken);

    /// <summary>
    /// GETs <paramref name="relative"/> like <see cref="GetStringAsync"/> and parses the body as JSON. A login page, a
    /// proxy's error page or a cut-off answer is an <see cref="InvalidDataException"/> naming what came instead.
    /// </summary>
    public async Task<JsonDocument> GetJsonAsync(string relative, Action<HttpRequestMessage>? authorize, CancellationToken cancellationToken) =>
        ParseJson(await GetStringAsync(relative, authorize, cancellationToken), relative);

    /// <summary>
    /// POSTs <paramref name="body"/> as JSON to <paramref name="relative"/> and parses the answer like
    /// <see cref="GetJsonAsync"/>: for APIs whose read-only queries take their parameters in a body (OPNsense's
    /// <c>search_*</c> actions read them from the POST data only).
    /// </summary>
    public async Task<JsonDocument> PostJsonAsync(string relative, JsonObject body, Action<HttpRequestMessage>? authorize, CancellationToken cancellationToken)
    {
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        return ParseJson(await SendAsync(HttpMethod.Post, relative, content, authorize, cancellationToken), relative);
    }

    private async Task<string> SendAsync(HttpMethod method, string relative, HttpContent? content, Action<HttpRequestMessage>? authorize, CancellationToken cancellationToken)
    {
        var url = new Uri(BaseUrl, relative);
        using var request = new HttpRequestMessage(method, url) { Content = content };
        authorize?.Invoke(request);
        using var timeout = new CancellationTokenSource(_timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var client = _factory.CreateClient(_clientName);
        client.Timeout = Timeout.InfiniteTimeSpan;
        client.MaxResponseContentBufferSize = MaxResponseBytes;
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, linked.Token);
            if (!response.IsSuccessStatusCode)
            {
                var hint = response.StatusCode is System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden
                    ? " (the credentials were refused or lack the read permission: check the source's secret and the API user's profile)"
                    : "";
                throw new IOException($"{Describe(url)} answered {(int)response.StatusCode} {response.ReasonPhrase}{hint}");
            }

            return await response.Content.ReadAsStringAsync(linked.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{Describe(url)} did not answer within {_timeout.TotalSeconds:0.###}s");
        }
        catch (HttpRequestException e)
        {
            throw new IOException($"{Describe(url)}: {Explain(e)}", e);
        }
    }

    private JsonDocument ParseJson(string body, string relative)
    {
        var where = Describe(new Uri(BaseUrl, relative));
        var start = body.AsSpan().TrimStart();
        if (start.StartsWith("<", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{where} answered HTML or XML, not JSON (a login page, a proxy, or not the vendor's API?)");
        }

        try
        {
            return JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            // The parser's message quotes no content, only the position: safe to show.
            throw new InvalidDataException($"{where} answered invalid JSON ({body.Length} characters; {e.Message})");
        }
    }

    /// <summary>A URL for logs and errors: scheme, host, port and path, never the query (some APIs take keys there).</summary>
    public static string Describe(Uri url) => url.GetLeftPart(UriPartial.Path);

    private static string Explain(HttpRequestException e) => e.InnerException switch
    {
        AuthenticationException => "the server's TLS certificate is not trusted (configure tls.ca_file or tls.fingerprint_sha256, or fix the certificate)",
        { } inner => inner.Message,
        null => e.Message,
    };
}

/// <summary>Names and builds the primary handlers of <see cref="HttpSourceClients"/>: one per distinct TLS setting.</summary>
internal sealed class HttpSourceHandlers : IConfigureNamedOptions<HttpClientFactoryOptions>
{
    private const string Prefix = "ipsec-source|";

    private readonly ConcurrentDictionary<string, HttpTlsOptions> _byName = new(StringComparer.Ordinal);

    /// <summary>The client name for <paramref name="tls"/>; the name holds the setting, so a changed setting gets a new client.</summary>
    public string Register(HttpTlsOptions tls)
    {
        var name = $"{Prefix}{tls.CaFile}|{tls.PinnedSha256}|{tls.InsecureSkipVerify}";
        _byName.TryAdd(name, tls);
        return name;
    }

    public void Configure(string? name, HttpClientFactoryOptions options)
    {
        if (name is not null && _byName.TryGetValue(name, out var tls))
        {
            options.HttpMessageHandlerBuilderActions.Add(builder => builder.PrimaryHandler = CreateHandler(tls));
        }
    }

    public void Configure(HttpClientFactoryOptions options)
    {
    }

    private static SocketsHttpHandler CreateHandler(HttpTlsOptions tls)
    {
        // Loaded with each handler, which the factory rotates: a renewed CA file is picked up without a reload.
        var authorities = new X509Certificate2Collection();
        if (tls.CaFile is not null)
        {
            authorities.ImportFromPemFile(tls.CaFile);
        }

        return new SocketsHttpHandler
        {
            // Credentials go to the configured URL only, never to wherever a redirect points.
            AllowAutoRedirect = false,
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, chain, errors) => Trusted(tls, authorities, certificate as X509Certificate2, chain, errors) },
        };
    }

    private static bool Trusted(HttpTlsOptions tls, X509Certificate2Collection authorities, X509Certificate2? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (tls.InsecureSkipVerify)
        {
            return true;
        }

        if (certificate is null)
        {
            return false;
        }

        if (tls.PinnedSha256 is { } pin)
        {
            return CryptographicOperations.FixedTimeEquals(SHA256.HashData(certificate.RawData), Convert.FromHexString(pin));
        }

        if (tls.CaFile is null)
        {
            return errors == SslPolicyErrors.None;
        }

        if ((errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return chain.Build(certificate);
    }
}

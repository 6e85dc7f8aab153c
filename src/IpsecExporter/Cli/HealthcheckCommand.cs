using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using IpsecExporter.Web;

namespace IpsecExporter.Cli;

/// <summary>
/// <c>ipsec-exporter healthcheck</c>: asks a running exporter on this host for <c>/healthz</c>, so a container's
/// HEALTHCHECK needs no curl in the image. Exit 0 when it answers, 1 otherwise.
/// </summary>
public static class HealthcheckCommand
{
    public const string HttpClientName = "healthcheck";

    /// <summary>Shorter than the image's HEALTHCHECK --timeout, so the command reports why instead of being killed.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(4);

    public static async Task<int> RunAsync(CommandLine commandLine, WebConfig? webConfig, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        var url = HealthzUrl(commandLine.Listen, webConfig is { TlsEnabled: true });
        using var pinned = webConfig is { TlsEnabled: true } ? X509CertificateLoader.LoadCertificateFromFile(webConfig.Tls!.CertFile) : null;
        var services = new ServiceCollection();
        services.AddHttpClient(HttpClientName, client => client.Timeout = Timeout)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                // The exporter's own certificate, from its own web config: the name in it need not be the loopback address.
                SslOptions = new SslClientAuthenticationOptions
                {
                    RemoteCertificateValidationCallback = (_, certificate, _, _) => pinned is not null && certificate is not null && certificate.GetCertHash().AsSpan().SequenceEqual(pinned.GetCertHash()),
                },
            });
        await using var provider = services.BuildServiceProvider();
        var http = provider.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName);
        try
        {
            using var response = await http.GetAsync(url, cancellationToken);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                await stdout.WriteLineAsync($"{url}: {(await response.Content.ReadAsStringAsync(cancellationToken)).Trim()}");
                return CliApp.Ok;
            }

            // Basic auth guards /healthz too; the exporter's own challenge proves its HTTP pipeline is answering.
            if (response.StatusCode == HttpStatusCode.Unauthorized && response.Headers.WwwAuthenticate.Any(h => h.Parameter == $"realm=\"{ExporterHost.BasicAuthRealm}\""))
            {
                await stdout.WriteLineAsync($"{url}: alive (basic auth is on: the exporter answered 401 with its own challenge)");
                return CliApp.Ok;
            }

            await stderr.WriteLineAsync($"ipsec-exporter healthcheck: {url} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            return CliApp.RuntimeError;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            await stderr.WriteLineAsync($"ipsec-exporter healthcheck: {url}: {(e is TaskCanceledException ? $"no answer within {Timeout.TotalSeconds:0}s" : e.Message)}");
            return CliApp.RuntimeError;
        }
    }

    /// <summary>The address the exporter listens on, as reachable from this host: a wildcard becomes the loopback address.</summary>
    public static Uri HealthzUrl(IPEndPoint listen, bool tls)
    {
        var address = listen.Address.Equals(IPAddress.Any) ? IPAddress.Loopback
            : listen.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback
            : listen.Address;
        return new UriBuilder(tls ? "https" : "http", address.ToString(), listen.Port, "/healthz").Uri;
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using IpsecExporter.Configuration;

namespace IpsecExporter.Site.PublicIp;

/// <summary>
/// A "what is my IP" URL that answers with the address as plain text, or as JSON with an <c>ip</c>-like field. HTML
/// (a captive portal, a proxy's login page) is rejected rather than misread.
/// </summary>
public sealed class HttpPublicIpLookup(IHttpClientFactory httpClients) : IPublicIpLookup
{
    public const string HttpClientName = "public-ip-lookup";

    /// <summary>An address is a few dozen bytes; a longer answer is not one.</summary>
    private const int MaxBodyBytes = 4096;

    /// <summary>Field names the common services use (ipify, ifconfig.co, ifconfig.me/all.json, httpbin, ip-api).</summary>
    private static readonly string[] JsonFields = ["ip", "address", "ip_addr", "origin", "query"];

    public PublicIpLookupMethod Method => PublicIpLookupMethod.Http;

    public async Task<IPAddress> LookupAsync(PublicIpLookupConfig lookup, CancellationToken cancellationToken)
    {
        var url = lookup.Url ?? throw new PublicIpLookupException("no url configured for the http lookup");
        var client = httpClients.CreateClient(HttpClientName);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/plain"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json", 0.9));
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new PublicIpLookupException($"{url.GetLeftPart(UriPartial.Path)} answered HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        }

        var body = await ReadLimitedAsync(response.Content, cancellationToken)
            ?? throw new PublicIpLookupException($"{url.GetLeftPart(UriPartial.Path)} answered more than {MaxBodyBytes} bytes, which is not an IP address");
        var mediaType = response.Content.Headers.ContentType?.MediaType ?? "";
        var trimmed = body.Trim();
        if (mediaType.Contains("html", StringComparison.OrdinalIgnoreCase) || trimmed.StartsWith('<'))
        {
            throw new PublicIpLookupException($"{url.GetLeftPart(UriPartial.Path)} answered HTML, not an IP address (a captive portal or proxy page?)");
        }

        var text = mediaType.Contains("json", StringComparison.OrdinalIgnoreCase) || trimmed.StartsWith('{') ? FromJson(trimmed, url) : trimmed;
        return PublicIpText.TryParse(text, out var address)
            ? address
            : throw new PublicIpLookupException($"{url.GetLeftPart(UriPartial.Path)} answered '{Shorten(text)}', which is not an IP address");
    }

    private static string FromJson(string body, Uri url)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var field in JsonFields)
                {
                    if (document.RootElement.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String)
                    {
                        return value.GetString() ?? "";
                    }
                }
            }
        }
        catch (JsonException e)
        {
            throw new PublicIpLookupException($"{url.GetLeftPart(UriPartial.Path)} answered invalid JSON: {e.Message}", e);
        }

        throw new PublicIpLookupException($"{url.GetLeftPart(UriPartial.Path)} answered JSON without a string field {string.Join(", ", JsonFields)}");
    }

    /// <summary>The body as text, or null when it is longer than <see cref="MaxBodyBytes"/>.</summary>
    private static async Task<string?> ReadLimitedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[MaxBodyBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
        {
            length += read;
        }

        return length > MaxBodyBytes ? null : Encoding.UTF8.GetString(buffer, 0, length);
    }

    private static string Shorten(string text) => text.Length <= 64 ? text : string.Concat(text.AsSpan(0, 64), "...");
}

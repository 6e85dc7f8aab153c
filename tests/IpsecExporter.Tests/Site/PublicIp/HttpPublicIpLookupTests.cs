using System.Net;
using IpsecExporter.Configuration;
using IpsecExporter.Site.PublicIp;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace IpsecExporter.Tests.Site.PublicIp;

/// <summary>The HTTP lookup against "what is my IP" services played by WireMock on loopback.</summary>
public sealed class HttpPublicIpLookupTests : IDisposable
{
    private readonly WireMockServer _server = StartLoopback();
    private readonly ServiceProvider _services = new ServiceCollection().AddHttpClient(HttpPublicIpLookup.HttpClientName).Services.BuildServiceProvider();

    public void Dispose()
    {
        _server.Stop();
        _server.Dispose();
        _services.Dispose();
    }

    public static WireMockServer StartLoopback() =>
        WireMockServer.Start(new WireMockServerSettings { Urls = [$"http://127.0.0.1:{FreePorts.Loopback()}"] });

    [Theory]
    [InlineData("text/plain", "203.0.113.7\n", "203.0.113.7")]
    [InlineData("text/plain; charset=utf-8", "  2001:db8::7 \r\n", "2001:db8::7")]
    [InlineData("application/json", "{\"ip\":\"203.0.113.8\"}", "203.0.113.8")]
    [InlineData("application/json", "{\"country\":\"NL\",\"ip_addr\":\"203.0.113.9\"}", "203.0.113.9")]
    [InlineData("text/plain", "{\"origin\": \"198.51.100.3\"}", "198.51.100.3")]
    public async Task Plain_text_and_json_answers_give_the_address(string contentType, string body, string expected)
    {
        Serve(200, contentType, body);

        var address = await Lookup().LookupAsync(Config(), CancellationToken.None);

        Assert.Equal(IPAddress.Parse(expected), address);
    }

    [Theory]
    [InlineData("text/html", "<html><body>Please log in</body></html>", "answered HTML, not an IP address (a captive portal or proxy page?)")]
    [InlineData("text/plain", "<!doctype html><title>portal</title>", "answered HTML, not an IP address (a captive portal or proxy page?)")]
    [InlineData("text/plain", "203.0.113", "answered '203.0.113', which is not an IP address")]
    [InlineData("text/plain", "203.0.113.7 198.51.100.1", "answered '203.0.113.7 198.51.100.1', which is not an IP address")]
    [InlineData("application/json", "{\"address\": 42}", "answered JSON without a string field ip, address, ip_addr, origin, query")]
    [InlineData("application/json", "{\"ip\": ", "answered invalid JSON")]
    public async Task Anything_but_one_address_is_rejected(string contentType, string body, string expected)
    {
        Serve(200, contentType, body);

        var error = await Assert.ThrowsAsync<PublicIpLookupException>(() => Lookup().LookupAsync(Config(), CancellationToken.None));

        Assert.StartsWith($"{_server.Urls[0]}/ip {expected}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_error_status_is_reported()
    {
        Serve(503, "text/plain", "203.0.113.7");

        var error = await Assert.ThrowsAsync<PublicIpLookupException>(() => Lookup().LookupAsync(Config(), CancellationToken.None));

        Assert.Equal($"{_server.Urls[0]}/ip answered HTTP 503 Service Unavailable", error.Message);
    }

    [Fact]
    public async Task A_body_too_long_to_be_an_address_is_rejected_unread()
    {
        Serve(200, "text/plain", new string('1', 100_000));

        var error = await Assert.ThrowsAsync<PublicIpLookupException>(() => Lookup().LookupAsync(Config(), CancellationToken.None));

        Assert.Equal($"{_server.Urls[0]}/ip answered more than 4096 bytes, which is not an IP address", error.Message);
    }

    [Fact]
    public async Task The_query_string_never_appears_in_errors()
    {
        // A lookup URL may carry an API token.
        Serve(200, "text/html", "<html/>");
        var config = Config() with { Url = new Uri($"{_server.Urls[0]}/ip?token=s3cret") };

        var error = await Assert.ThrowsAsync<PublicIpLookupException>(() => Lookup().LookupAsync(config, CancellationToken.None));

        Assert.DoesNotContain("s3cret", error.Message, StringComparison.Ordinal);
    }

    private HttpPublicIpLookup Lookup() => new(_services.GetRequiredService<IHttpClientFactory>());

    private PublicIpLookupConfig Config() =>
        new(PublicIpLookupMethod.Http, null, new Uri($"{_server.Urls[0]}/ip"), TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(2));

    private void Serve(int status, string contentType, string body) =>
        _server.Given(Request.Create().WithPath("/ip").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", contentType).WithBody(body));
}

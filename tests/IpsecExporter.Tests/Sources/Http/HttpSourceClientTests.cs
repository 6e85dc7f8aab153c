using System.Text.Json.Nodes;
using IpsecExporter.Sources;
using IpsecExporter.Sources.Http;
using IpsecExporter.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace IpsecExporter.Tests.Sources.Http;

/// <summary>The shared HTTP client of the vendor sources against a real Kestrel over HTTPS, with openssl-made certificates.</summary>
public sealed class HttpSourceClientTests : IAsyncLifetime
{
    private const string Token = "planted-token-5f0c1d";

    private readonly FakeLogCollector _logs = new();
    private readonly TempDirectory _directory = new();
    private TestPki _pki = null!;
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        // A CA with a server certificate for 127.0.0.1, and an unrelated self-signed one (what a firewall ships with).
        _pki = new TestPki(_directory.Path);
        await _pki.AuthorityAsync("ca");
        await _pki.IssueAsync("server", "ca", "IP:127.0.0.1", "serverAuth");
        await _pki.SelfSignedAsync("self", "IP:127.0.0.1");
        _services = new ServiceCollection()
            .AddLogging(logging => logging.AddProvider(new FakeLoggerProvider(_logs)))
            .AddSaSourceTypes()
            .BuildServiceProvider();
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task A_server_certificate_signed_by_the_configured_CA_is_trusted_and_the_token_reaches_the_server()
    {
        await using var server = await TlsTestServer.StartAsync(_pki.Certificate("server"), _pki.Key("server"), Answer("{\"results\":[]}"));
        var token = new SecretReference("token", _directory.Write("token", Token + "\n"), null);

        var body = await Client(server, new HttpTlsOptions(_pki.Certificate("ca"), null, false))
            .GetStringAsync("api/v2/monitor/vpn/ipsec", request => request.Headers.Authorization = new("Bearer", token.Read()), CancellationToken.None);

        Assert.Equal("{\"results\":[]}", body);
        Assert.Equal($"Bearer {Token}", Assert.Single(server.Requests)["Authorization"]);
        Assert.DoesNotContain(_logs.GetSnapshot(), r => r.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task A_self_signed_certificate_is_refused_by_default_and_with_another_CA()
    {
        await using var server = await TlsTestServer.StartAsync(_pki.Certificate("self"), _pki.Key("self"), Answer("{}"));

        var byDefault = await Assert.ThrowsAsync<IOException>(() => Client(server, HttpTlsOptions.Verify).GetStringAsync("api", null, CancellationToken.None));
        var otherCa = await Assert.ThrowsAsync<IOException>(() => Client(server, new HttpTlsOptions(_pki.Certificate("ca"), null, false)).GetStringAsync("api", null, CancellationToken.None));

        Assert.Equal($"{server.BaseAddress}api: the server's TLS certificate is not trusted (configure tls.ca_file or tls.fingerprint_sha256, or fix the certificate)", byDefault.Message);
        Assert.Equal(byDefault.Message, otherCa.Message);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task A_pinned_fingerprint_trusts_exactly_that_certificate()
    {
        await using var server = await TlsTestServer.StartAsync(_pki.Certificate("self"), _pki.Key("self"), Answer("ok"));
        var pin = (await TestPki.FingerprintAsync(_pki.Certificate("self"))).Replace(":", "", StringComparison.Ordinal);
        var otherPin = (await TestPki.FingerprintAsync(_pki.Certificate("server"))).Replace(":", "", StringComparison.Ordinal);

        var body = await Client(server, new HttpTlsOptions(null, pin, false)).GetStringAsync("api", null, CancellationToken.None);
        await Assert.ThrowsAsync<IOException>(() => Client(server, new HttpTlsOptions(null, otherPin, false)).GetStringAsync("api", null, CancellationToken.None));

        Assert.Equal("ok", body);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Skipping_verification_works_only_when_asked_and_is_a_warning()
    {
        await using var server = await TlsTestServer.StartAsync(_pki.Certificate("self"), _pki.Key("self"), Answer("ok"));

        var body = await Client(server, new HttpTlsOptions(null, null, true)).GetStringAsync("api?key=not-logged", null, CancellationToken.None);

        Assert.Equal("ok", body);
        var warning = Assert.Single(_logs.GetSnapshot(), r => r.Level == LogLevel.Warning);
        Assert.Contains($"Source fw does not verify the TLS certificate of {server.BaseAddress}", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plain_http_works_with_a_warning_and_errors_name_the_status_without_the_query()
    {
        await using var server = await TlsTestServer.StartAsync(null, null, context =>
        {
            context.Response.StatusCode = context.Request.Path == "/denied" ? 401 : 200;
            return context.Response.WriteAsync("answer");
        });
        var client = Client(server, HttpTlsOptions.Verify);

        var body = await client.GetStringAsync("api", null, CancellationToken.None);
        var denied = await Assert.ThrowsAsync<IOException>(() => client.GetStringAsync($"denied?key={Token}", null, CancellationToken.None));

        Assert.Equal("answer", body);
        Assert.Equal($"{server.BaseAddress}denied answered 401 Unauthorized (the credentials were refused or lack the read permission: check the source's secret and the API user's profile)", denied.Message);
        var warning = Assert.Single(_logs.GetSnapshot(), r => r.Level == LogLevel.Warning);
        Assert.Contains("over plain http://", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_logs.GetSnapshot(), r => r.Message.Contains(Token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_json_post_carries_its_body_and_content_type_and_its_answer_is_parsed_like_a_get()
    {
        await using var server = await TlsTestServer.StartAsync(_pki.Certificate("server"), _pki.Key("server"), async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var received = await reader.ReadToEndAsync();
            await context.Response.WriteAsync(context.Request.Path == "/login" ? "<html></html>" : $"{{\"method\":\"{context.Request.Method}\",\"body\":{received}}}");
        });
        var client = Client(server, new HttpTlsOptions(_pki.Certificate("ca"), null, false));

        using var answer = await client.PostJsonAsync("api/search", new JsonObject { ["id"] = "con1" }, null, CancellationToken.None);
        var html = await Assert.ThrowsAsync<InvalidDataException>(() => client.PostJsonAsync("login", new JsonObject(), null, CancellationToken.None));

        Assert.Equal("POST", answer.RootElement.GetProperty("method").GetString());
        Assert.Equal("con1", answer.RootElement.GetProperty("body").GetProperty("id").GetString());
        Assert.Equal("application/json; charset=utf-8", server.Requests[0]["Content-Type"]);
        Assert.Equal($"{server.BaseAddress}login answered HTML or XML, not JSON (a login page, a proxy, or not the vendor's API?)", html.Message);
    }

    [Fact]
    public async Task A_server_that_does_not_answer_within_the_timeout_is_a_timeout()
    {
        using var release = new CancellationTokenSource();
        await using var server = await TlsTestServer.StartAsync(_pki.Certificate("server"), _pki.Key("server"), async context =>
        {
            await Task.Delay(Timeout.Infinite, release.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        });
        var client = _services.GetRequiredService<HttpSourceClients>()
            .Create("fw", new HttpEndpoint(server.BaseAddress, new HttpTlsOptions(_pki.Certificate("ca"), null, false)), TimeSpan.FromMilliseconds(300));

        var error = await Assert.ThrowsAsync<TimeoutException>(() => client.GetStringAsync("api", null, CancellationToken.None));
        await release.CancelAsync();

        Assert.Equal($"{server.BaseAddress}api did not answer within 0.3s", error.Message);
    }

    [Fact]
    public void A_secret_is_read_from_its_file_or_variable_and_errors_name_only_where_it_lives()
    {
        var file = _directory.Write("secret", $"  {Token}\n");
        var variable = $"IPSEC_EXPORTER_TEST_{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable(variable, Token);
        try
        {
            Assert.Equal(Token, new SecretReference("token", file, null).Read());
            Assert.Equal(Token, new SecretReference("token", null, variable).Read());
            var missing = Assert.Throws<IOException>(() => new SecretReference("token", null, variable + "_UNSET").Read());
            var unreadable = Assert.Throws<IOException>(() => new SecretReference("password", _directory.Path + "/absent", null).Read());
            Assert.Equal($"the token from environment variable {variable}_UNSET is empty", missing.Message);
            Assert.Equal($"cannot read the password from file {_directory.Path}/absent: FileNotFoundException", unreadable.Message);
            Assert.Equal($"file {file}", new SecretReference("token", file, null).ToString());
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    // Generous: these tests are about TLS, credentials and parsing, and the first seconds of a full parallel run on
    // two cores once held a local answer past 5 s (the timeout has its own test, with its own value).
    private HttpSourceClient Client(TlsTestServer server, HttpTlsOptions tls) =>
        _services.GetRequiredService<HttpSourceClients>().Create("fw", new HttpEndpoint(server.BaseAddress, tls), TimeSpan.FromSeconds(60));

    private static RequestDelegate Answer(string body) => context => context.Response.WriteAsync(body);
}

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using IpsecExporter.Cli;
using IpsecExporter.Configuration;
using IpsecExporter.Sources.Vici;
using IpsecExporter.Tests.Support;
using IpsecExporter.Web;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace IpsecExporter.Tests.Web;

/// <summary>
/// A distinctive token planted in every place a secret can be written (credentials in every URI and server, inline
/// secret keys, basic-auth passwords) never comes out: not in errors, logs, /metrics, /api/tunnels, the status page or
/// the reports. And the exporter only ever asks charon to read.
/// </summary>
public sealed class SecretLeakTests : IDisposable
{
    private const string Token = "Zq7TOKENx9Wv";

    /// <summary>Each line plants the token once; every one of them must be an error of its own.</summary>
    private static readonly string Planted = $$"""
        site:
          name: hq
          public_ip_lookup:
            method: http
            url: "https://user:{{Token}}@ip.example.net/"
            cross_check: { method: http, url: "http://{{Token}}@ip2.example.net/" }
          ntp_servers: ["ntp:{{Token}}@ntp.example.net"]
        grafana_url: "grafana:{{Token}}@grafana.example.net"
        remote_gateway_resolution: { server: "dns:{{Token}}@127.0.0.1" }
        sources:
          - { name: tcp, type: vici, uri: "tcp://admin:{{Token}}@127.0.0.1:4502" }
          - { name: unix, type: vici, uri: "unix://admin:{{Token}}@/var/run/charon.vici" }
          - { name: inline, type: vici, token: "{{Token}}", password: "{{Token}}", api_secret: "{{Token}}" }
          - { name: fg, type: fortigate, url: "https://admin:{{Token}}@fw.example.net", token_env: FG_TOKEN }
          - { name: fg2, type: fortigate, url: "https://fw.example.net", token: "{{Token}}", token_env: FG_TOKEN }
          - { name: opn, type: opnsense, url: "https://opn.example.net", api_key_env: OPN_KEY, api_secret: "{{Token}}", api_secret_env: OPN_SECRET }
          - { name: pf, type: pfsense, url: "https://pf.example.net", api_key: "{{Token}}", token_env: PF_KEY }
          - { name: mt, type: mikrotik, url: "https://mt.example.net", username: admin, password: "{{Token}}", password_env: MT_PASSWORD }
          - { name: pa, type: panos, url: "https://pa.example.net/?type=op&key={{Token}}", token_env: PA_KEY }
        tunnels:
          - { name: t, source: tcp, remote_gateway: "ike:{{Token}}@gw.example.net", network_pairs: [ { local: 10.1.0.0/24, remote: 10.2.0.0/24 } ] }
        """;

    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task Check_config_reports_every_planted_secret_without_echoing_it()
    {
        var config = _directory.Write("ipsec.yaml", Planted);
        var web = _directory.Write("web.yml", $"basic_auth_users:\n  prometheus: \"{Token}\"\n");

        var (code, configErrors) = await CheckConfigAsync("--config", config);
        var (webCode, webErrors) = await CheckConfigAsync("--config", Fixtures.Path("config", "valid-minimal.yaml"), "--web-config", web);

        Assert.Equal((CliApp.InvalidInput, CliApp.InvalidInput), (code, webCode));
        Assert.Equal(Planted.Split(Token).Length - 1, configErrors.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.DoesNotContain(Token, configErrors, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, webErrors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_running_exporter_never_shows_a_planted_secret_in_logs_or_on_any_endpoint()
    {
        await using var vici = ScriptedViciServer.Cooperative();
        var registry = TestSources.Registry();
        var valid = $"site: {{ name: hq }}\nsources:\n  - {{ name: gw, type: vici, uri: \"{vici.Endpoint}\" }}\ntunnels:\n  - {{ name: t, remote_gateway: 127.0.0.1, network_pairs: [ {{ local: 10.1.0.0/24, remote: 10.2.0.0/24 }} ] }}\n";
        var path = _directory.Write("ipsec.yaml", valid);
        var webConfig = WebConfig.Load(_directory.Write("web.yml", $"basic_auth_users:\n  prometheus: '{BCrypt.Net.BCrypt.HashPassword(Token, 4)}'\n"));
        using var logs = new FakeLoggerProvider();
        var (app, baseAddress) = await InProcessExporter.StartAsync(new ConfigLoader(registry).Load(path), registry, webConfig, services => services.AddSingleton<ILoggerProvider>(logs));
        await using var running = app;
        using var http = new HttpClient { BaseAddress = baseAddress };
        var bodies = new StringBuilder();

        // Wrong passwords and unknown users that carry the token, then the right one.
        await SendAsync(http, "prometheus", $"wrong-{Token}", "metrics", bodies);
        await SendAsync(http, $"user-{Token}", Token, "metrics", bodies);
        http.DefaultRequestHeaders.Authorization = Basic("prometheus", Token);
        await Poll.UntilAsync(async () => (await http.GetAsync("readyz")).IsSuccessStatusCode, TimeSpan.FromSeconds(30), "the first collection");
        await Poll.UntilAsync(async () => (await http.GetStringAsync("api/tunnels")).Contains("\"t\"", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the first diagnosis");
        foreach (var endpoint in new[] { "metrics", "api/tunnels", "", "tunnels/t/report?format=markdown", "tunnels/t/report?format=text", "tunnels/t/report?format=json", "healthz", "readyz", "tunnels/unknown/report" })
        {
            using var response = await http.GetAsync(endpoint);
            bodies.Append(await response.Content.ReadAsStringAsync());
        }

        // The planted file over the running one: the reload fails and logs every error.
        _directory.Write("ipsec.yaml", Planted);
        await Poll.UntilAsync(async () => (await http.GetStringAsync("metrics")).Contains("ipsec_exporter_config_last_reload_successful 0", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "the failed reload");
        await Poll.UntilAsync(() => logs.Collector.GetSnapshot().Any(r => r.Message.Contains("remote_gateway", StringComparison.Ordinal)), TimeSpan.FromSeconds(10), () => "the reload errors in the log");

        Assert.Contains("ipsec_exporter_build_info", bodies.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Token, bodies.ToString(), StringComparison.Ordinal);
        var logged = logs.Collector.GetSnapshot().Select(r => $"{r.Message} {r.Exception}").ToList();
        Assert.NotEmpty(logged);
        Assert.DoesNotContain(logged, line => line.Contains(Token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Only_read_only_vici_commands_and_event_registrations_are_ever_sent()
    {
        await using var vici = ScriptedViciServer.Cooperative();
        var registry = TestSources.Registry();
        var path = _directory.Write("ipsec.yaml", $"site: {{ name: hq }}\nsources:\n  - {{ name: gw, type: vici, uri: \"{vici.Endpoint}\", interval: 100ms }}\ntunnels:\n  - {{ name: t, remote_gateway: 127.0.0.1, network_pairs: [ {{ local: 10.1.0.0/24, remote: 10.2.0.0/24 }} ] }}\n");
        var (app, baseAddress) = await InProcessExporter.StartAsync(new ConfigLoader(registry).Load(path), registry);
        await using (app)
        {
            using var http = new HttpClient { BaseAddress = baseAddress };
            await Poll.UntilAsync(async () => (await http.GetAsync("readyz")).IsSuccessStatusCode, TimeSpan.FromSeconds(30), "the first collection");
            // The event listener's registrations, and several collections.
            await Poll.UntilAsync(() => vici.Requested(ViciPacketType.EventRegister).Contains("child-updown") && ListSasRequests(vici) >= 3, TimeSpan.FromSeconds(30), () => string.Join(", ", vici.Requested(ViciPacketType.CmdRequest)));
        }

        Assert.Contains("list-sas", vici.Requested(ViciPacketType.CmdRequest).ToHashSet(StringComparer.Ordinal));
        Assert.Subset(new HashSet<string>(StringComparer.Ordinal) { "version", "stats", "list-sas", "list-conns" }, vici.Requested(ViciPacketType.CmdRequest).ToHashSet(StringComparer.Ordinal));
        Assert.Subset(new HashSet<string>(StringComparer.Ordinal) { "list-sa", "list-conn", "ike-updown", "child-updown", "ike-rekey", "child-rekey" }, vici.Requested(ViciPacketType.EventRegister).ToHashSet(StringComparer.Ordinal));
    }

    public void Dispose() => _directory.Dispose();

    private static int ListSasRequests(ScriptedViciServer vici)
    {
        lock (vici.Received)
        {
            return vici.Received.Count(p => p.Name == "list-sas");
        }
    }

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    private static async Task SendAsync(HttpClient http, string user, string password, string path, StringBuilder bodies)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = Basic(user, password);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        bodies.Append(await response.Content.ReadAsStringAsync());
    }

    private static async Task<(int Code, string Stderr)> CheckConfigAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliApp.RunAsync(["check-config", .. args], stdout, stderr);
        return (code, stdout + stderr.ToString());
    }
}

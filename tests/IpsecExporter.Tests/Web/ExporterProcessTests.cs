using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Web;

/// <summary>The real binary, as a user runs it: endpoints, promtool-clean metrics, reload by SIGHUP and by file change.</summary>
public sealed class ExporterProcessTests : IDisposable
{
    private const string TunnelA = """
        site: { name: hq, location: "HQ, rack B4" }
        sources:
          - { name: gw, type: vici, uri: "unix:///nonexistent/charon.vici", interval: 1s }
        tunnels:
          - name: alpha
            remote_gateway: 127.0.0.1
            network_pairs: [ { local: 10.1.0.0/24, remote: 10.2.0.0/24 } ]
        """;

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _directory = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    [Fact]
    [Trait("Needs", "root")][Trait("Needs", "daemon")]
    public async Task The_example_config_serves_every_endpoint_and_promtool_accepts_the_metrics()
    {
        var example = Repository.Path("config.example.yaml");
        await using var exporter = ExporterProcess.Start("--config", example);

        await Poll.UntilAsync(async () => (await _http.GetAsync(new Uri(exporter.BaseAddress, "readyz"))).IsSuccessStatusCode, Deadline, () => exporter.Output);

        Assert.Equal("ok\n", await _http.GetStringAsync(new Uri(exporter.BaseAddress, "healthz")));
        var metrics = await _http.GetStringAsync(new Uri(exporter.BaseAddress, "metrics"));
        Assert.Contains("ipsec_exporter_build_info{version=", metrics, StringComparison.Ordinal);
        Assert.Contains("ipsec_source_up{source=\"gw\"} 0", metrics, StringComparison.Ordinal);
        Assert.Contains("ipsec_tunnel_info{tunnel=\"hq-branch-b\"", metrics, StringComparison.Ordinal);
        var (code, output) = await Promtool.RunAsync(metrics, "check", "metrics");
        Assert.Equal((0, ""), (code, output));
        var index = await _http.GetStringAsync(exporter.BaseAddress);
        Assert.Contains("hq-branch-b", index, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Needs", "root")][Trait("Needs", "daemon")]
    public async Task Sighup_reloads_a_valid_file_and_keeps_the_old_config_on_an_invalid_one()
    {
        var path = _directory.Write("ipsec.yaml", TunnelA);
        await using var exporter = ExporterProcess.Start("--config", path);
        await Poll.UntilAsync(async () => (await Metrics(exporter)).Contains("tunnel=\"alpha\"", StringComparison.Ordinal), Deadline, () => exporter.Output);

        // Written in place (no rename) so that only the signal, not the file watcher, can be what reloads it...
        File.WriteAllText(path, TunnelA.Replace("name: alpha", "name: beta", StringComparison.Ordinal));
        exporter.Signal("HUP");
        await Poll.UntilAsync(async () => (await Metrics(exporter)).Contains("ipsec_tunnel_info{tunnel=\"beta\"", StringComparison.Ordinal), Deadline, () => exporter.Output);
        var reloaded = await Metrics(exporter);
        Assert.DoesNotContain("tunnel=\"alpha\"", reloaded, StringComparison.Ordinal);
        Assert.Contains("ipsec_exporter_config_last_reload_successful 1", reloaded, StringComparison.Ordinal);

        File.WriteAllText(path, TunnelA.Replace("name: alpha", "name: gamma\n    colour: green", StringComparison.Ordinal));
        exporter.Signal("HUP");
        await Poll.UntilAsync(async () => (await Metrics(exporter)).Contains("ipsec_exporter_config_last_reload_successful 0", StringComparison.Ordinal), Deadline, () => exporter.Output);
        var kept = await Metrics(exporter);
        Assert.Contains("ipsec_tunnel_info{tunnel=\"beta\"", kept, StringComparison.Ordinal);
        Assert.DoesNotContain("gamma", kept, StringComparison.Ordinal);
        await Poll.UntilAsync(() => exporter.Output.Contains($"{path}:6:5: tunnels[0]: unknown key 'colour'", StringComparison.Ordinal), Deadline, () => exporter.Output);
    }

    [Fact]
    [Trait("Needs", "root")][Trait("Needs", "daemon")]
    public async Task Sighup_rereads_the_web_config()
    {
        var path = _directory.Write("ipsec.yaml", TunnelA);
        var web = _directory.Write("web.yml", $"basic_auth_users:\n  prometheus: '{BCrypt.Net.BCrypt.HashPassword("first", 4)}'\n");
        await using var exporter = ExporterProcess.Start("--config", path, "--web-config", web);
        await Poll.UntilAsync(async () => await StatusAsync(exporter, "first") == System.Net.HttpStatusCode.OK, Deadline, () => exporter.Output);

        File.WriteAllText(web, $"basic_auth_users:\n  prometheus: '{BCrypt.Net.BCrypt.HashPassword("second", 4)}'\n");
        exporter.Signal("HUP");

        await Poll.UntilAsync(async () => await StatusAsync(exporter, "second") == System.Net.HttpStatusCode.OK, Deadline, () => exporter.Output);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, await StatusAsync(exporter, "first"));
    }

    [Fact]
    public async Task A_changed_file_is_reloaded_without_a_signal()
    {
        var path = _directory.Write("ipsec.yaml", TunnelA);
        await using var exporter = ExporterProcess.Start("--config", path);
        await Poll.UntilAsync(async () => (await Metrics(exporter)).Contains("tunnel=\"alpha\"", StringComparison.Ordinal), Deadline, () => exporter.Output);

        _directory.Write("ipsec.yaml", TunnelA.Replace("name: alpha", "name: delta", StringComparison.Ordinal));

        await Poll.UntilAsync(async () => (await Metrics(exporter)).Contains("ipsec_tunnel_info{tunnel=\"delta\"", StringComparison.Ordinal), Deadline, () => exporter.Output);
    }

    public void Dispose()
    {
        _http.Dispose();
        _directory.Dispose();
    }

    private Task<string> Metrics(ExporterProcess exporter) => _http.GetStringAsync(new Uri(exporter.BaseAddress, "metrics"));

    private async Task<System.Net.HttpStatusCode> StatusAsync(ExporterProcess exporter, string password)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(exporter.BaseAddress, "metrics"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"prometheus:{password}")));
        using var response = await _http.SendAsync(request);
        return response.StatusCode;
    }
}

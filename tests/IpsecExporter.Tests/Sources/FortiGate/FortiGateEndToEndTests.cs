using System.Text.Json.Nodes;
using IpsecExporter.Tests.Sources.Http;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Sources.FortiGate;

/// <summary>
/// The exporter binary with a <c>fortigate</c> source on a mock FortiGate whose per-selector byte counters grow both
/// ways on every request (shape: Fixtures/fortigate/healthy/01.json, see <see cref="FortiGateGoldenTests"/>); then
/// nothing comes back any more: the bytes-only traffic check must turn the tunnel desynchronized, as VICI's packet
/// counters do in the testbed end-to-end test.
/// </summary>
// root: the gateway check sends real ICMP echoes to the mock peer (127.0.0.1).
[Trait("Needs", "root")]
public sealed class FortiGateEndToEndTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private readonly TempDirectory _directory = new();
    private readonly VendorApiMock _mock = VendorApiMock.StartHttp();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly JsonNode _answer = JsonNode.Parse(File.ReadAllText(Fixtures.Path("fortigate", "healthy", "01.json")))!;
    private ulong _received = 1_000_000;
    private ulong _sent = 2_000_000;
    private volatile bool _receiving = true;
    private ExporterProcess? _exporter;
    private string _lastMetrics = "";

    [Fact]
    public async Task Counters_that_stop_growing_one_way_turn_the_tunnel_desynchronized()
    {
        _mock.ServeEach("/api/v2/monitor/vpn/ipsec", NextAnswer);
        var token = _directory.Write("fortigate.token", "e2e-fortigate-token\n");
        var config = _directory.Write("ipsec.yaml", $$"""
            site: { name: hq }
            sources:
              - { name: fw, type: fortigate, url: "{{_mock.Url}}", token_file: "{{token}}", vdom: root, interval: 1s, timeout: 2s }
            tunnels:
              - name: branch
                connection: to-branch
                remote_gateway: 127.0.0.1
                network_pairs:
                  - { local: 10.20.1.0/24, remote: 10.30.1.0/24 }
                  - { local: 10.20.2.0/24, remote: 10.30.2.0/25 }
            diagnosis: { window: 10s }
            """);
        _exporter = ExporterProcess.Start("--config", config);

        await Poll.UntilAsync(async () => await StatusAsync("healthy") == 1, Deadline, Describe);
        var metrics = await MetricsAsync();
        Assert.Equal(1, MetricsText.Value(metrics, "ipsec_source_up{source=\"fw\"}"));
        Assert.True(MetricsText.Value(metrics, "ipsec_child_sa_received_bytes_total{tunnel=\"branch\",local_ts=\"10.20.1.0/24\",remote_ts=\"10.30.1.0/24\"}") > 1_000_000);
        Assert.DoesNotContain("ipsec_child_sa_received_packets_total{", metrics, StringComparison.Ordinal);

        _receiving = false;

        await Poll.UntilAsync(async () => await StatusAsync("desynchronized") == 1, Deadline, Describe);
        Assert.Equal(0, await StatusAsync("healthy"));
        Assert.DoesNotContain("e2e-fortigate-token", _exporter.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("e2e-fortigate-token", await MetricsAsync(), StringComparison.Ordinal);
        Assert.All(_mock.Requests, r => Assert.Equal("Bearer e2e-fortigate-token", Assert.Single(r.Headers!["Authorization"])));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    // IAsyncLifetime, not IAsyncDisposable: xunit 2 never calls the latter, and the exporter process outlived the test.
    public async Task DisposeAsync()
    {
        if (_exporter is not null)
        {
            await _exporter.DisposeAsync();
        }

        _mock.Dispose();
        _http.Dispose();
        _directory.Dispose();
    }

    /// <summary>The recorded answer with both up selectors of to-branch counted further (received only while receiving).</summary>
    private string NextAnswer()
    {
        lock (_answer)
        {
            _sent += 4096;
            if (_receiving)
            {
                _received += 8192;
            }

            // The peer is this host, so the gateway check's real ICMP echo is answered and only traffic decides.
            _answer["results"]![0]!["rgwy"] = "127.0.0.1";
            foreach (var proxyId in _answer["results"]![0]!["proxyid"]!.AsArray())
            {
                proxyId!["incoming_bytes"] = _received;
                proxyId["outgoing_bytes"] = _sent;
            }

            return _answer.ToJsonString();
        }
    }

    private async Task<string> MetricsAsync() => _lastMetrics = await _http.GetStringAsync(new Uri(_exporter!.BaseAddress, "metrics"));

    private string Describe() =>
        $"{_exporter!.Output}\nlast verdict series:\n{string.Join('\n', _lastMetrics.Split('\n').Where(l => l.StartsWith("ipsec_tunnel_status", StringComparison.Ordinal) || l.StartsWith("ipsec_tunnel_check", StringComparison.Ordinal) || l.StartsWith("ipsec_source_up", StringComparison.Ordinal)))}";

    private async Task<double?> StatusAsync(string status) =>
        MetricsText.Value(await MetricsAsync(), $"ipsec_tunnel_status{{tunnel=\"branch\",status=\"{status}\"}}");
}

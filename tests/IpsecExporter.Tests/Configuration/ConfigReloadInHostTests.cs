using IpsecExporter.Configuration;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace IpsecExporter.Tests.Configuration;

/// <summary>Reloads as the running exporter applies them, seen on its real /metrics.</summary>
[Trait("Needs", "root")]
public sealed class ConfigReloadInHostTests : IDisposable
{
    private const string TwoTunnels = """
        site: { name: hq }
        sources: [ { name: gw, type: scripted, interval: 100ms } ]
        probes: { interval: 100ms, timeout: 1s }
        tunnels:
          - name: t1
            connection: c1
            remote_gateway: 127.0.0.1
            network_pairs: [ { local: 10.1.0.0/24, remote: 10.2.0.0/24 } ]
          - name: t2
            connection: c2
            remote_gateway: 127.0.0.2
            network_pairs: [ { local: 10.3.0.0/24, remote: 10.4.0.0/24 } ]
            inside: { source: 10.3.0.1, targets: [10.4.0.1] }
        """;

    private readonly TempDirectory _directory = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    [Fact]
    public async Task A_tunnel_removed_on_reload_vanishes_from_metrics_with_nothing_left_behind()
    {
        var scripted = new ScriptedSourceType();
        var registry = TestSources.Registry(scripted);
        var path = _directory.Write("ipsec.yaml", TwoTunnels);
        var (app, baseAddress) = await InProcessExporter.StartAsync(new ConfigLoader(registry).Load(path), registry);
        await using var running = app;
        await Poll.UntilAsync(() => scripted.Created.ContainsKey("gw"), TimeSpan.FromSeconds(10));
        var traffic = 0UL;
        scripted.Created["gw"].Default = _ => Task.FromResult(Sas.Snapshot(
            DateTimeOffset.UtcNow,
            Sas.Ike("c1", "1", "ESTABLISHED", Sas.Child("1", bytesIn: traffic += 840, bytesOut: traffic)),
            Sas.Ike("c2", "2", "ESTABLISHED", Sas.Child("2", "10.3.0.0/24", "10.4.0.0/24", bytesIn: traffic, bytesOut: traffic))));
        var metrics = new Uri(baseAddress, "metrics");
        var text = "";
        await Poll.UntilAsync(
            async () =>
            {
                text = await _http.GetStringAsync(metrics);
                return text.Contains("ipsec_child_sa_received_bytes_total{tunnel=\"t2\"", StringComparison.Ordinal)
                    && text.Contains("ipsec_tunnel_status{tunnel=\"t2\"", StringComparison.Ordinal)
                    && text.Contains("ipsec_inside_ping_requests_total{tunnel=\"t2\"", StringComparison.Ordinal);
            },
            TimeSpan.FromSeconds(15),
            () => text);

        _directory.Write("ipsec.yaml", TwoTunnels[..TwoTunnels.IndexOf("  - name: t2", StringComparison.Ordinal)]);
        Assert.Empty(app.Services.GetRequiredService<ConfigStore>().Reload());
        // Let every service run at least one more round after the reload: nothing may bring t2 back.
        var collections = scripted.Created["gw"].Collections;
        await Poll.UntilAsync(() => scripted.Created["gw"].Collections > collections + 3, TimeSpan.FromSeconds(10));
        text = await _http.GetStringAsync(metrics);

        Assert.DoesNotContain(text.Split('\n'), line => line.Contains("\"t2\"", StringComparison.Ordinal) || line.Contains("127.0.0.2", StringComparison.Ordinal));
        Assert.Contains("ipsec_child_sa_received_bytes_total{tunnel=\"t1\"", text, StringComparison.Ordinal);
        Assert.Equal((0, ""), await Promtool.RunAsync(text, "check", "metrics"));
        await app.StopAsync();
    }

    public void Dispose()
    {
        _http.Dispose();
        _directory.Dispose();
    }
}

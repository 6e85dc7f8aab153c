using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis;
using IpsecExporter.Probes;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace IpsecExporter.Tests.Probes;

/// <summary>The probes as the exporter runs them: registered in the host, started with it, served on /metrics.</summary>
[Trait("Needs", "root")]
public sealed class ProbesInHostTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    [Fact]
    public async Task The_host_probes_continuously_serves_promtool_clean_metrics_and_feeds_the_diagnosis()
    {
        var registry = TestSources.Registry();
        var path = _directory.Write("ipsec.yaml", """
            site: { name: hq }
            sources: [ { name: gw, type: scripted } ]
            probes: { interval: 100ms, timeout: 1s }
            tunnels:
              - name: lo
                remote_gateway: 127.0.0.1
                network_pairs: [ { local: 127.0.0.0/24, remote: 127.0.1.0/24 } ]
                inside: { source: 127.0.0.1, targets: [127.0.1.1] }
            """);
        var (app, baseAddress) = await InProcessExporter.StartAsync(new ConfigLoader(registry).Load(path), registry);
        await using var running = app;
        var metrics = new Uri(baseAddress, "metrics");

        string text = "";
        await Poll.UntilAsync(
            async () =>
            {
                text = await _http.GetStringAsync(metrics);
                return MetricsText.Value(text, "ipsec_gateway_ping_responses_total{tunnel=\"lo\"}") >= 5
                    && MetricsText.Value(text, "ipsec_inside_ping_responses_total{tunnel=\"lo\",target=\"127.0.1.1\",local_ts=\"127.0.0.0/24\",remote_ts=\"127.0.1.0/24\"}") >= 5;
            },
            TimeSpan.FromSeconds(10),
            () => text);

        Assert.Equal((0, ""), await Promtool.RunAsync(text, "check", "metrics"));

        // The diagnosis reads the same counts (ProbeResults through the tunnel sampler) and compares two samples.
        var diagnosis = app.Services.GetRequiredService<DiagnosisService>();
        await diagnosis.CollectOnceAsync(CancellationToken.None);
        var first = diagnosis.Get("lo")!.Latest!.Gateway!.Requests;
        await Poll.UntilAsync(() => app.Services.GetRequiredService<ProbeResults>().Get("lo")!.Responses > (long)first + 2, TimeSpan.FromSeconds(10));
        await diagnosis.CollectOnceAsync(CancellationToken.None);
        var view = diagnosis.Get("lo")!;
        Assert.Equal(CheckState.Pass, view.Diagnosis.Check(Checks.GatewayReachable).State);
        Assert.Equal(CheckState.Pass, view.Diagnosis.Check(Checks.InsideReachable).State);
        Assert.StartsWith("127.0.1.1: ", view.Diagnosis.Check(Checks.InsideReachable).Evidence, StringComparison.Ordinal);
        await app.StopAsync();
    }

    public void Dispose()
    {
        _http.Dispose();
        _directory.Dispose();
    }
}

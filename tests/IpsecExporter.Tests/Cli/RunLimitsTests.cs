using System.Net;
using IpsecExporter.Cli;
using IpsecExporter.Configuration;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace IpsecExporter.Tests.Cli;

/// <summary>What check-config accepts, run honours; and run never stops with exit code 0 after a failure.</summary>
public sealed class RunLimitsTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    /// <summary>Every duration key at the end of its accepted range (the upper end is where .NET timers used to throw).</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Every_duration_at_the_end_of_its_range_runs(bool upper)
    {
        var (longest, interval, timeout, window, ntpInterval, lookupInterval, rekey, offset) = upper
            ? ("30d", "30d", "30d", "6h", "30d", "30d", "30d", "30d")
            : ("1s", "100ms", "10ms", "10s", "15s", "1s", "1s", "1ms");
        var yaml = $$"""
            site:
              name: hq
              public_ip_lookup: { method: http, url: "http://127.0.0.1:1/", interval: {{lookupInterval}}, timeout: {{timeout}} }
              ntp_servers: [127.0.0.1:1]
              ntp_interval: {{ntpInterval}}
              ntp_timeout: {{timeout}}
            sources:
              - { name: gw, type: vici, uri: "unix://{{_directory.Path}}/none.vici", interval: {{interval}}, timeout: {{timeout}} }
            tunnels:
              - { name: t, remote_gateway: localhost, network_pairs: [ { local: 10.1.0.0/24, remote: 10.2.0.0/24 } ], expect: { ike_rekey: {{rekey}}, child_rekey: {{rekey}} } }
            probes: { interval: {{interval}}, timeout: {{timeout}} }
            diagnosis: { window: {{window}} }
            remote_gateway_resolution: { interval: {{longest}}, timeout: {{timeout}} }
            best_practices: { interval: {{longest}}, max_ike_rekey: {{rekey}}, max_child_rekey: {{rekey}}, max_clock_offset: {{offset}} }
            """;
        var registry = TestSources.Registry();
        var config = new ConfigLoader(registry).Load(_directory.Write("ipsec.yaml", yaml));
        var (app, baseAddress) = await InProcessExporter.StartAsync(config, registry);
        await using var running = app;
        using var http = new HttpClient { BaseAddress = baseAddress };

        // The diagnosis runs after the first collection: by then every background loop has started and waited once.
        await Poll.UntilAsync(async () => (await http.GetStringAsync("api/tunnels")).Contains("\"t\"", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the first diagnosis");

        var faulted = app.Services.GetServices<IHostedService>().OfType<BackgroundService>().Where(s => s.ExecuteTask is { IsFaulted: true }).Select(s => s.GetType().Name);
        Assert.Empty(faulted);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("healthz")).StatusCode);
    }

    [Fact]
    public async Task A_listen_address_this_host_does_not_have_exits_1_with_one_line()
    {
        var path = _directory.Write("ipsec.yaml", "site: { name: hq }\n");

        var (code, stderr) = await RunAsync(null, "run", "--config", path, "--listen", "192.0.2.1:9478");

        Assert.Equal(CliApp.RuntimeError, code);
        Assert.Equal("ipsec-exporter: cannot listen on 192.0.2.1:9478: Cannot assign requested address", stderr.Trim());
    }

    [Fact]
    public async Task A_background_service_that_fails_makes_run_exit_1()
    {
        var path = _directory.Write("ipsec.yaml", "site: { name: hq }\n");

        var (code, stderr) = await RunAsync(
            services => services.AddHostedService<FailingService>(),
            "run", "--config", path, "--listen", $"127.0.0.1:{FreePorts.Loopback()}");

        Assert.Equal(CliApp.RuntimeError, code);
        Assert.Equal("ipsec-exporter: stopped because FailingService failed: planted failure", stderr.Trim());
    }

    public void Dispose() => _directory.Dispose();

    private static async Task<(int Code, string Stderr)> RunAsync(Action<IServiceCollection>? configureServices, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var run = CliApp.RunAsync(args, stdout, stderr, configureServices);
        Assert.True(await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(30))) == run, "run did not stop");
        return (await run, stderr.ToString());
    }

    private sealed class FailingService : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await Task.Yield();
            throw new InvalidOperationException("planted failure");
        }
    }
}

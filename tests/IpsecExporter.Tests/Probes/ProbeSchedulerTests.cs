using System.Net;
using IpsecExporter.Configuration;
using IpsecExporter.Metrics;
using IpsecExporter.Probes;
using IpsecExporter.Probes.Icmp;
using IpsecExporter.Site.Gateways;
using IpsecExporter.Tests.Site;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace IpsecExporter.Tests.Probes;

/// <summary>The scheduler with the real ICMP engine: loopback in this namespace, or veth links in namespaces of the test.</summary>
public sealed class ProbeSchedulerTests : IDisposable
{
    private const string Header = """
        site: { name: hq }
        sources: [ { name: gw, type: scripted } ]
        diagnosis: { window: 10s }

        """;

    /// <summary>All on this namespace's loopback: 127.0.0.0/8 answers everywhere.</summary>
    private const string Loopback = Header + """
        probes: { interval: 1s, timeout: 1s }
        tunnels:
          - name: lo
            remote_gateway: 127.0.0.1
            network_pairs: [ { local: 127.0.0.0/24, remote: 127.0.1.0/24 } ]
            inside: { source: 127.0.0.1, targets: [127.0.1.1, 127.0.1.2] }
        """;

    private readonly TempDirectory _directory = new();
    private readonly ExporterMetrics _metrics = new("test");
    private readonly FakeLogger<ProbeScheduler> _logger = new();
    private readonly List<IDisposable> _disposables = [];
    private ConfigStore? _store;
    private ProbeResults? _results;
    private RemoteGatewayResolver? _resolver;
    private ProbeScheduler? _scheduler;

    [Fact]
    [Trait("Needs", "root")]
    public async Task Loopback_round_trips_resolve_microseconds_in_the_histograms_and_the_results()
    {
        var scheduler = Create(Loopback);

        for (var i = 0; i < 20; i++)
        {
            await scheduler.CollectOnceAsync(CancellationToken.None);
        }

        var text = await RenderAsync();
        foreach (var labels in new[] { "tunnel=\"lo\"", "tunnel=\"lo\",target=\"127.0.1.1\",local_ts=\"127.0.0.0/24\",remote_ts=\"127.0.1.0/24\"", "tunnel=\"lo\",target=\"127.0.1.2\",local_ts=\"127.0.0.0/24\",remote_ts=\"127.0.1.0/24\"" })
        {
            var kind = labels.Contains("target", StringComparison.Ordinal) ? "inside" : "gateway";
            Assert.Equal(20, MetricsText.Value(text, $"ipsec_{kind}_ping_requests_total{{{labels}}}"));
            Assert.Equal(20, MetricsText.Value(text, $"ipsec_{kind}_ping_responses_total{{{labels}}}"));
            Assert.Equal(20, MetricsText.Value(text, $"ipsec_{kind}_ping_rtt_seconds_count{{{labels}}}"));
            var mean = MetricsText.Value(text, $"ipsec_{kind}_ping_rtt_seconds_sum{{{labels}}}") / 20;
            Assert.InRange(mean!.Value, double.Epsilon, 0.001);
            Assert.Equal(0, MetricsText.Value(text, $"ipsec_{kind}_ping_late_responses_total{{{labels}}}"));
        }

        // The smallest bucket is 50 µs: a loopback RTT lands in the first few buckets, not all in +Inf or 0.
        Assert.True(MetricsText.Value(text, "ipsec_gateway_ping_rtt_seconds_bucket{tunnel=\"lo\",le=\"0.0008\"}") > 0);
        var gateway = _results!.Get("lo")!;
        Assert.Equal((ProbeRole.Gateway, "127.0.0.1", IPAddress.Loopback, (IPAddress?)null), (gateway.Role, gateway.Target, gateway.Address, gateway.Source));
        Assert.Equal((20L, 20L, 20, 20, 0.0), (gateway.Requests, gateway.Responses, gateway.Window.Sent, gateway.Window.Received, gateway.Window.Loss));
        Assert.InRange(gateway.Window.RttAverage!.Value, TimeSpan.FromTicks(1), TimeSpan.FromMilliseconds(1));
        Assert.True(gateway.LastRoundTrip > TimeSpan.Zero);
        var inside = _results.Get("lo", IPAddress.Parse("127.0.1.2"))!;
        Assert.Equal((ProbeRole.Inside, IPAddress.Loopback, 20L), (inside.Role, inside.Source, inside.Responses));
        Assert.Equal(["127.0.0.1", "127.0.1.1", "127.0.1.2"], _results.GetTunnel("lo").Select(r => r.Target));
        Assert.Equal((0, ""), await Promtool.RunAsync(text, "check", "metrics"));
    }

    [Fact]
    [Trait("Needs", "root")]
    public async Task A_reload_keeps_the_counters_of_kept_targets_and_drops_the_series_of_removed_ones()
    {
        var scheduler = Create(Header + """
            tunnels:
              - name: a
                remote_gateway: 127.0.0.1
                network_pairs: [ { local: 127.0.0.0/24, remote: 127.0.1.0/24 } ]
                inside: { source: 127.0.0.1, targets: [127.0.1.1, 127.0.1.2] }
              - name: b
                remote_gateway: 127.0.0.2
                network_pairs: [ { local: 127.0.0.0/24, remote: 127.0.1.0/24 } ]
            """);
        for (var i = 0; i < 3; i++)
        {
            await scheduler.CollectOnceAsync(CancellationToken.None);
        }

        _directory.Write("ipsec.yaml", Header + """
            tunnels:
              - name: a
                remote_gateway: 127.0.0.1
                network_pairs: [ { local: 127.0.0.0/24, remote: 127.0.1.0/24 } ]
                inside: { source: 127.0.0.1, targets: [127.0.1.1] }
              - name: c
                remote_gateway: 127.0.0.3
                network_pairs: [ { local: 127.0.0.0/24, remote: 127.0.1.0/24 } ]
            """);
        Assert.Empty(_store!.Reload());

        var reloaded = await RenderAsync();
        Assert.Equal(3, MetricsText.Value(reloaded, "ipsec_gateway_ping_responses_total{tunnel=\"a\"}"));
        Assert.Equal(3, MetricsText.Value(reloaded, "ipsec_inside_ping_responses_total{tunnel=\"a\",target=\"127.0.1.1\",local_ts=\"127.0.0.0/24\",remote_ts=\"127.0.1.0/24\"}"));
        Assert.DoesNotContain(PingSeries(reloaded), line => line.Contains("target=\"127.0.1.2\",local_ts=\"127.0.0.0/24\",remote_ts=\"127.0.1.0/24\"", StringComparison.Ordinal));
        Assert.DoesNotContain(PingSeries(reloaded), line => line.Contains("tunnel=\"b\"", StringComparison.Ordinal));
        Assert.Equal(0, MetricsText.Value(reloaded, "ipsec_gateway_ping_requests_total{tunnel=\"c\"}"));
        Assert.Null(_results!.Get("a", IPAddress.Parse("127.0.1.2")));
        Assert.Null(_results.Get("b"));

        await scheduler.CollectOnceAsync(CancellationToken.None);

        var after = await RenderAsync();
        Assert.Equal(4, MetricsText.Value(after, "ipsec_gateway_ping_responses_total{tunnel=\"a\"}"));
        Assert.Equal(4, MetricsText.Value(after, "ipsec_inside_ping_requests_total{tunnel=\"a\",target=\"127.0.1.1\",local_ts=\"127.0.0.0/24\",remote_ts=\"127.0.1.0/24\"}"));
        Assert.Equal(1, MetricsText.Value(after, "ipsec_gateway_ping_responses_total{tunnel=\"c\"}"));
        Assert.Equal(4, _results.Get("a")!.Responses);
        Assert.DoesNotContain(PingSeries(after), line => line.Contains("tunnel=\"b\"", StringComparison.Ordinal));
    }

    [Fact]
    [Trait("Needs", "root")]
    public async Task Each_failing_target_fails_alone_says_why_and_is_logged_once()
    {
        await using var topology = await ProbeTopology.CreateAsync();
        var scheduler = Create(Header + """
            probes: { interval: 1s, timeout: 300ms }
            tunnels:
              - name: good
                remote_gateway: 10.0.0.2
                network_pairs: [ { local: 10.1.0.0/24, remote: 10.2.0.0/24 } ]
                inside: { source: 10.1.0.1, targets: [10.2.0.1, 10.2.0.2] }
              - name: bad
                remote_gateway: 10.9.9.9
                network_pairs: [ { local: 10.1.0.0/24, remote: 10.2.0.0/24 } ]
                inside: { source: 10.1.0.77, targets: [10.2.0.1] }
              - name: silent
                remote_gateway: gateway.example.net
                network_pairs: [ { local: 10.1.0.0/24, remote: 10.2.0.0/24 } ]
                inside: { source: 10.1.0.1, targets: [10.2.0.99] }
            """,
            new IcmpProbeOptions(NetworkNamespace: topology.Prober.Path));

        for (var i = 0; i < 3; i++)
        {
            await scheduler.CollectOnceAsync(CancellationToken.None);
        }

        var text = await RenderAsync();
        Assert.Equal(3, MetricsText.Value(text, "ipsec_gateway_ping_responses_total{tunnel=\"good\"}"));
        Assert.Equal(3, MetricsText.Value(text, "ipsec_inside_ping_responses_total{tunnel=\"good\",target=\"10.2.0.1\",local_ts=\"10.1.0.0/24\",remote_ts=\"10.2.0.0/24\"}"));
        Assert.Equal(3, MetricsText.Value(text, "ipsec_inside_ping_responses_total{tunnel=\"good\",target=\"10.2.0.2\",local_ts=\"10.1.0.0/24\",remote_ts=\"10.2.0.0/24\"}"));

        var unrouted = _results!.Get("bad")!;
        Assert.Equal((3L, 0L, 1.0, "Network is unreachable"), (unrouted.Requests, unrouted.Responses, unrouted.Window.Loss, unrouted.LastError));
        var foreignSource = _results.Get("bad", IPAddress.Parse("10.2.0.1"))!;
        Assert.Equal((3L, 0L), (foreignSource.Requests, foreignSource.Responses));
        Assert.Equal("cannot send from 10.1.0.77: it is not an address of this host (or of the network namespace the exporter runs in)", foreignSource.LastError);
        var unresolved = _results.Get("silent")!;
        Assert.Equal((0L, 0, (double?)null), (unresolved.Requests, unresolved.Window.Sent, unresolved.Window.Loss));
        // The resolver has not run (it would ask the system's DNS server, which tests must not): the name is unknown.
        Assert.Equal("remote gateway gateway.example.net has not resolved to an address yet", unresolved.LastError);
        var nobodyThere = _results.Get("silent", IPAddress.Parse("10.2.0.99"))!;
        Assert.Equal((3L, 0L, 1.0, (string?)null), (nobodyThere.Requests, nobodyThere.Responses, nobodyThere.Window.Loss, nobodyThere.LastError));
        // Not sendable is not silent: attempted requests and send errors grow, so IpsecRemoteGatewayUnresolvable has
        // evidence and the loss rules (requests minus send errors) see nothing lost.
        Assert.Equal(3, MetricsText.Value(text, "ipsec_gateway_ping_requests_total{tunnel=\"silent\"}"));
        Assert.Equal(3, MetricsText.Value(text, "ipsec_gateway_ping_send_errors_total{tunnel=\"silent\"}"));
        Assert.Equal(3, MetricsText.Value(text, "ipsec_gateway_ping_send_errors_total{tunnel=\"bad\"}"));
        Assert.Equal(3, MetricsText.Value(text, "ipsec_inside_ping_send_errors_total{tunnel=\"bad\",target=\"10.2.0.1\",local_ts=\"10.1.0.0/24\",remote_ts=\"10.2.0.0/24\"}"));
        Assert.Equal(0, MetricsText.Value(text, "ipsec_inside_ping_send_errors_total{tunnel=\"silent\",target=\"10.2.0.99\",local_ts=\"10.1.0.0/24\",remote_ts=\"10.2.0.0/24\"}"));
        Assert.Equal(3, MetricsText.Value(text, "ipsec_inside_ping_requests_total{tunnel=\"silent\",target=\"10.2.0.99\",local_ts=\"10.1.0.0/24\",remote_ts=\"10.2.0.0/24\"}"));

        // Three rounds, one warning per failing target: a transition is logged, not every retry.
        var warnings = _logger.Collector.GetSnapshot().Where(r => r.Level == LogLevel.Warning).Select(r => r.Message).Order().ToList();
        Assert.Equal(
            [
                "Probe of 10.2.0.1 for tunnel bad cannot be sent: cannot send from 10.1.0.77: it is not an address of this host (or of the network namespace the exporter runs in); retrying every interval",
                "Probe of remote gateway 10.9.9.9 for tunnel bad cannot be sent: Network is unreachable; retrying every interval",
            ],
            warnings);
    }

    [Fact]
    [Trait("Needs", "root")]
    public async Task A_gateway_name_is_followed_to_its_new_address_with_its_counters_kept()
    {
        await using var dns = await DnsmasqServer.StartAsync([], "127.0.0.1 gw.dyn.test\n");
        var scheduler = Create(Header + $$"""
            remote_gateway_resolution: { server: "{{dns.Server}}" }
            tunnels:
              - name: dyn
                remote_gateway: gw.dyn.test
                network_pairs: [ { local: 10.1.0.0/24, remote: 10.2.0.0/24 } ]
            """);
        await _resolver!.CollectOnceAsync(CancellationToken.None);

        await scheduler.CollectOnceAsync(CancellationToken.None);
        Assert.Equal((IPAddress.Loopback, 1L), (_results!.Get("dyn")!.Address, _results.Get("dyn")!.Responses));

        await dns.SetHostsAsync("127.0.0.2 gw.dyn.test\n", "gw.dyn.test", "127.0.0.2");
        await _resolver.CollectOnceAsync(CancellationToken.None);
        await scheduler.CollectOnceAsync(CancellationToken.None);

        var result = _results.Get("dyn")!;
        Assert.Equal(("gw.dyn.test", IPAddress.Parse("127.0.0.2"), 2L, 2L), (result.Target, result.Address, result.Requests, result.Responses));
        Assert.Equal(2, MetricsText.Value(await RenderAsync(), "ipsec_gateway_ping_responses_total{tunnel=\"dyn\"}"));
    }

    [Fact]
    public async Task Running_it_probes_every_target_once_per_interval_spread_evenly_over_the_interval()
    {
        var time = new FakeTimeProvider();
        var scheduler = Create(
            Header + """
            probes: { interval: 1s, timeout: 1s }
            tunnels:
              - { name: t0, remote_gateway: 127.0.0.1, network_pairs: [ { local: 10.1.0.0/24, remote: 10.2.0.0/24 } ] }
              - { name: t1, remote_gateway: 127.0.0.2, network_pairs: [ { local: 10.1.0.0/24, remote: 10.2.0.0/24 } ] }
              - { name: t2, remote_gateway: 127.0.0.3, network_pairs: [ { local: 10.1.0.0/24, remote: 10.2.0.0/24 } ] }
              - { name: t3, remote_gateway: 127.0.0.4, network_pairs: [ { local: 10.1.0.0/24, remote: 10.2.0.0/24 } ] }
            """,
            time: time);
        using var stop = new CancellationTokenSource();
        await scheduler.StartAsync(stop.Token);

        // Step the clock by 10 ms and note when each request appears: the schedule is anchored to the round's start,
        // so a slow step on a loaded machine delays an observation but never shifts the schedule.
        var firstSeen = new Dictionary<string, TimeSpan>();
        var start = time.GetUtcNow();
        for (var step = 0; step <= 110 && firstSeen.Count < 5; step++)
        {
            var now = time.GetUtcNow() - start;
            // Real time for the scheduler's loop to run what the last step made due (not an assertion).
            await Task.Delay(5);
            var text = await RenderAsync();
            foreach (var tunnel in new[] { "t0", "t1", "t2", "t3" })
            {
                var requests = MetricsText.Value(text, $"ipsec_gateway_ping_requests_total{{tunnel=\"{tunnel}\"}}");
                if (requests >= 1)
                {
                    firstSeen.TryAdd(tunnel, now);
                }

                if (requests >= 2)
                {
                    firstSeen.TryAdd(tunnel + " again", now);
                }
            }

            time.Advance(TimeSpan.FromMilliseconds(10));
        }

        await scheduler.StopAsync(CancellationToken.None);
        Assert.Equal(["t0", "t1", "t2", "t3", "t0 again"], firstSeen.OrderBy(s => s.Value).Select(s => s.Key));
        var expected = new[] { 0, 250, 500, 750, 1000 };
        foreach (var (key, at) in firstSeen.OrderBy(s => s.Value).Select(s => (s.Key, s.Value)).Zip(expected))
        {
            // Sends due within the scheduler's 10 ms granularity may go out that much early.
            Assert.InRange(key.Value.TotalMilliseconds, at - 10, at + 60);
        }
    }

    public void Dispose()
    {
        foreach (var disposable in Enumerable.Reverse(_disposables))
        {
            disposable.Dispose();
        }

        _directory.Dispose();
    }

    /// <summary>The samples of the probes' own metrics (other components keep their series of a tunnel themselves).</summary>
    private static IEnumerable<string> PingSeries(string text) =>
        text.Split('\n').Where(line => line.StartsWith("ipsec_gateway_ping_", StringComparison.Ordinal) || line.StartsWith("ipsec_inside_ping_", StringComparison.Ordinal));

    private ProbeScheduler Create(string yaml, IcmpProbeOptions? options = null, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var loader = new ConfigLoader(TestSources.Registry());
        _store = new ConfigStore(loader.Load(_directory.Write("ipsec.yaml", yaml)), loader, NullLogger<ConfigStore>.Instance);
        _results = new ProbeResults(_store, time);
        _resolver = new RemoteGatewayResolver(_store, time, NullLogger<RemoteGatewayResolver>.Instance);
        _disposables.Add(_resolver);
        var services = new ServiceCollection()
            .AddSingleton(time)
            .AddSingleton(options ?? IcmpProbeOptions.Default)
            .AddSingleton(typeof(ILogger<>), typeof(NullLogger<>))
            .BuildServiceProvider();
        _disposables.Add(services);
        var scheduler = new ProbeScheduler(_store, ProbeRegistry.CreateDefault(), services, _resolver, _results, _metrics, time, _logger);
        _disposables.Add(scheduler);
        _scheduler = scheduler;
        return scheduler;
    }

    /// <summary>What /metrics would serve: the registry and the scheduler's families.</summary>
    private Task<string> RenderAsync() => new MetricsExposition(_metrics, [_scheduler!]).RenderAsync();
}

using IpsecExporter.Configuration;
using IpsecExporter.Metrics;
using IpsecExporter.Sources;
using IpsecExporter.Sources.Vici;
using IpsecExporter.Tests.Support;
using IpsecExporter.Tunnels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpsecExporter.Tests.Sources.Vici;

/// <summary>One real testbed shared by the scenarios of <see cref="ViciTestbedTests"/>; every test leaves it healthy.</summary>
public sealed class ViciTestbedFixture : IAsyncLifetime
{
    public Testbed Testbed { get; private set; } = null!;

    public async Task InitializeAsync() => Testbed = await Testbed.UpAsync();

    public async Task DisposeAsync() => await Testbed.DisposeAsync();
}

/// <summary>
/// The exporter (VICI source, source collector, tunnel model) against real charons, one test per failure the article
/// names. The exporter watches HQ; faults are made with the testbed's verbs and undone after each test.
/// </summary>
[Trait("Needs", "root")]
public sealed class ViciTestbedTests(ViciTestbedFixture fixture) : IClassFixture<ViciTestbedFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly Testbed _testbed = fixture.Testbed;
    private readonly List<double[]> _history = [];
    private Rig _rig = null!;

    private string[] Net1 => Pair("net1");

    private string[] Net2 => Pair("net2");

    private string[] Net6 => Pair("net6");

    public async Task InitializeAsync()
    {
        _rig = new Rig(_testbed);
        await CollectAsync();
        await Poll.UntilAsync(() => _rig.Source.EventsRegistered, Deadline, () => "event connection never registered");
    }

    public async Task DisposeAsync()
    {
        await _rig.DisposeAsync();
        await _testbed.RunAsync("restore");
        await _testbed.RunAsync("wait", "--timeout", "30");
    }

    [Fact]
    public async Task Healthy_one_SA_per_pair_and_traffic_grows_both_ways_per_family()
    {
        Assert.Equal(1, Value(_rig.Tracker, MetricFamilies.IkeSaEstablished, "branch"));
        Assert.Equal(1, Value(_rig.Tracker, MetricFamilies.IkeSas, "branch"));
        foreach (var pair in new[] { Net1, Net2, Net6 })
        {
            Assert.Equal(1, Value(_rig.Tracker, MetricFamilies.ChildSas, pair));
        }

        var before = Traffic(Net1);
        var before6 = Traffic(Net6);
        Assert.True(await _testbed.PingAsync(Target("net1"), count: 5));
        Assert.True(await _testbed.PingAsync(Target("net6"), count: 3));
        await CollectAsync();

        Assert.Equal((5 * 84.0, 5 * 84.0, 5.0, 5.0), Subtract(Traffic(Net1), before));
        Assert.Equal((3 * 104.0, 3 * 104.0, 3.0, 3.0), Subtract(Traffic(Net6), before6));
        var observation = _rig.Tracker.Get("branch")!;
        Assert.True(observation.SourceUp);
        Assert.True(observation.ConnectionLoaded);
        Assert.Equal((_testbed.Summary["hq_public"], _testbed.Summary["br_public"]), (observation.Ike.LocalHost?.ToString(), observation.Ike.RemoteHost?.ToString()));
        Assert.Equal(("charon", "5.9.8"), (observation.Epoch?.Name, observation.Epoch?.Version));
        Assert.Equal(TimeSpan.FromHours(8), observation.Ike.RekeyInterval);
        Assert.Equal(TimeSpan.FromSeconds(19200), observation.Pairs[0].RekeyInterval);
        Assert.True(observation.Pairs[0].LastReceived > DateTimeOffset.UtcNow.AddSeconds(-10));
    }

    [Fact]
    public async Task Desynchronized_one_direction_dropped_sent_grows_received_stays_flat()
    {
        await _testbed.RunAsync("drop-direction", "--side", "hq");
        var before = Traffic(Net1);

        Assert.False(await _testbed.PingAsync(Target("net1"), count: 4));
        await CollectAsync();

        var (received, sent, receivedPackets, sentPackets) = Subtract(Traffic(Net1), before);
        Assert.Equal((4 * 84.0, 4.0), (sent, sentPackets));
        Assert.Equal((0.0, 0.0), (received, receivedPackets));
        Assert.Equal(1, Value(_rig.Tracker, MetricFamilies.ChildSas, Net1));
    }

    [Fact]
    public async Task Duplicate_SPIs_two_installed_SAs_for_one_pair()
    {
        await _testbed.RunAsync("duplicate-child");
        await CollectAsync();

        Assert.Equal(2, Value(_rig.Tracker, MetricFamilies.ChildSas, Net1));
        Assert.Equal(1, Value(_rig.Tracker, MetricFamilies.ChildSas, Net2));
        Assert.Equal(2, _rig.Tracker.Get("branch")!.Pairs[0].InstalledChildSas);
    }

    [Fact]
    public async Task Rekey_counts_once_keeps_counters_monotonic_and_shows_PFS()
    {
        Assert.Null(Value(_rig.Tracker, MetricFamilies.ChildSaPfs, Net1)); // net1 came with IKE_AUTH: no DH group of its own yet
        Assert.True(await _testbed.PingAsync(Target("net1"), count: 3));
        await CollectAsync();
        var before = Traffic(Net1);

        Assert.True(await _testbed.PingAsync(Target("net1"), count: 2));
        await _testbed.RunAsync("rekey", "--child", "net1");
        Assert.True(await _testbed.PingAsync(Target("net1"), count: 2));
        await _testbed.RunAsync("rekey", "--ike");
        await Poll.UntilAsync(
            async () =>
            {
                await CollectAsync();
                return Value(_rig.Tracker, MetricFamilies.ChildSaRekeys, Net1) == 1 && Value(_rig.Tracker, MetricFamilies.IkeSaRekeys, "branch") == 1;
            },
            Deadline,
            () => $"rekeys: child {Value(_rig.Tracker, MetricFamilies.ChildSaRekeys, Net1)}, ike {Value(_rig.Tracker, MetricFamilies.IkeSaRekeys, "branch")}");

        var (received, sent, receivedPackets, sentPackets) = Subtract(Traffic(Net1), before);
        Assert.Equal((4 * 84.0, 4.0), (received, receivedPackets));
        // charon stops counting the old outbound SA when a rekey replaces it: what it sent since the last query of that
        // SA (here the 2 echo requests before the rekey) appears nowhere, not even in the child-rekey event.
        Assert.InRange(sentPackets, 2, 4);
        Assert.Equal(sentPackets * 84, sent);
        Assert.Equal(1, Value(_rig.Tracker, MetricFamilies.ChildSaPfs, Net1));
        Assert.Equal("ECP_256", _rig.Tracker.Get("branch")!.Pairs[0].DhGroup);
        Assert.Equal(0, Value(_rig.Tracker, MetricFamilies.ChildSaRekeys, Net2));
        await Poll.UntilAsync(
            async () =>
            {
                await CollectAsync();
                return Value(_rig.Tracker, MetricFamilies.ChildSas, Net1) == 1;
            },
            Deadline,
            () => $"net1 still has {Value(_rig.Tracker, MetricFamilies.ChildSas, Net1)} CHILD SAs after the overlap");
        Assert.Equal(1, Value(_rig.Tracker, MetricFamilies.IkeSas, "branch"));
    }

    [Fact]
    public async Task Phase2_missing_a_terminated_child_exports_zero_while_phase1_stays_up()
    {
        try
        {
            await _testbed.RunAsync("terminate-child", "--child", "net2");
            await CollectAsync();

            Assert.Equal(0, Value(_rig.Tracker, MetricFamilies.ChildSas, Net2));
            Assert.Equal(1, Value(_rig.Tracker, MetricFamilies.ChildSas, Net1));
            Assert.Equal(1, Value(_rig.Tracker, MetricFamilies.IkeSaEstablished, "branch"));
        }
        finally
        {
            await _testbed.RunAsync("initiate", "--child", "net2", "--wait");
        }
    }

    [Fact]
    public async Task Charon_restart_source_goes_down_and_up_and_final_counters_from_the_stop_are_kept()
    {
        // A restart is told from the second-long wobble of charon's start time only when the first run lasted longer.
        var started = _rig.Tracker.Get("branch")!.Epoch!.StartedAt!.Value;
        await Poll.UntilAsync(() => DateTimeOffset.UtcNow - started > (2 * ViciSaMapper.StartTimeWobble), Deadline);
        var before = Traffic(Net1);
        // Traffic after the last poll: only the child-updown events charon sends when it stops carry it.
        Assert.True(await _testbed.PingAsync(Target("net1"), count: 5));

        var restart = _testbed.RunAsync("restart-charon", "--side", "hq", "--wait");
        await Poll.UntilAsync(
            async () =>
            {
                await CollectAsync();
                return Value(_rig.Collector, MetricFamilies.SourceUp, "gw") == 0;
            },
            Deadline,
            () => "the source never went down");
        await restart;
        await Poll.UntilAsync(
            async () =>
            {
                await CollectAsync();
                return Value(_rig.Collector, MetricFamilies.SourceUp, "gw") == 1 && Value(_rig.Tracker, MetricFamilies.ChildSas, Net1) == 1 && Value(_rig.Tracker, MetricFamilies.ChildSas, Net6) == 1;
            },
            Deadline,
            () => $"source_up {Value(_rig.Collector, MetricFamilies.SourceUp, "gw")}, net1 SAs {Value(_rig.Tracker, MetricFamilies.ChildSas, Net1)}");

        Assert.Equal((5 * 84.0, 5 * 84.0, 5.0, 5.0), Subtract(Traffic(Net1), before));
        Assert.Equal(1, _rig.Tracker.Get("branch")!.SourceRestarts);
        await Poll.UntilAsync(() => _rig.Source.EventsRegistered, Deadline, () => "event connection did not come back");
        Assert.True(await _testbed.PingAsync(Target("net1"), count: 2));
        await CollectAsync();
        Assert.Equal((7 * 84.0, 7 * 84.0, 7.0, 7.0), Subtract(Traffic(Net1), before));
    }

    [Fact]
    public async Task Phase1_down_every_pair_drops_to_zero_and_counters_stay()
    {
        Assert.True(await _testbed.PingAsync(Target("net1"), count: 2));
        await CollectAsync();
        var before = Traffic(Net1);
        try
        {
            await _testbed.RunAsync("terminate-ike");
            await CollectAsync();

            Assert.Equal(0, Value(_rig.Tracker, MetricFamilies.IkeSaEstablished, "branch"));
            Assert.Equal(0, Value(_rig.Tracker, MetricFamilies.IkeSas, "branch"));
            foreach (var pair in new[] { Net1, Net2, Net6 })
            {
                Assert.Equal(0, Value(_rig.Tracker, MetricFamilies.ChildSas, pair));
            }

            Assert.Equal(before, Traffic(Net1));
            Assert.True(_rig.Tracker.Get("branch")!.Ike.Downs >= 1);
        }
        finally
        {
            await _testbed.RunAsync("initiate", "--wait");
        }
    }

    private static (double, double, double, double) Subtract((double, double, double, double) after, (double, double, double, double) before) =>
        (after.Item1 - before.Item1, after.Item2 - before.Item2, after.Item3 - before.Item3, after.Item4 - before.Item4);

    private static double? Value(IMetricsContributor owner, MetricFamily family, params string[] labels) => MetricsText.Value(owner, family, labels);

    private string[] Pair(string name)
    {
        var parts = _testbed.Summary[$"pair_{name}"].Split('>');
        return ["branch", parts[0], parts[1]];
    }

    private string Target(string pair) => _testbed.Summary[$"pair_{pair}_targets"].Split(',')[0];

    /// <summary>(received bytes, sent bytes, received packets, sent packets) of a pair.</summary>
    private (double Received, double Sent, double ReceivedPackets, double SentPackets) Traffic(string[] pair) =>
        (Value(_rig.Tracker, MetricFamilies.ChildSaReceivedBytes, pair) ?? 0, Value(_rig.Tracker, MetricFamilies.ChildSaSentBytes, pair) ?? 0,
            Value(_rig.Tracker, MetricFamilies.ChildSaReceivedPackets, pair) ?? 0, Value(_rig.Tracker, MetricFamilies.ChildSaSentPackets, pair) ?? 0);

    /// <summary>Collects once and checks that no counter of any pair went backwards since the previous collection.</summary>
    private async Task CollectAsync()
    {
        await _rig.Collector.CollectOnceAsync(CancellationToken.None);
        var counters = new[] { Net1, Net2, Net6 }.SelectMany(pair => new[]
        {
            Value(_rig.Tracker, MetricFamilies.ChildSaReceivedBytes, pair) ?? 0, Value(_rig.Tracker, MetricFamilies.ChildSaSentBytes, pair) ?? 0,
            Value(_rig.Tracker, MetricFamilies.ChildSaReceivedPackets, pair) ?? 0, Value(_rig.Tracker, MetricFamilies.ChildSaSentPackets, pair) ?? 0,
            Value(_rig.Tracker, MetricFamilies.ChildSaRekeys, pair) ?? 0,
        }).ToArray();
        if (_history.Count > 0)
        {
            var previous = _history[^1];
            Assert.All(Enumerable.Range(0, counters.Length), i => Assert.True(counters[i] >= previous[i], $"counter {i} went backwards: {previous[i]} -> {counters[i]}"));
        }

        _history.Add(counters);
    }

    /// <summary>The exporter's collection path for one testbed: real config, registry, collector and tunnel model.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private readonly TempDirectory _directory = new();
        private readonly RecordingViciFactory _factory = new();

        public Rig(Testbed testbed)
        {
            var n = testbed.Index;
            var yaml = $$"""
                site: { name: hq }
                sources:
                  - { name: gw, type: vici, uri: "{{testbed.HqVici}}", timeout: 5s }
                tunnels:
                  - name: branch
                    connection: branch
                    remote_gateway: {{testbed.Summary["br_public"]}}
                    network_pairs:
                      - { local: 10.{{n}}.1.0/24, remote: 10.{{n}}.2.0/24 }
                      - { local: 10.{{n}}.3.0/24, remote: 10.{{n}}.4.0/24 }
                      - { local: "fd00:{{n}}:1::/64", remote: "fd00:{{n}}:2::/64" }
                """;
            var registry = new SaSourceRegistry([_factory]);
            var loader = new ConfigLoader(registry);
            var store = new ConfigStore(loader.Load(_directory.Write("config.yaml", yaml)), loader, NullLogger<ConfigStore>.Instance);
            Tracker = new TunnelTracker(store, TimeProvider.System);
            var services = new ServiceCollection().AddSingleton(TimeProvider.System).AddLogging().BuildServiceProvider();
            Collector = new SourceCollector(store, registry, services, TimeProvider.System, [Tracker], NullLogger<SourceCollector>.Instance);
        }

        public TunnelTracker Tracker { get; }

        public SourceCollector Collector { get; }

        public ViciSaSource Source => _factory.Created.Single();

        public async ValueTask DisposeAsync()
        {
            foreach (var source in _factory.Created)
            {
                await source.DisposeAsync();
            }

            Tracker.Dispose();
            Collector.Dispose();
            _directory.Dispose();
        }
    }

    /// <summary>The real <see cref="ViciSourceType"/>, keeping what it created so the test can wait for its events and dispose it.</summary>
    private sealed class RecordingViciFactory : SaSourceType<ViciSourceOptions>
    {
        private readonly ViciSourceType _inner = new();

        public List<ViciSaSource> Created { get; } = [];

        public override string Type => _inner.Type;

        public override IReadOnlyCollection<string> OptionKeys => _inner.OptionKeys;

        public override ViciSourceOptions Parse(YamlMap map, ConfigErrors errors) => _inner.Parse(map, errors);

        public override ISaSource Create(SourceConfig config, ViciSourceOptions options, IServiceProvider services)
        {
            var source = (ViciSaSource)_inner.Create(config, options, services);
            Created.Add(source);
            return source;
        }
    }
}

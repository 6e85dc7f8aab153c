using IpsecExporter.Metrics;
using IpsecExporter.Sources;
using IpsecExporter.Sources.Vici;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using static IpsecExporter.Tests.Support.ScriptedViciServer;

namespace IpsecExporter.Tests.Sources.Vici;

/// <summary>
/// Every way a VICI peer can fail, between good polls, through the real source, collector and tunnel model: the
/// counters never go backwards, the source goes down and up again, and each fault is one log line, not a flood.
/// </summary>
public sealed class ViciFaultInjectionTests
{
    private static readonly string[] Net1 = ["t1", "10.1.0.0/24", "10.2.0.0/24"];

    public enum Fault
    {
        None,

        /// <summary>charon dies while it streams <c>list-sa</c> events: one event, then the socket closes.</summary>
        ClosedMidStream,

        /// <summary>The socket closes in the middle of a frame.</summary>
        ClosedMidFrame,

        /// <summary>A frame of random bytes where the response belongs.</summary>
        Garbage,

        /// <summary>No answer at all, until the client gives up.</summary>
        Stalled,
    }

    [Fact]
    public async Task Faults_between_good_polls_keep_counters_monotonic_and_log_one_line_each()
    {
        // A charon restart between the last two faults: new SPIs, counters from zero, another start time.
        (Fault Fault, ulong Bytes, string Spi, string Since)[] script =
        [
            (Fault.None, 1000, "a", "Dec 02 10:00:00 2026"), (Fault.ClosedMidStream, 0, "a", "Dec 02 10:00:00 2026"),
            (Fault.None, 2000, "a", "Dec 02 10:00:00 2026"), (Fault.ClosedMidFrame, 0, "a", "Dec 02 10:00:00 2026"),
            (Fault.None, 2500, "a", "Dec 02 10:00:00 2026"), (Fault.Garbage, 0, "a", "Dec 02 10:00:00 2026"),
            (Fault.None, 3000, "a", "Dec 02 10:00:00 2026"), (Fault.Stalled, 0, "a", "Dec 02 10:00:00 2026"),
            (Fault.None, 200, "b", "Dec 02 11:00:00 2026"), (Fault.None, 700, "b", "Dec 02 11:00:00 2026"),
        ];
        var step = -1;
        await using var server = FaultyCharon(() => script[Interlocked.Increment(ref step)]);
        await using var exporter = new CollectingExporter(server.Endpoint);

        var received = new List<double?>();
        var up = new List<double?>();
        foreach (var _ in script)
        {
            await exporter.CollectOnceAsync();
            received.Add(MetricsText.Value(exporter.Harness.Tracker, MetricFamilies.ChildSaReceivedBytes, Net1));
            up.Add(MetricsText.Value(exporter.Collector, MetricFamilies.SourceUp, "gw"));
        }

        Assert.Equal([1000, 1000, 2000, 2000, 2500, 2500, 3000, 3000, 3200, 3700], received);
        Assert.Equal([1, 0, 1, 0, 1, 0, 1, 0, 1, 1], up);
        var failures = exporter.Warnings();
        Assert.Equal(4, failures.Count);
        Assert.Contains("charon closed the VICI connection", failures[0], StringComparison.Ordinal);
        Assert.Contains("charon closed the VICI connection", failures[1], StringComparison.Ordinal);
        // The stall ends at the 1 s timeout, the reply's or the collection's, whichever fires first.
        Assert.Matches("no reply from charon within 1s|timed out after 1s", failures[3]);
        Assert.DoesNotContain(exporter.Logs.GetSnapshot(), r => r.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task A_socket_that_disappears_and_comes_back_is_read_again_without_counting_anything_twice()
    {
        var bytes = 1000UL;
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "charon.vici");
        var first = FaultyCharon(() => (Fault.None, bytes, "a", "Dec 02 10:00:00 2026"), path);
        await using var exporter = new CollectingExporter(first.Endpoint);
        await exporter.CollectOnceAsync();

        // charon stops and its socket file goes with it.
        await first.DisposeAsync();
        await exporter.CollectOnceAsync();
        await exporter.CollectOnceAsync();
        Assert.Equal(0, MetricsText.Value(exporter.Collector, MetricFamilies.SourceUp, "gw"));

        // The same charon (same run, same SAs) listens again: reconnected after the backoff, the SA's growth counted once.
        bytes = 1500;
        await using var second = FaultyCharon(() => (Fault.None, bytes, "a", "Dec 02 10:00:00 2026"), path);
        await Poll.UntilAsync(
            async () =>
            {
                await exporter.CollectOnceAsync();
                return MetricsText.Value(exporter.Collector, MetricFamilies.SourceUp, "gw") == 1;
            },
            TimeSpan.FromSeconds(20),
            "the source is up again once the socket is back");

        Assert.Equal(1500, MetricsText.Value(exporter.Harness.Tracker, MetricFamilies.ChildSaReceivedBytes, Net1));
        // One line when the open connection broke, one when reconnecting found no socket, none for the retries after.
        var warnings = exporter.Warnings();
        Assert.Equal(2, warnings.Count);
        Assert.Contains("charon closed the VICI connection", warnings[0], StringComparison.Ordinal);
        Assert.Contains("the socket does not exist", warnings[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_event_flood_is_bounded_and_collections_go_on()
    {
        const int Flood = 50_000;
        var step = 0;
        var flooded = false;
        await using var server = FaultyCharon(
            () => (Fault.None, 100UL * (ulong)Interlocked.Increment(ref step), "a", "Dec 02 10:00:00 2026"),
            eventConnection: async stream =>
            {
                // Registered: flood the event connection with deletions of SAs nobody configured.
                for (var i = 0; i < Flood; i++)
                {
                    var ike = new ViciSection().Add("uniqueid", $"{i + 10}").Add("state", "DELETING")
                        .AddSection("child-sas", new ViciSection().AddSection("x", Child($"{i + 10}", "DELETED", 1, 1, "10.9.0.0/24", "10.8.0.0/24")));
                    await WriteAsync(stream, new ViciPacket(ViciPacketType.Event, "child-updown", new ViciSection().Add("up", "no").AddSection("other", ike)));
                }

                Volatile.Write(ref flooded, true);
                await stream.ReadAtLeastAsync(new byte[1], 1, throwOnEndOfStream: false);
            });
        await using var exporter = new CollectingExporter(server.Endpoint);

        // The first collection starts the event connection; the next ones come after the whole flood was sent.
        await exporter.CollectOnceAsync();
        await Poll.UntilAsync(() => Volatile.Read(ref flooded), TimeSpan.FromSeconds(30), () => "the server sent the flood");
        await Poll.UntilAsync(
            async () =>
            {
                await exporter.CollectOnceAsync();
                return exporter.Observed[^1].ChildSaChanges.Count == 0;
            },
            TimeSpan.FromSeconds(30),
            "the flood is drained");

        // The queue held at most its bound (the oldest dropped), every collection succeeded, the tunnel read as before.
        Assert.Equal(ViciSaSource.MaxQueuedChanges, exporter.Observed.Max(s => s.ChildSaChanges.Count));
        Assert.Equal(step, exporter.Observed.Count);
        Assert.Equal(100 * step, MetricsText.Value(exporter.Harness.Tracker, MetricFamilies.ChildSaReceivedBytes, Net1));
        Assert.Equal(1, MetricsText.Value(exporter.Collector, MetricFamilies.SourceUp, "gw"));
        Assert.Empty(exporter.Warnings());
    }

    /// <summary>A charon whose command connection answers each poll as <paramref name="nextPoll"/> says.</summary>
    private static ScriptedViciServer FaultyCharon(Func<(Fault Fault, ulong Bytes, string Spi, string Since)> nextPoll, string? path = null, Func<Stream, Task>? eventConnection = null)
    {
        ScriptedViciServer? server = null;
        server = Charon(
            () =>
            {
                var (fault, bytes, spi, since) = nextPoll();
                return new CharonPoll([Child("1", "INSTALLED", bytes, 10, spi: spi)], since, spi, fault == Fault.None ? null : (stream, listed) => Inject(fault, stream, listed, server!));
            },
            path,
            eventConnection);
        return server;
    }

    private static async Task Inject(Fault fault, Stream stream, ViciPacket listed, ScriptedViciServer server)
    {
        switch (fault)
        {
            case Fault.ClosedMidStream:
                await WriteAsync(stream, listed);
                break;
            case Fault.ClosedMidFrame:
                await WriteRawAsync(stream, [0, 0, 1, 0, 5, 8, (byte)'l', (byte)'i']);
                break;
            case Fault.Garbage:
                var garbage = new byte[68];
                new Random(14).NextBytes(garbage.AsSpan(4));
                garbage[3] = 64;
                await WriteRawAsync(stream, garbage);
                // What a broken peer sends after its garbage does not matter: the client hangs up.
                await server.ReadAsync(stream);
                break;
            case Fault.Stalled:
                while (await server.ReadAsync(stream) is not null)
                {
                }

                break;
        }
    }

    /// <summary>The real collector, VICI source and tunnel model on one tunnel, with the log captured.</summary>
    private sealed class CollectingExporter : IAsyncDisposable, ISnapshotObserver
    {
        private readonly ServiceProvider _services;

        public CollectingExporter(ViciEndpoint endpoint)
        {
            Harness = new TrackerHarness(TrackerHarness.TwoPairConfig.Replace("type: scripted", $"type: vici, uri: \"{endpoint}\", timeout: 1s", StringComparison.Ordinal));
            _services = new ServiceCollection()
                .AddSingleton(TimeProvider.System)
                .AddLogging(logging => logging.AddProvider(new FakeLoggerProvider(Logs)))
                .BuildServiceProvider();
            Collector = new SourceCollector(Harness.Store, TestSources.Registry(), _services, TimeProvider.System, [Harness.Tracker, this], _services.GetRequiredService<ILogger<SourceCollector>>());
        }

        public TrackerHarness Harness { get; }

        public SourceCollector Collector { get; }

        public FakeLogCollector Logs { get; } = new();

        public List<SaSnapshot> Observed { get; } = [];

        public Task CollectOnceAsync() => Collector.CollectOnceAsync(CancellationToken.None);

        public List<string> Warnings() => Logs.GetSnapshot().Where(r => r.Level == LogLevel.Warning && r.Category == typeof(SourceCollector).FullName).Select(r => r.Message).ToList();

        public void OnCollected(IpsecExporter.Configuration.SourceConfig source, SaSnapshot? snapshot)
        {
            if (snapshot is not null)
            {
                Observed.Add(snapshot);
            }
        }

        public void OnRemoved(string sourceName)
        {
        }

        public async ValueTask DisposeAsync()
        {
            await Collector.StopAsync(CancellationToken.None);
            Collector.Dispose();
            await _services.DisposeAsync();
            Harness.Dispose();
        }
    }
}

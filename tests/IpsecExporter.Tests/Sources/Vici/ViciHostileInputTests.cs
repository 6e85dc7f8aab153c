using IpsecExporter.Metrics;
using IpsecExporter.Sources;
using IpsecExporter.Sources.Vici;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using static IpsecExporter.Tests.Support.ScriptedViciServer;

namespace IpsecExporter.Tests.Sources.Vici;

/// <summary>
/// A VICI peer that sends what charon never would: absurd values in one SA, a stream that never ends. The source and
/// the model keep working; one collection is bounded in what it may read.
/// </summary>
public sealed class ViciHostileInputTests
{
    private static readonly string[] Net1 = ["t1", "10.1.0.0/24", "10.2.0.0/24"];
    private static readonly string[] Net2 = ["t1", "10.3.0.0/24", "10.4.0.0/24"];

    [Fact]
    public async Task An_absurd_or_negative_use_in_is_dropped_on_that_SA_alone_and_logged_once_while_the_model_keeps_updating()
    {
        var polls = new Queue<ViciSection[]>();
        // One SA says it last received a packet 10^25 s ago, the other 5 s in the future; then both are sane again.
        polls.Enqueue([Child("1", "INSTALLED", 1000, 10, useIn: "10000000000000000000000000"), Child("2", "INSTALLED", 500, 10, "10.3.0.0/24", "10.4.0.0/24", useIn: "-5")]);
        polls.Enqueue([Child("1", "INSTALLED", 2000, 15, useIn: "9999999999999"), Child("2", "INSTALLED", 800, 15, "10.3.0.0/24", "10.4.0.0/24", useIn: "-4")]);
        polls.Enqueue([Child("1", "INSTALLED", 3000, 20, useIn: "3"), Child("2", "INSTALLED", 900, 20, "10.3.0.0/24", "10.4.0.0/24", useIn: "1")]);
        await using var server = Eventless(polls);
        using var harness = new TrackerHarness(TrackerHarness.TwoPairConfig.Replace("type: scripted", $"type: vici, uri: \"{server.Endpoint}\"", StringComparison.Ordinal));
        var logs = new FakeLogCollector();
        await using var services = new ServiceCollection()
            .AddSingleton<TimeProvider>(harness.Time)
            .AddLogging(logging => logging.AddProvider(new FakeLoggerProvider(logs)))
            .BuildServiceProvider();
        var collector = new SourceCollector(harness.Store, TestSources.Registry(), services, harness.Time, [harness.Tracker], services.GetRequiredService<ILogger<SourceCollector>>());

        var received = new List<double?>();
        foreach (var _ in polls.ToArray())
        {
            harness.Time.Advance(TimeSpan.FromSeconds(5));
            await collector.CollectOnceAsync(CancellationToken.None);
            Assert.Equal(1, MetricsText.Value(collector, MetricFamilies.SourceUp, "gw"));
            received.Add(MetricsText.Value(harness.Tracker, MetricFamilies.ChildSaReceivedBytes, Net1));
        }

        Assert.Equal([1000, 2000, 3000], received);
        Assert.Equal(900, MetricsText.Value(harness.Tracker, MetricFamilies.ChildSaReceivedBytes, Net2));
        // Sane again: the last-received times are the source's, not decades off.
        var now = harness.Time.GetUtcNow().ToUnixTimeSeconds();
        Assert.Equal(now - 3, MetricsText.Value(harness.Tracker, MetricFamilies.ChildSaLastReceived, Net1));
        Assert.Equal(now - 1, MetricsText.Value(harness.Tracker, MetricFamilies.ChildSaLastReceived, Net2));
        var warnings = logs.GetSnapshot().Where(r => r.Level >= LogLevel.Warning).Select(r => r.Message).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.Contains(warnings, m => m.Contains("(1/c1in/c1out): last received of beyond the range of a time is out of range", StringComparison.Ordinal));
        Assert.Contains(warnings, m => m.Contains("(2/c2in/c2out): last received of -5 s is out of range", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_list_sas_stream_that_never_ends_is_cut_off_at_max_sas_and_the_next_collection_reconnects()
    {
        var streaming = 1;
        ScriptedViciServer? server = null;
        server = new ScriptedViciServer(async stream =>
        {
            while (await server!.ReadAsync(stream) is { } request)
            {
                if (request.Name == "list-sas" && Interlocked.Exchange(ref streaming, 0) == 1)
                {
                    // list-sa events forever, never the final response: only the client can end this.
                    for (var i = 0; ; i++)
                    {
                        var ike = new ViciSection().Add("uniqueid", $"{i}").Add("state", "ESTABLISHED")
                            .AddSection("child-sas", new ViciSection().AddSection("net1", Child($"{i}", "INSTALLED", 1, 1)));
                        await WriteAsync(stream, new ViciPacket(ViciPacketType.Event, "list-sa", new ViciSection().AddSection($"c{i}", ike)));
                    }
                }

                await WriteAsync(stream, request.Type is ViciPacketType.EventRegister or ViciPacketType.EventUnregister
                    ? new ViciPacket(ViciPacketType.EventConfirm, null, null)
                    : new ViciPacket(ViciPacketType.CmdResponse, null, new ViciSection()));
            }
        });
        await using var _ = server;
        // A fake clock that never moves: no timeout can end the stream, only the limit.
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        await using var source = new ViciSaSource(server.Endpoint, TimeSpan.FromSeconds(10), time, NullLogger<ViciSaSource>.Instance, new ViciCollectionLimits(MaxSas: 1000));

        var error = await Assert.ThrowsAsync<ViciLimitException>(() => source.CollectAsync(CancellationToken.None));
        Assert.Contains("more than max_sas (1000)", error.Message, StringComparison.Ordinal);

        // The cut-off connection was dropped; the next collection talks to charon on a new one.
        Assert.Empty((await source.CollectAsync(CancellationToken.None)).IkeSas);
    }

    [Fact]
    public async Task Answers_larger_than_max_answer_bytes_abort_the_collection_before_they_are_read()
    {
        // A VICI value holds at most 64 KiB, so each SA carries two padded values.
        var padding = new string('x', 50_000);
        ScriptedViciServer? server = null;
        server = new ScriptedViciServer(async stream =>
        {
            while (await server!.ReadAsync(stream) is { } request)
            {
                if (request.Name == "list-sas")
                {
                    // Few SAs, each padded to 100 kB: the byte limit, not the SA count, must stop this.
                    for (var i = 0; i < 20; i++)
                    {
                        var ike = new ViciSection().Add("uniqueid", $"{i}").Add("state", "ESTABLISHED").Add("local-id", padding).Add("remote-id", padding);
                        await WriteAsync(stream, new ViciPacket(ViciPacketType.Event, "list-sa", new ViciSection().AddSection($"c{i}", ike)));
                    }
                }

                await WriteAsync(stream, request.Type is ViciPacketType.EventRegister or ViciPacketType.EventUnregister
                    ? new ViciPacket(ViciPacketType.EventConfirm, null, null)
                    : new ViciPacket(ViciPacketType.CmdResponse, null, new ViciSection()));
            }
        });
        await using var _ = server;
        await using var limited = new ViciSaSource(server.Endpoint, TimeSpan.FromSeconds(10), TimeProvider.System, NullLogger<ViciSaSource>.Instance, new ViciCollectionLimits(MaxAnswerBytes: 1_000_000));
        await using var generous = new ViciSaSource(server.Endpoint, TimeSpan.FromSeconds(10), TimeProvider.System, NullLogger<ViciSaSource>.Instance);

        var error = await Assert.ThrowsAsync<ViciLimitException>(() => limited.CollectAsync(CancellationToken.None));
        Assert.Contains("exceed max_answer_bytes (1000000 bytes)", error.Message, StringComparison.Ordinal);
        Assert.Equal(20, (await generous.CollectAsync(CancellationToken.None)).IkeSas.Count);
    }
}

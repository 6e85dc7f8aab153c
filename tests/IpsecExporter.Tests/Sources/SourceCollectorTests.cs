using System.Runtime.CompilerServices;
using IpsecExporter.Configuration;
using IpsecExporter.Sources;
using IpsecExporter.Tests.Support;
using IpsecExporter.Tunnels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace IpsecExporter.Tests.Sources;

public sealed class SourceCollectorTests : IDisposable
{
    private const string Config = """
        site: { name: hq }
        sources:
          - { name: a, type: scripted, interval: 5s, timeout: 2s }
          - { name: b, type: scripted, interval: 5s }
        tunnels:
          - name: t1
            source: a
            connection: site
            remote_gateway: 198.51.100.2
            network_pairs:
              - { local: 10.1.0.0/24, remote: 10.2.0.0/24 }
        """;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
    private readonly ScriptedSourceType _factory = new();
    private readonly RecordingObserver _observer = new();
    private readonly TempDirectory _directory = new();
    private readonly ConfigStore _store;
    private readonly TunnelTracker _tracker;
    private readonly SourceCollector _collector;

    public SourceCollectorTests()
    {
        var registry = TestSources.Registry(_factory);
        var loader = new ConfigLoader(registry);
        var path = _directory.Write("config.yaml", Config);
        _store = new ConfigStore(loader.Load(path), loader, NullLogger<ConfigStore>.Instance);
        _tracker = new TunnelTracker(_store, _time);
        _collector = new SourceCollector(_store, registry, new ServiceCollection().BuildServiceProvider(), _time, [_observer, _tracker], NullLogger<SourceCollector>.Instance);
    }

    [Fact]
    public async Task A_successful_collection_sets_up_last_success_and_hands_the_snapshot_on()
    {
        var snapshot = new SaSnapshot(_time.GetUtcNow(), []);
        _factory.Created["a"].Enqueue(snapshot);
        _factory.Created["b"].EnqueueFailure("connection refused");

        await _collector.CollectOnceAsync(CancellationToken.None);

        var text = MetricsText.Render(_collector);
        Assert.Contains("ipsec_source_up{source=\"a\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_source_up{source=\"b\"} 0", text, StringComparison.Ordinal);
        Assert.Contains($"ipsec_source_last_success_timestamp_seconds{{source=\"a\"}} {_time.GetUtcNow().ToUnixTimeSeconds()}", text, StringComparison.Ordinal);
        Assert.DoesNotContain("ipsec_source_last_success_timestamp_seconds{source=\"b\"}", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_source_collect_duration_seconds{source=\"b\"}", text, StringComparison.Ordinal);
        Assert.Same(snapshot, _observer.Seen.Single(s => s.Source == "a").Snapshot);
        Assert.Null(_observer.Seen.Single(s => s.Source == "b").Snapshot);
        Assert.True(_collector.FirstCollectionDone);
        Assert.Equal("connection refused", _collector.States["b"].LastError);
    }

    [Fact]
    public async Task A_failure_keeps_serving_the_last_good_data_and_a_retry_recovers()
    {
        var first = Sas.Snapshot(_time.GetUtcNow(), Sas.Ike("1", Sas.Child("1", bytesIn: 4200)));
        _factory.Created["a"].Enqueue(first);
        _factory.Created["a"].EnqueueFailure("socket closed");
        _factory.Created["a"].Enqueue(new SaSnapshot(_time.GetUtcNow(), []));
        _factory.Created["b"].Default = _ => Task.FromResult(new SaSnapshot(_time.GetUtcNow(), []));

        await _collector.CollectOnceAsync(CancellationToken.None);
        await _collector.CollectOnceAsync(CancellationToken.None);

        Assert.False(_collector.States["a"].Up);
        Assert.Null(_observer.Last("a"));
        // The collector keeps no snapshot: what the first collection brought stays served by the tunnel model.
        var served = MetricsText.Render(_tracker);
        Assert.Contains("ipsec_child_sas{tunnel=\"t1\",local_ts=\"10.1.0.0/24\",remote_ts=\"10.2.0.0/24\"} 1", served, StringComparison.Ordinal);
        Assert.Contains("ipsec_child_sa_received_bytes_total{tunnel=\"t1\",local_ts=\"10.1.0.0/24\",remote_ts=\"10.2.0.0/24\"} 4200", served, StringComparison.Ordinal);
        Assert.False(_tracker.Get("t1")!.SourceUp);
        Assert.Contains("ipsec_source_up{source=\"a\"} 0", MetricsText.Render(_collector), StringComparison.Ordinal);
        Assert.Contains("ipsec_source_up{source=\"b\"} 1", MetricsText.Render(_collector), StringComparison.Ordinal);

        await _collector.CollectOnceAsync(CancellationToken.None);

        Assert.True(_collector.States["a"].Up);
        Assert.Contains("ipsec_source_up{source=\"a\"} 1", MetricsText.Render(_collector), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_snapshot_is_not_kept_once_the_observers_had_it()
    {
        // Without observers that keep it, nothing may: at hub scale a snapshot is tens of MB (docs/PERFORMANCE.md).
        using var collector = new SourceCollector(_store, TestSources.Registry(_factory), new ServiceCollection().BuildServiceProvider(), _time, [], NullLogger<SourceCollector>.Instance);
        var collected = EnqueueSnapshot(_factory.Created["a"]);
        _factory.Created["b"].EnqueueFailure("connection refused");

        await collector.CollectOnceAsync(CancellationToken.None);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.True(collector.States["a"].Up);
        Assert.False(collected.TryGetTarget(out _));
    }

    [Fact]
    public async Task A_hanging_source_times_out_without_holding_up_the_others()
    {
        _factory.Created["a"].EnqueueHang();
        _factory.Created["b"].Enqueue(new SaSnapshot(_time.GetUtcNow(), []));

        var collection = _collector.CollectOnceAsync(CancellationToken.None);
        await Poll.UntilAsync(() => _collector.States.ContainsKey("b"), TimeSpan.FromSeconds(10));
        Assert.False(collection.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(2));
        await collection;

        Assert.Equal("timed out after 2s", _collector.States["a"].LastError);
        Assert.True(_collector.States["b"].Up);
        Assert.Contains("ipsec_source_collect_duration_seconds{source=\"a\"} 2", MetricsText.Render(_collector), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_timeout_is_one_episode_whichever_timer_reports_it()
    {
        var logs = new FakeLogCollector();
        var collector = new SourceCollector(_store, TestSources.Registry(_factory), new ServiceCollection().BuildServiceProvider(), _time, [_observer], new FakeLogger<SourceCollector>(logs));
        var source = _factory.Created["a"];
        _factory.Created["b"].Default = _ => Task.FromResult(new SaSnapshot(_time.GetUtcNow(), []));

        // The source's own request timeout and the collection's alternate, as they do when both are 2 s.
        source.EnqueueFailure(new TimeoutException("http://fw/api did not answer within 2s"));
        await collector.CollectOnceAsync(CancellationToken.None);
        source.EnqueueHang();
        var hanging = collector.CollectOnceAsync(CancellationToken.None);
        await Poll.UntilAsync(() => source.Collections == 2, TimeSpan.FromSeconds(10));
        _time.Advance(TimeSpan.FromSeconds(2));
        await hanging;
        source.EnqueueFailure(new TimeoutException("http://fw/api did not answer within 2s"));
        await collector.CollectOnceAsync(CancellationToken.None);
        source.EnqueueFailure("connection refused");
        await collector.CollectOnceAsync(CancellationToken.None);

        var failures = logs.GetSnapshot().Where(r => r.Level == LogLevel.Warning).Select(r => r.Message).ToList();
        Assert.Equal(2, failures.Count);
        Assert.Contains("did not answer within 2s", failures[0], StringComparison.Ordinal);
        Assert.Contains("connection refused", failures[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reload_that_removes_a_source_disposes_it_and_drops_its_series()
    {
        var removed = _factory.Created["b"];
        _factory.Created["a"].Default = _ => Task.FromResult(new SaSnapshot(_time.GetUtcNow(), []));
        removed.Default = _ => Task.FromResult(new SaSnapshot(_time.GetUtcNow(), []));
        await _collector.CollectOnceAsync(CancellationToken.None);

        _directory.Write("config.yaml", "site: { name: hq }\nsources:\n  - { name: a, type: scripted, interval: 5s, timeout: 2s }\n");
        Assert.Empty(_store.Reload());
        await Poll.UntilAsync(() => removed.Disposed, TimeSpan.FromSeconds(10));

        var text = MetricsText.Render(_collector);
        Assert.Contains("ipsec_source_up{source=\"a\"} 1", text, StringComparison.Ordinal);
        Assert.DoesNotContain("source=\"b\"", text, StringComparison.Ordinal);
        Assert.Equal(["b"], _observer.Removed);
        Assert.Same(_factory.Created["a"], _factory.Created["a"]);
    }

    [Fact]
    public async Task The_background_loop_collects_each_source_on_its_interval()
    {
        _factory.Created["a"].Default = _ => Task.FromResult(new SaSnapshot(_time.GetUtcNow(), []));
        _factory.Created["b"].Default = _ => Task.FromResult(new SaSnapshot(_time.GetUtcNow(), []));
        using var stop = new CancellationTokenSource();

        await _collector.StartAsync(stop.Token);
        // Each source runs its own loop: wait for both, or b's tick may still be running when the collector stops.
        await Poll.UntilAsync(() => _factory.Created["a"].Collections == 1 && _factory.Created["b"].Collections == 1, TimeSpan.FromSeconds(10));
        for (var expected = 2; expected <= 4; expected++)
        {
            _time.Advance(TimeSpan.FromSeconds(5));
            await Poll.UntilAsync(() => _factory.Created["a"].Collections == expected && _factory.Created["b"].Collections == expected, TimeSpan.FromSeconds(10));
        }

        await _collector.StopAsync(CancellationToken.None);
        Assert.Equal((4, 4), (_factory.Created["a"].Collections, _factory.Created["b"].Collections));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private WeakReference<SaSnapshot> EnqueueSnapshot(ScriptedSource source)
    {
        var snapshot = Sas.Snapshot(_time.GetUtcNow(), Sas.Ike("1", Sas.Child("1", bytesIn: 4200)));
        source.Enqueue(snapshot);
        return new WeakReference<SaSnapshot>(snapshot);
    }

    public void Dispose()
    {
        _collector.Dispose();
        _tracker.Dispose();
        _directory.Dispose();
    }
}

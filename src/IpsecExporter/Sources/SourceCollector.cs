using System.Collections.Concurrent;
using IpsecExporter.Configuration;
using IpsecExporter.Metrics;

namespace IpsecExporter.Sources;

/// <summary>
/// The last result of one source, as kept between collections. The snapshot itself is not kept: the observers hold
/// what they serve of it (the tunnel model keeps the last good data through a failed collection), and at hub scale a
/// snapshot is tens of MB that would otherwise live until the next collection (docs/PERFORMANCE.md).
/// </summary>
public sealed record SourceState(bool Up, DateTimeOffset? LastSuccess, string? LastError)
{
    /// <summary>The last failure was a timeout: the collection's own, or one the source reported for a request.</summary>
    public bool TimedOut { get; init; }

    /// <summary>How long the last collection took.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>Whether the source's event stream was connected after the last collection; null for a source without events.</summary>
    public bool? EventsConnected { get; init; }
}

/// <summary>
/// Runs every configured source on its own interval, wraps each collection with the self-metrics
/// (<c>ipsec_source_up</c>, last success, duration), and hands results to the
/// <see cref="ISnapshotObserver"/>s. Scrapes never wait on a source: they read what was collected last.
/// </summary>
public sealed partial class SourceCollector : BackgroundService, IMetricsContributor
{
    private readonly ConfigStore _config;
    private readonly SaSourceRegistry _registry;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;
    private readonly IReadOnlyList<ISnapshotObserver> _observers;
    private readonly ILogger<SourceCollector> _logger;
    private readonly ConcurrentDictionary<string, RunningSource> _running = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SourceState> _states = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _firstCollection = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationToken _stopping;

    public SourceCollector(
        ConfigStore config,
        SaSourceRegistry registry,
        IServiceProvider services,
        TimeProvider time,
        IEnumerable<ISnapshotObserver> observers,
        ILogger<SourceCollector> logger)
    {
        _config = config;
        _registry = registry;
        _services = services;
        _time = time;
        _observers = observers.ToList();
        _logger = logger;
        ApplySources(config.Current.Sources);
        _config.OnChanged(ConfigStage.Sources, nameof(SourceCollector), (_, next) => ApplySources(next.Sources));
    }

    /// <summary>True once every source was collected at least once (successfully or not).</summary>
    public bool FirstCollectionDone => _firstCollection.Task.IsCompleted;

    /// <summary>Completes when <see cref="FirstCollectionDone"/> becomes true.</summary>
    public Task FirstCollection => _firstCollection.Task;

    public IReadOnlyDictionary<string, SourceState> States => _states;

    /// <summary>Collects every configured source once, concurrently. Tests call this instead of waiting for timers.</summary>
    public async Task CollectOnceAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(_running.Values.Select(r => CollectAsync(r, cancellationToken)));
        _firstCollection.TrySetResult();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        await CollectOnceAsync(stoppingToken);
        foreach (var running in _running.Values)
        {
            running.Loop ??= RunLoopAsync(running);
        }

        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, stoppingToken);
        }
        catch (OperationCanceledException)
        {
        }

        foreach (var running in _running.Values)
        {
            await StopAsync(running);
        }
    }

    private void ApplySources(IReadOnlyList<SourceConfig> sources)
    {
        foreach (var (name, running) in _running)
        {
            var next = sources.FirstOrDefault(s => s.Name == name);
            if (next != running.Config)
            {
                // Changed or removed: stop the old instance; a changed one is recreated below.
                _running.TryRemove(name, out _);
                _ = StopAsync(running);
                if (next is null)
                {
                    _states.TryRemove(name, out _);
                    foreach (var observer in _observers)
                    {
                        observer.OnRemoved(name);
                    }
                }
            }
        }

        foreach (var source in sources)
        {
            if (_running.ContainsKey(source.Name))
            {
                continue;
            }

            var factory = _registry.Find(source.Type) ?? throw new InvalidOperationException($"source type '{source.Type}' is not registered");
            var running = new RunningSource(source, factory.Create(source, _services));
            _running[source.Name] = running;
            if (_stopping.CanBeCanceled)
            {
                running.Loop = RunLoopAsync(running);
            }
        }
    }

    private async Task RunLoopAsync(RunningSource running)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stopping, running.Stop.Token);
        var token = linked.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                await Task.Delay(running.Config.Interval, _time, token);
                await CollectAsync(running, token);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    private async Task CollectAsync(RunningSource running, CancellationToken cancellationToken)
    {
        var config = running.Config;
        await running.Gate.WaitAsync(cancellationToken);
        try
        {
            var started = _time.GetTimestamp();
            SaSnapshot? snapshot = null;
            string? error = null;
            var timedOut = false;
            using (var timeout = new CancellationTokenSource(config.Timeout, _time))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token))
            {
                try
                {
                    snapshot = await running.Source.CollectAsync(linked.Token);
                }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    error = $"timed out after {DurationParser.Format(config.Timeout)}";
                    timedOut = true;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    error = e.Message;
                    timedOut = e is TimeoutException || e.InnerException is TimeoutException;
                }
            }

            var duration = _time.GetElapsedTime(started);
            var previous = _states.GetValueOrDefault(config.Name);
            var eventsConnected = running.Source is IEventStreamSource stream ? stream.EventsConnected : (bool?)null;
            if (snapshot is not null)
            {
                snapshot = running.Guard.Sanitize(snapshot, finding => LogImplausibleValue(_logger, config.Name, finding));
                var now = _time.GetUtcNow();
                _states[config.Name] = new SourceState(true, now, null) { Duration = duration, EventsConnected = eventsConnected };
                if (previous is { Up: false })
                {
                    LogSourceRecovered(_logger, config.Name);
                }
            }
            else
            {
                _states[config.Name] = new SourceState(false, previous?.LastSuccess, error)
                {
                    TimedOut = timedOut, Duration = duration, EventsConnected = eventsConnected,
                };
                // Log the transition, not every failed retry: a dead source must not flood the log. A source's own
                // request timeout and the collection's fire together, so which one wins varies: one timeout episode.
                if (previous is null || previous.Up || (previous.LastError != error && !(previous.TimedOut && timedOut)))
                {
                    LogSourceFailed(_logger, config.Name, config.Type, error ?? "unknown error");
                }
            }

            foreach (var observer in _observers)
            {
                // One observer's bug must not stop this source's loop nor keep the others from hearing of it.
                try
                {
                    observer.OnCollected(config, snapshot);
                }
                catch (Exception e)
                {
                    LogObserverFailed(_logger, observer.GetType().Name, config.Name, e);
                }
            }
        }
        finally
        {
            running.Gate.Release();
        }
    }

    private static async Task StopAsync(RunningSource running)
    {
        await running.Stop.CancelAsync();
        if (running.Loop is not null)
        {
            await running.Loop;
        }

        await running.Source.DisposeAsync();
        running.Stop.Dispose();
    }

    /// <summary>The self-metrics of every configured source collected at least once, in configuration order.</summary>
    public ValueTask WriteAsync(MetricsWriter writer, CancellationToken cancellationToken)
    {
        var sources = _config.Current.Sources
            .Select(s => (Labels: MetricFamilies.SourceLabels.Values(s.Name), State: _states.GetValueOrDefault(s.Name)))
            .Where(s => s.State is not null)
            .ToList();
        Family(MetricFamilies.SourceUp, state => state.Up ? 1 : 0);
        Family(MetricFamilies.SourceLastSuccess, state => state.LastSuccess?.ToUnixTimeMilliseconds() / 1000.0);
        Family(MetricFamilies.SourceEventsConnected, state => state.EventsConnected is { } connected ? (connected ? 1 : 0) : null);
        Family(MetricFamilies.SourceCollectDuration, state => state.Duration.TotalSeconds);
        // A handful of series: they never fill a chunk.
        return ValueTask.CompletedTask;

        void Family(MetricFamily family, Func<SourceState, double?> value)
        {
            writer.Family(family);
            foreach (var (labels, state) in sources)
            {
                if (value(state!) is { } known)
                {
                    writer.Sample(labels, known);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Source {Source} ({Type}) collection failed: {Error}; retrying on its interval")]
    private static partial void LogSourceFailed(ILogger logger, string source, string type, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Observer} failed on a collection of source {Source}")]
    private static partial void LogObserverFailed(ILogger logger, string observer, string source, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Source {Source}: {Finding} (logged once while it lasts)")]
    private static partial void LogImplausibleValue(ILogger logger, string source, string finding);

    [LoggerMessage(Level = LogLevel.Information, Message = "Source {Source} is up again")]
    private static partial void LogSourceRecovered(ILogger logger, string source);

    private sealed class RunningSource(SourceConfig config, ISaSource source)
    {
        public SourceConfig Config { get; } = config;

        public ISaSource Source { get; } = source;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public SaValueGuard Guard { get; } = new();

        public CancellationTokenSource Stop { get; } = new();

        public Task? Loop { get; set; }
    }
}

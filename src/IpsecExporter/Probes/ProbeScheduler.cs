using System.Net;
using IpsecExporter.Configuration;
using IpsecExporter.Metrics;
using IpsecExporter.Probes.Icmp;
using IpsecExporter.Site.Gateways;

namespace IpsecExporter.Probes;

/// <summary>
/// Probes every tunnel's remote gateway and every inside target once per <c>probes.interval</c>, continuously, with
/// the sends of a round spread evenly over the interval (no burst at the top of each second). Follows configuration
/// reloads: kept targets keep their series and history, removed ones drop them. Results go to the
/// <c>ipsec_gateway_ping_*</c> / <c>ipsec_inside_ping_*</c> metrics (lock-free counters per target, written at scrape
/// time from the target array in force) and to <see cref="ProbeResults"/>.
/// A target that cannot be probed (no route, no such source address, a name that does not resolve) fails alone.
/// Remote gateways given as DNS names are probed at the address <see cref="IGatewayAddressProvider"/> (the remote
/// gateway resolver) last resolved, read before every probe, so a gateway that moves is followed at once.
/// </summary>
public sealed partial class ProbeScheduler : BackgroundService, IMetricsContributor
{
    /// <summary>Sends go out on steps this far apart, each at the first step at or after it is due: few timer wake-ups, still spread.</summary>
    private static readonly TimeSpan SendStep = TimeSpan.FromMilliseconds(50);

    private readonly ConfigStore _config;
    private readonly IDisposable _configSubscription;
    private readonly IGatewayAddressProvider _gateways;
    private readonly ProbeResults _results;
    private readonly HistogramBuckets _rttBuckets;
    private readonly TimeProvider _time;
    private readonly ILogger<ProbeScheduler> _logger;
    private readonly IProbe _probe;
    private readonly Lock _targetsLock = new();
    private readonly Dictionary<(string Tunnel, ProbeRole Role, string Key), ProbeTarget> _byKey = [];
    private volatile ProbeTarget[] _targets = [];

    public ProbeScheduler(
        ConfigStore config,
        ProbeRegistry registry,
        IServiceProvider services,
        IGatewayAddressProvider gateways,
        ProbeResults results,
        ExporterMetrics metrics,
        TimeProvider time,
        ILogger<ProbeScheduler> logger)
    {
        _config = config;
        _gateways = gateways;
        _results = results;
        _rttBuckets = metrics.RttBuckets;
        _time = time;
        _logger = logger;
        _probe = registry.Create(IcmpProbe.KindName, services);
        Apply(config.Current);
        _configSubscription = _config.OnChanged(ConfigStage.Probes, nameof(ProbeScheduler), OnConfigChanged);
    }

    /// <summary>Probes every target once, all at once, and waits until each probe has settled. For tests and one-shot diagnosis.</summary>
    public async Task CollectOnceAsync(CancellationToken cancellationToken)
    {
        var timeout = _config.Current.Probes.Timeout;
        var settling = new List<Task>();
        foreach (var target in _targets)
        {
            var settled = new SettlementSink(target);
            if (Send(target, timeout, settled))
            {
                settling.Add(settled.Settled);
            }
        }

        await Task.WhenAll(settling).WaitAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _configSubscription.Dispose();
        base.Dispose();
        // The ICMP engine disposes synchronously; waiting here cannot deadlock.
        _probe.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // One periodic timer for the whole schedule: a Task.Delay per step cost the runtime's timer thread two
        // wake-ups (arming, firing) and a new timer each, the largest fixed cost of the probes (docs/PERFORMANCE.md).
        using var steps = new PeriodicTimer(SendStep, _time);
        var roundStart = _time.GetTimestamp();
        var targets = _targets;
        var next = 0;
        try
        {
            do
            {
                var probes = _config.Current.Probes;
                var elapsed = _time.GetElapsedTime(roundStart);
                if (next >= targets.Length && elapsed >= probes.Interval)
                {
                    // The next round, anchored to the last one's start so that a slow moment does not shift the schedule;
                    // a whole round behind (the host was suspended or starved), it starts afresh instead of bursting.
                    roundStart += (long)(probes.Interval.TotalSeconds * _time.TimestampFrequency);
                    if (elapsed > 2 * probes.Interval)
                    {
                        roundStart = _time.GetTimestamp();
                    }

                    elapsed = _time.GetElapsedTime(roundStart);
                    (targets, next) = (_targets, 0);
                }

                // The sends that are due go now: spread evenly over the interval, none early.
                for (; next < targets.Length && probes.Interval * next / targets.Length <= elapsed; next++)
                {
                    try
                    {
                        Send(targets[next], probes.Timeout, targets[next]);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // A bug in one target's probe must not stop the others' (IProbe.Send is not meant to throw).
                        LogSendCrashed(_logger, targets[next].Key.Tunnel, targets[next].Configured, e);
                    }
                }
            }
            while (await steps.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Sends one probe of <paramref name="target"/>; false when there is nothing to send to (a name not resolved yet).</summary>
    private bool Send(ProbeTarget target, TimeSpan timeout, IProbeOutcomeSink sink)
    {
        var address = target.InsideAddress ?? _gateways.GetAddress(target.Key.Tunnel);
        if (address is null)
        {
            // Attempted but not sent: a send error, so an unresolvable gateway shows (and pages) instead of staying at 0
            // requests. The resolver logs why; the results say it too.
            target.Series.CountRequest();
            target.Series.CountSendError();
            target.History.RecordError($"remote gateway {target.Configured} has not resolved to an address yet");
            return false;
        }

        var request = target.Request;
        if (request is null || !request.Target.Equals(address) || request.Timeout != timeout)
        {
            request = new ProbeRequest(address, target.Source, timeout);
            target.Request = request;
        }

        // Counted before sending, so responses never exceed requests even for an answer that beats Send's return.
        target.Series.CountRequest();
        target.History.RecordRequest(address, target.Source);
        _probe.Send(request, sink);
        return true;
    }

    private void OnConfigChanged(ExporterConfig old, ExporterConfig next)
    {
        if (!next.Probes.RttBuckets.SequenceEqual(old.Probes.RttBuckets))
        {
            LogBucketsNeedRestart(_logger);
        }

        Apply(next);
    }

    private void Apply(ExporterConfig config)
    {
        var capacity = HistoryCapacity(config);
        lock (_targetsLock)
        {
            var wanted = new Dictionary<(string, ProbeRole, string), ProbeTarget>();
            var order = new List<(string, ProbeRole, string)>();
            foreach (var tunnel in config.Tunnels)
            {
                order.Add((tunnel.Name, ProbeRole.Gateway, ""));
                Keep(wanted, order[^1], tunnel.RemoteGateway, null, null, capacity);
                foreach (var target in tunnel.Inside?.Targets ?? [])
                {
                    order.Add((tunnel.Name, ProbeRole.Inside, target.ToString()));
                    Keep(wanted, order[^1], target.ToString(), target, tunnel.Inside!.Source, capacity, tunnel.NetworkPairs.FirstOrDefault(p => p.Remote.Contains(target)));
                }
            }

            foreach (var key in _byKey.Keys.Where(k => !wanted.ContainsKey(k)))
            {
                _results.Forget(key.Tunnel, key.Role, key.Key);
            }

            _byKey.Clear();
            foreach (var (key, target) in wanted)
            {
                _byKey[key] = target;
            }

            // In configuration order: a tunnel's gateway, then its inside targets.
            _targets = [.. order.Select(key => wanted[key])];
        }
    }

    private void Keep(Dictionary<(string, ProbeRole, string), ProbeTarget> wanted, (string Tunnel, ProbeRole Role, string Key) key, string configured, IPAddress? insideAddress, IPAddress? source, int capacity, NetworkPair? pair = null)
    {
        var history = _results.Track(key.Tunnel, key.Role, key.Key, configured, capacity);
        // check-config guarantees a pair for every inside target; "" only guards a hand-built config.
        string[] labels = key.Role == ProbeRole.Gateway ? [key.Tunnel] : [key.Tunnel, key.Key, pair?.LocalText ?? "", pair?.RemoteText ?? ""];
        _byKey.TryGetValue(key, out var existing);
        // The same series keep their counters, even when the target is rebuilt (another source address); a target
        // whose labels changed (an edited pair) starts new series, and the old ones are no longer written.
        var series = existing is not null && existing.Series.LabelValues.SequenceEqual(labels)
            ? existing.Series
            : new TargetSeries(labels, (key.Role == ProbeRole.Gateway ? MetricFamilies.GatewayLabels : MetricFamilies.InsideLabels).Values(labels), _rttBuckets);
        var target = existing is not null && existing.Configured == configured && Equals(existing.Source, source) && existing.Series == series
            ? existing
            : new ProbeTarget(key, configured, insideAddress, source, series, history, _time, _logger);
        wanted[key] = target;
    }

    /// <summary>Enough ring slots for twice the diagnosis window at the probe interval.</summary>
    private static int HistoryCapacity(ExporterConfig config) =>
        (int)Math.Clamp(2 * Math.Ceiling(config.Diagnosis.Window / config.Probes.Interval), 16, 4096);

    [LoggerMessage(Level = LogLevel.Warning, Message = "probes.rtt_buckets changed: histogram buckets are fixed while the exporter runs, the new ones apply after a restart")]
    private static partial void LogBucketsNeedRestart(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Probe of {Target} for tunnel {Tunnel} cannot be sent: {Error}; retrying every interval")]
    private static partial void LogProbeFailing(ILogger logger, string tunnel, string target, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Probe of {Target} for tunnel {Tunnel} failed unexpectedly; the other targets go on")]
    private static partial void LogSendCrashed(ILogger logger, string tunnel, string target, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Probe of {Target} for tunnel {Tunnel} is answered again")]
    private static partial void LogProbeRecovered(ILogger logger, string tunnel, string target);

    /// <summary>Writes the probe's own families, then the gateway and inside ping families from the targets in force; takes no lock.</summary>
    public async ValueTask WriteAsync(MetricsWriter writer, CancellationToken cancellationToken)
    {
        // A probe kind's own families (the ICMP engine's timestamp source) come first.
        if (_probe is IMetricsContributor probe)
        {
            await probe.WriteAsync(writer, cancellationToken);
        }

        var targets = _targets;
        using var gateways = new SeriesTable(MetricFamilies.GatewayLabels, CounterColumns, targets.Length);
        using var inside = new SeriesTable(MetricFamilies.InsideLabels, CounterColumns, 0);
        Gather(targets, gateways, inside);
        // A role no target has gets its headers without a pass over the targets (most hubs probe no inside targets).
        await writer.FamilyAsync(MetricFamilies.GatewayPingRequests, gateways, Requests, cancellationToken);
        await writer.FamilyAsync(MetricFamilies.GatewayPingResponses, gateways, Responses, cancellationToken);
        await WriteRoundTripsAsync(writer, gateways.Count > 0 ? targets : [], ProbeRole.Gateway, MetricFamilies.GatewayPingRtt, cancellationToken);
        await writer.FamilyAsync(MetricFamilies.InsidePingRequests, inside, Requests, cancellationToken);
        await writer.FamilyAsync(MetricFamilies.InsidePingResponses, inside, Responses, cancellationToken);
        await WriteRoundTripsAsync(writer, inside.Count > 0 ? targets : [], ProbeRole.Inside, MetricFamilies.InsidePingRtt, cancellationToken);
        await writer.FamilyAsync(MetricFamilies.GatewayPingSendErrors, gateways, SendErrors, cancellationToken);
        await writer.FamilyAsync(MetricFamilies.InsidePingSendErrors, inside, SendErrors, cancellationToken);
        await writer.FamilyAsync(MetricFamilies.GatewayPingLateResponses, gateways, Late, cancellationToken);
        await writer.FamilyAsync(MetricFamilies.GatewayPingDuplicateResponses, gateways, Duplicates, cancellationToken);
        await writer.FamilyAsync(MetricFamilies.InsidePingLateResponses, inside, Late, cancellationToken);
        await writer.FamilyAsync(MetricFamilies.InsidePingDuplicateResponses, inside, Duplicates, cancellationToken);
    }

    // The columns of the counter tables.
    private const int Requests = 0;
    private const int Responses = 1;
    private const int SendErrors = 2;
    private const int Late = 3;
    private const int Duplicates = 4;
    private const int CounterColumns = 5;

    /// <summary>Every target's counters, read once for all their families.</summary>
    private static void Gather(ProbeTarget[] targets, SeriesTable gateways, SeriesTable inside)
    {
        Span<double?> values = stackalloc double?[CounterColumns];
        foreach (var target in targets)
        {
            var series = target.Series;
            // Responses before requests: a request is counted before it is sent, so then responses never exceed requests.
            values[Responses] = series.Responses;
            values[Requests] = series.Requests;
            values[SendErrors] = series.SendErrors;
            values[Late] = series.Late;
            values[Duplicates] = series.Duplicates;
            (target.Key.Role == ProbeRole.Gateway ? gateways : inside).Add(series.Labels, values);
        }
    }

    private async ValueTask WriteRoundTripsAsync(MetricsWriter writer, ProbeTarget[] targets, ProbeRole role, MetricFamily family, CancellationToken cancellationToken)
    {
        writer.Family(family);
        var counts = new long[_rttBuckets.Bounds.Count + 1];
        foreach (var target in targets)
        {
            if (target.Key.Role == role)
            {
                var sum = target.Series.ReadRoundTrips(counts);
                writer.Histogram(target.Series.Labels, _rttBuckets, counts, sum);
                await writer.FlushIfFullAsync(cancellationToken);
            }
        }
    }

    /// <summary>
    /// The counters and RTT histogram of one target's series, lock-free (probe outcomes arrive on the ICMP engine's
    /// threads while scrapes read them), and the label values they are written with.
    /// </summary>
    private sealed class TargetSeries(string[] labelValues, MetricLabels labels, HistogramBuckets buckets)
    {
        private readonly HistogramBuckets _buckets = buckets;
        private readonly long[] _roundTripBuckets = new long[buckets.Bounds.Count + 1];
        private long _requests;
        private long _responses;
        private long _late;
        private long _duplicates;
        private long _sendErrors;
        private long _roundTripSumBits;

        public string[] LabelValues { get; } = labelValues;

        public MetricLabels Labels { get; } = labels;

        public long Requests => Interlocked.Read(ref _requests);

        public long Responses => Interlocked.Read(ref _responses);

        public long Late => Interlocked.Read(ref _late);

        public long Duplicates => Interlocked.Read(ref _duplicates);

        public long SendErrors => Interlocked.Read(ref _sendErrors);

        public void CountRequest() => Interlocked.Increment(ref _requests);

        public void CountLate() => Interlocked.Increment(ref _late);

        public void CountDuplicate() => Interlocked.Increment(ref _duplicates);

        public void CountSendError() => Interlocked.Increment(ref _sendErrors);

        public void CountResponse(TimeSpan roundTrip)
        {
            var seconds = roundTrip.TotalSeconds;
            Interlocked.Increment(ref _roundTripBuckets[_buckets.IndexOf(seconds)]);
            long seen, next;
            do
            {
                seen = Interlocked.Read(ref _roundTripSumBits);
                next = BitConverter.DoubleToInt64Bits(BitConverter.Int64BitsToDouble(seen) + seconds);
            }
            while (Interlocked.CompareExchange(ref _roundTripSumBits, next, seen) != seen);

            Interlocked.Increment(ref _responses);
        }

        /// <summary>Copies the per-bucket counts into <paramref name="counts"/> and returns the sum of the round trips.</summary>
        public double ReadRoundTrips(Span<long> counts)
        {
            for (var i = 0; i < counts.Length; i++)
            {
                counts[i] = Interlocked.Read(ref _roundTripBuckets[i]);
            }

            return BitConverter.Int64BitsToDouble(Interlocked.Read(ref _roundTripSumBits));
        }
    }

    /// <summary>One probed address: turns outcomes into metrics, history, and logs of failure transitions.</summary>
    private sealed class ProbeTarget(
        (string Tunnel, ProbeRole Role, string Key) key,
        string configured,
        IPAddress? insideAddress,
        IPAddress? source,
        TargetSeries series,
        ProbeHistory history,
        TimeProvider time,
        ILogger logger) : IProbeOutcomeSink
    {
        private readonly Lock _logLock = new();
        private string? _loggedError;

        public (string Tunnel, ProbeRole Role, string Key) Key { get; } = key;

        /// <summary>The configured remote gateway (IP or name) or inside address.</summary>
        public string Configured { get; } = configured;

        public IPAddress? InsideAddress { get; } = insideAddress;

        public IPAddress? Source { get; } = source;

        public TargetSeries Series { get; } = series;

        public ProbeHistory History { get; } = history;

        public ProbeRequest? Request { get; set; }

        public void OnOutcome(ProbeOutcome outcome)
        {
            switch (outcome.Kind)
            {
                case ProbeOutcomeKind.Reply:
                    Series.CountResponse(outcome.RoundTripTime);
                    History.RecordSettled(time.GetUtcNow(), outcome.RoundTripTime, null);
                    LogTransition(null);
                    break;
                case ProbeOutcomeKind.Timeout:
                    History.RecordSettled(time.GetUtcNow(), null, null);
                    break;
                case ProbeOutcomeKind.Failed:
                    Series.CountSendError();
                    History.RecordSettled(time.GetUtcNow(), null, outcome.Error);
                    LogTransition(outcome.Error);
                    break;
                case ProbeOutcomeKind.LateReply:
                    Series.CountLate();
                    History.RecordLate();
                    break;
                case ProbeOutcomeKind.DuplicateReply:
                    Series.CountDuplicate();
                    History.RecordDuplicate();
                    break;
            }
        }

        /// <summary>Logs when a target starts failing, fails differently, or is answered again; not every retry.</summary>
        private void LogTransition(string? error)
        {
            lock (_logLock)
            {
                if (error == _loggedError)
                {
                    return;
                }

                var recovered = error is null;
                _loggedError = error;
                var label = Key.Role == ProbeRole.Gateway ? $"remote gateway {Configured}" : Configured;
                if (recovered)
                {
                    LogProbeRecovered(logger, Key.Tunnel, label);
                }
                else
                {
                    LogProbeFailing(logger, Key.Tunnel, label, error!);
                }
            }
        }
    }

    /// <summary>Forwards to the target and completes when the probe has settled (for <see cref="CollectOnceAsync"/>).</summary>
    private sealed class SettlementSink(IProbeOutcomeSink target) : IProbeOutcomeSink
    {
        private readonly TaskCompletionSource _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Settled => _settled.Task;

        public void OnOutcome(ProbeOutcome outcome)
        {
            target.OnOutcome(outcome);
            if (outcome.Settles)
            {
                _settled.TrySetResult();
            }
        }
    }
}

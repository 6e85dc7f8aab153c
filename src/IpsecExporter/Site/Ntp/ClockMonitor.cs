using System.Collections.Concurrent;
using IpsecExporter.Configuration;
using IpsecExporter.Hosting;
using IpsecExporter.Metrics;

namespace IpsecExporter.Site.Ntp;

/// <summary>The last SNTP result for one configured server: an offset, or why there is none.</summary>
public sealed record ClockSample(string Server, DateTimeOffset CheckedAt, TimeSpan? Offset, TimeSpan? Delay, string? Error)
{
    public bool Succeeded => Offset is not null;
}

/// <summary>
/// Measures this host's clock against each of site.ntp_servers every site.ntp_interval (the best of site.ntp_samples
/// exchanges): <c>ipsec_clock_offset_seconds</c> and <c>ipsec_clock_probe_success</c>. Honors Kiss-o'-Death: RATE doubles the wait for that server (up to 64
/// intervals), DENY and RSTR stop asking it until the configuration changes.
/// </summary>
public sealed partial class ClockMonitor : PeriodicService, IMetricsContributor
{
    private const int MaxRateBackoff = 64;

    /// <summary>Between the exchanges of one round: the minimum packet spacing NTP servers enforce (ntpd's
    /// <c>discard minimum</c>, iburst's 2 s), so a burst does not earn a Kiss-o'-Death RATE.</summary>
    public static readonly TimeSpan SampleSpacing = TimeSpan.FromSeconds(2);

    private readonly ConfigStore _config;
    private readonly SntpClient _sntp;
    private readonly ILogger<ClockMonitor> _logger;
    private readonly ConcurrentDictionary<string, ServerState> _servers = new(StringComparer.Ordinal);

    // Per server, the last sample the metrics show: dropped with the server, not when a reload lifts refusals.
    private readonly ConcurrentDictionary<string, ServerSeries> _series = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _round = new(1, 1);

    public ClockMonitor(ConfigStore config, SntpClient sntp, TimeProvider time, ILogger<ClockMonitor> logger)
        : base(time, logger)
    {
        _config = config;
        _sntp = sntp;
        _logger = logger;
        config.OnChanged(ConfigStage.SiteChecks, nameof(ClockMonitor), (_, next) => Forget(next.Site.NtpServers, forgetRefusals: true));
    }

    /// <summary>The last result per configured server that was asked at least once.</summary>
    public IReadOnlyList<ClockSample> Samples =>
        _config.Current.Site.NtpServers.Select(s => _servers.GetValueOrDefault(s)?.Last).OfType<ClockSample>().ToList();

    protected override TimeSpan Interval => _config.Current.Site.NtpInterval;

    public override async Task CollectOnceAsync(CancellationToken cancellationToken)
    {
        await _round.WaitAsync(cancellationToken);
        try
        {
            var site = _config.Current.Site;
            Forget(site.NtpServers, forgetRefusals: false);
            await Task.WhenAll(site.NtpServers.Select(server => ProbeAsync(server, site, cancellationToken)));
        }
        finally
        {
            _round.Release();
        }
    }

    private async Task ProbeAsync(string server, SiteConfig site, CancellationToken cancellationToken)
    {
        var state = _servers.GetOrAdd(server, _ => new ServerState());
        var now = Time.GetUtcNow();
        if (state.Refused || now < state.NotBefore)
        {
            // Kiss-o'-Death: the last (failed) sample stands until the server may be asked again.
            return;
        }

        var sample = await BestOfAsync(server, site, now, state, cancellationToken);
        Publish(sample, state.Last);
        state.Last = sample;
    }

    /// <summary>
    /// <see cref="SiteConfig.NtpSamples"/> exchanges <see cref="SampleSpacing"/> apart; the one with the shortest delay
    /// decides, as in NTP's clock filter: a reply read late (a busy machine, a queue on the path) inflates both the delay
    /// and the offset error, so the fastest exchange is the most accurate. Any answer makes the round a success; a
    /// Kiss-o'-Death ends it at once.
    /// </summary>
    private async Task<ClockSample> BestOfAsync(string server, SiteConfig site, DateTimeOffset now, ServerState state, CancellationToken cancellationToken)
    {
        if (!HostAndPort.TryParse(server, out var hostAndPort))
        {
            return new ClockSample(server, now, null, null, $"invalid server '{server}'");
        }

        SntpMeasurement? best = null;
        string? error = null;
        for (var exchange = 0; exchange < site.NtpSamples; exchange++)
        {
            if (exchange > 0)
            {
                await Task.Delay(SampleSpacing, Time, cancellationToken);
            }

            using var timeout = new CancellationTokenSource(site.NtpTimeout, Time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            try
            {
                var endpoint = await hostAndPort.ResolveAsync(SntpClient.DefaultPort, linked.Token);
                var measurement = await _sntp.QueryAsync(endpoint, linked.Token);
                if (best is null || measurement.Delay < best.Delay)
                {
                    best = measurement;
                }
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                error = $"no answer within {DurationParser.Format(site.NtpTimeout)}";
            }
            catch (SntpException e) when (e.KissCode is not null)
            {
                return new ClockSample(server, now, null, null, HandleKissOfDeath(state, e, now, site.NtpInterval));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                error = e.Message;
            }
        }

        if (best is null)
        {
            return new ClockSample(server, now, null, null, error);
        }

        state.RateBackoff = 1;
        return new ClockSample(server, now, best.Offset, best.Delay, null);
    }

    private static string HandleKissOfDeath(ServerState state, SntpException kiss, DateTimeOffset now, TimeSpan interval)
    {
        if (kiss.KissCode is "DENY" or "RSTR")
        {
            state.Refused = true;
            return $"{kiss.Message}; not asked again until the configuration changes";
        }

        state.RateBackoff = Math.Min(state.RateBackoff * 2, MaxRateBackoff);
        state.NotBefore = now + (interval * state.RateBackoff);
        return $"{kiss.Message}; next query not before {state.NotBefore:O}";
    }

    private void Publish(ClockSample sample, ClockSample? previous)
    {
        // A failed sample has no offset: a stale one would look like a measurement.
        _series[sample.Server] = new ServerSeries(_series.GetValueOrDefault(sample.Server)?.Labels ?? MetricFamilies.ServerLabels.Values(sample.Server), sample);
        if (sample.Error is not null && previous?.Error != sample.Error)
        {
            LogProbeFailed(_logger, sample.Server, sample.Error);
        }
    }

    /// <summary>Drops state and series of servers no longer configured; a reload also lifts DENY/RSTR refusals.</summary>
    private void Forget(IReadOnlyList<string> configured, bool forgetRefusals)
    {
        foreach (var server in _servers.Keys.Where(s => forgetRefusals || !configured.Contains(s)).ToList())
        {
            _servers.TryRemove(server, out _);
        }

        foreach (var server in _series.Keys.Where(s => !configured.Contains(s)).ToList())
        {
            _series.TryRemove(server, out _);
        }
    }

    /// <summary>Writes the <c>ipsec_clock_*</c> families of the configured servers asked so far, in configuration order.</summary>
    public ValueTask WriteAsync(MetricsWriter writer, CancellationToken cancellationToken)
    {
        var servers = _config.Current.Site.NtpServers.Select(s => _series.GetValueOrDefault(s)).OfType<ServerSeries>().ToList();
        writer.Family(MetricFamilies.ClockOffset);
        foreach (var (labels, sample) in servers)
        {
            if (sample.Offset is { } offset)
            {
                writer.Sample(labels, offset.TotalSeconds);
            }
        }

        writer.Family(MetricFamilies.ClockDelay);
        foreach (var (labels, sample) in servers)
        {
            if (sample.Delay is { } delay)
            {
                writer.Sample(labels, delay.TotalSeconds);
            }
        }

        writer.Family(MetricFamilies.ClockProbeSuccess);
        foreach (var (labels, sample) in servers)
        {
            writer.Sample(labels, sample.Succeeded ? 1 : 0);
        }

        // A handful of servers: they never fill a chunk.
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "SNTP query to {Server} failed: {Error}")]
    private static partial void LogProbeFailed(ILogger logger, string server, string error);

    private sealed class ServerState
    {
        public ClockSample? Last { get; set; }

        public DateTimeOffset NotBefore { get; set; }

        public int RateBackoff { get; set; } = 1;

        public bool Refused { get; set; }
    }

    private sealed record ServerSeries(MetricLabels Labels, ClockSample Sample);
}

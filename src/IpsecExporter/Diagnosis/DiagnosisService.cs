using System.Collections.Concurrent;
using IpsecExporter.Configuration;
using IpsecExporter.Hosting;
using IpsecExporter.Metrics;

namespace IpsecExporter.Diagnosis;

/// <summary>What the status page, the API and the partner report show for one tunnel.</summary>
public sealed record TunnelView(
    TunnelConfig Tunnel,
    TunnelDiagnosis Diagnosis,
    TunnelSample? Latest,
    TunnelSample? Baseline,
    DateTimeOffset VerdictSince,
    IReadOnlyList<TunnelEvent> Events);

/// <summary>
/// Samples every tunnel on an interval, keeps the samples of the diagnosis window, diagnoses each tunnel, exports
/// <c>ipsec_tunnel_check</c> and <c>ipsec_tunnel_status</c> (written at scrape time from each tunnel's last published
/// series), and keeps an in-memory event log per tunnel.
/// </summary>
public sealed partial class DiagnosisService : PeriodicService, IMetricsContributor
{
    public static readonly TimeSpan SampleInterval = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan EventRetention = TimeSpan.FromHours(24);

    /// <summary>
    /// The event log's bound per tunnel, whatever the churn. Repeated rekeys are folded into one event, so routine churn
    /// keeps a few events per tunnel; the bound holds against distinct events (a flapping pair, changing DH groups).
    /// </summary>
    public const int MaxEventsPerTunnel = 500;

    private readonly ConfigStore _config;
    private readonly ITunnelSampler _sampler;
    private readonly ILogger<DiagnosisService> _logger;
    private readonly ConcurrentDictionary<string, TunnelState> _tunnels = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private OrderedSeries? _ordered;

    public DiagnosisService(ConfigStore config, ITunnelSampler sampler, TimeProvider time, ILogger<DiagnosisService> logger)
        : base(time, logger)
    {
        _config = config;
        _sampler = sampler;
        _logger = logger;
        _config.OnChanged(ConfigStage.Diagnosis, nameof(DiagnosisService), (_, next) =>
        {
            foreach (var name in _tunnels.Keys.Except(next.Tunnels.Select(t => t.Name)))
            {
                _tunnels.TryRemove(name, out TunnelState? _);
            }
        });
    }

    protected override TimeSpan Interval => SampleInterval;

    public DiagnosisOptions Options => DiagnosisOptions.Default with { Window = _config.Current.Diagnosis.Window };

    /// <summary>Samples and diagnoses every configured tunnel once. Tests call this instead of waiting for the timer.</summary>
    public override async Task CollectOnceAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var config = _config.Current;
            var options = Options;
            var now = Time.GetUtcNow();
            foreach (var tunnel in config.Tunnels)
            {
                Update(config, tunnel, options, now);
            }

            _ordered = Ordered(config, _ordered);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The series of every configured tunnel in configuration order; <paramref name="last"/> when they are the same (most rounds).</summary>
    private OrderedSeries Ordered(ExporterConfig config, OrderedSeries? last)
    {
        var same = last is not null && ReferenceEquals(last.Config, config);
        for (var i = 0; same && i < config.Tunnels.Count; i++)
        {
            same = ReferenceEquals(last!.Tunnels[i], _tunnels.GetValueOrDefault(config.Tunnels[i].Name)?.Published);
        }

        return same ? last! : new OrderedSeries(config, [.. config.Tunnels.Select(t => _tunnels.GetValueOrDefault(t.Name)?.Published)]);
    }

    /// <summary>The latest view of every configured tunnel, in configuration order.</summary>
    public IReadOnlyList<TunnelView> All() => _config.Current.Tunnels.Select(Get).OfType<TunnelView>().ToList();

    public TunnelView? Get(string name) => _config.Current.Tunnels.FirstOrDefault(t => t.Name == name) is { } tunnel ? Get(tunnel) : null;

    private TunnelView? Get(TunnelConfig tunnel)
    {
        if (!_tunnels.TryGetValue(tunnel.Name, out var state))
        {
            return null;
        }

        lock (state.Gate)
        {
            if (state.Diagnosis is null)
            {
                return null;
            }

            var latest = state.History.Latest;
            var baseline = latest is null ? null : Diagnoser.Baseline(state.History, Options.Window);
            return new TunnelView(tunnel, state.Diagnosis, latest, baseline, state.VerdictSince, state.Events.ToList());
        }
    }

    private void Update(ExporterConfig config, TunnelConfig tunnel, DiagnosisOptions options, DateTimeOffset now)
    {
        var state = _tunnels.GetOrAdd(tunnel.Name, name => new TunnelState(name));
        lock (state.Gate)
        {
            var previous = state.History.Latest;
            var sample = TunnelSample.SharingWith(_sampler.Sample(config, tunnel, now, previous), previous);
            state.History.Add(sample);
            state.History.DropBefore(now - options.Window);

            var diagnosis = Diagnoser.Diagnose(tunnel.Name, state.History, options, now, state.Diagnosis);
            TunnelEvents.AppendBetween(state.Events, previous, sample, state.Diagnosis, diagnosis);

            // By the last time: a run of rekeys that still goes on stays, however long ago it began.
            DropBefore(state.Events, now - EventRetention);
            if (state.Events.Count > MaxEventsPerTunnel)
            {
                state.Events.RemoveRange(0, state.Events.Count - MaxEventsPerTunnel);
            }

            if (state.Diagnosis is null || state.Diagnosis.Verdict != diagnosis.Verdict)
            {
                state.VerdictSince = now;
                LogVerdict(_logger, tunnel.Name, diagnosis.Verdict, diagnosis.Reason);
            }

            state.Publish(state.Diagnosis, diagnosis);
            state.Diagnosis = diagnosis;
        }
    }

    /// <summary>Writes the check and status families of every configured tunnel diagnosed so far; takes no lock.</summary>
    public async ValueTask WriteAsync(MetricsWriter writer, CancellationToken cancellationToken)
    {
        var config = _config.Current;
        var tunnels = _ordered is { } last && ReferenceEquals(last.Config, config)
            ? last.Tunnels
            // After a reload, until the next round, by name.
            : [.. config.Tunnels.Select(t => _tunnels.GetValueOrDefault(t.Name)?.Published)];
        writer.Family(MetricFamilies.TunnelCheck);
        foreach (var tunnel in tunnels)
        {
            if (tunnel is not null)
            {
                writer.Samples(tunnel.Checks);
                await writer.FlushIfFullAsync(cancellationToken);
            }
        }

        writer.Family(MetricFamilies.TunnelStatus);
        foreach (var tunnel in tunnels)
        {
            if (tunnel is not null)
            {
                writer.Samples(tunnel.Statuses);
                await writer.FlushIfFullAsync(cancellationToken);
            }
        }
    }

    /// <summary>Drops the events older than <paramref name="cutoff"/>; allocates nothing (no closure) in the usual round that drops none.</summary>
    private static void DropBefore(List<TunnelEvent> events, DateTimeOffset cutoff)
    {
        foreach (var change in events)
        {
            if (change.At < cutoff)
            {
                RemoveBefore(events, cutoff);
                return;
            }
        }

        // Apart: the closure's object is made when the function that declares what it captures is entered.
        static void RemoveBefore(List<TunnelEvent> events, DateTimeOffset cutoff) => events.RemoveAll(e => e.At < cutoff);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Tunnel {Tunnel} is {Verdict}: {Reason}")]
    private static partial void LogVerdict(ILogger logger, string tunnel, Verdict verdict, string reason);

    private static readonly Verdict[] Verdicts = Enum.GetValues<Verdict>();

    /// <summary>What the metrics show of a tunnel's last diagnosis: immutable, replaced after each one.</summary>
    private sealed record DiagnosisSeries(SeriesBlock Checks, SeriesBlock Statuses);

    /// <summary>Every configured tunnel's series after a round, in the order of <paramref name="Config"/>'s tunnels (null: not diagnosed).</summary>
    private sealed record OrderedSeries(ExporterConfig Config, DiagnosisSeries?[] Tunnels);

    private sealed class TunnelState(string tunnel)
    {
        // The status labels' bytes, shared by every diagnosis' status series.
        private readonly SeriesBlock _statuses = new(
            MetricFamilies.TunnelStatusLabels,
            [.. Verdicts.Select(v => MetricFamilies.TunnelStatusLabels.Values(tunnel, TunnelDiagnosis.StatusLabel(v)))],
            new double[Verdicts.Length]);

        private DiagnosisSeries? _published;

        /// <summary>Guards the window, the events and the diagnosis (a <see cref="Lock"/>, not a monitor on the state itself).</summary>
        public Lock Gate { get; } = new();

        /// <summary>Read by scrapes without the lock.</summary>
        public DiagnosisSeries? Published => Volatile.Read(ref _published);

        public SampleWindow History { get; } = new();

        public List<TunnelEvent> Events { get; } = [];

        public TunnelDiagnosis? Diagnosis { get; set; }

        public DateTimeOffset VerdictSince { get; set; }

        /// <summary>Swaps in the series of <paramref name="diagnosis"/> (under <see cref="Gate"/>).</summary>
        public void Publish(TunnelDiagnosis? previous, TunnelDiagnosis diagnosis)
        {
            // Most rounds change no check and no verdict: the series published from the previous diagnosis stay.
            if (_published is not null && previous is not null && previous.Verdict == diagnosis.Verdict && SameStates(previous.Checks, diagnosis.Checks))
            {
                return;
            }

            // Absent means unknown: a 0 would claim the check failed. Made again only when a check changes (rarely).
            var known = diagnosis.Checks.Where(c => c.State != CheckState.Unknown).ToArray();
            var checks = new SeriesBlock(
                MetricFamilies.TunnelCheckLabels,
                [.. known.Select(c => MetricFamilies.TunnelCheckLabels.Values(tunnel, c.Check))],
                [.. known.Select(c => c.State == CheckState.Pass ? 1.0 : 0.0)]);
            var statuses = _statuses.WithValues([.. Verdicts.Select(v => diagnosis.Verdict == v ? 1.0 : 0.0)]);
            Volatile.Write(ref _published, new DiagnosisSeries(checks, statuses));
        }

        private static bool SameStates(IReadOnlyList<CheckResult> published, IReadOnlyList<CheckResult> checks)
        {
            if (published.Count != checks.Count)
            {
                return false;
            }

            for (var i = 0; i < checks.Count; i++)
            {
                if (published[i].Check != checks[i].Check || published[i].State != checks[i].State)
                {
                    return false;
                }
            }

            return true;
        }
    }
}

using System.Collections.Concurrent;
using IpsecExporter.Configuration;
using IpsecExporter.Hosting;
using IpsecExporter.Metrics;
using IpsecExporter.Site.Ntp;

namespace IpsecExporter.Diagnosis.BestPractices;

/// <summary>Implemented by the tunnel model: what a tunnel's SAs showed about PFS and rekey intervals.</summary>
public interface IObservedSaFactsProvider
{
    ObservedSaFacts FactsFor(string tunnel);
}

/// <summary>
/// Evaluates the best practices of every tunnel every best_practices.interval into <c>ipsec_best_practice</c> (absent
/// while unknown; written at scrape time from the last evaluation) and keeps the results, with their reasons, for the
/// diagnosis and the partner report.
/// </summary>
public sealed class BestPracticeService : PeriodicService, IMetricsContributor
{
    private readonly ConfigStore _config;
    private readonly ClockMonitor _clock;
    private readonly IObservedSaFactsProvider? _observed;
    private readonly ConcurrentDictionary<string, IReadOnlyList<BestPracticeResult>> _results = new(StringComparer.Ordinal);

    /// <summary>Per tunnel, the series of its last evaluation (known results only), replaced whole.</summary>
    private readonly ConcurrentDictionary<string, (MetricLabels Labels, double Value)[]> _series = new(StringComparer.Ordinal);

    /// <summary>The same series in the order of the configuration of the last round: a scrape reads them without a lookup per tunnel.</summary>
    private volatile OrderedSeries? _ordered;

    /// <summary>What each tunnel's last evaluation was made from (only the periodic round touches it).</summary>
    private readonly Dictionary<string, (BestPracticeInputs Inputs, BestPracticesConfig Thresholds)> _inputs = new(StringComparer.Ordinal);
    private IReadOnlyList<ClockSample> _lastClock = [];

    /// <summary>Equal verdicts are one list: on a hub most tunnels have the same ones, and the samples and diagnoses hold them too.</summary>
    private static readonly SharedInstances<IReadOnlyList<BestPracticeResult>> SharedResults = new(4096, new ResultsComparer());

    /// <summary>Without an <see cref="IObservedSaFactsProvider"/> registered, the configured expectations are evaluated.</summary>
    public BestPracticeService(
        ConfigStore config,
        ClockMonitor clock,
        TimeProvider time,
        ILogger<BestPracticeService> logger,
        IObservedSaFactsProvider? observed = null)
        : base(time, logger)
    {
        _config = config;
        _clock = clock;
        _observed = observed;
    }

    /// <summary>The last evaluation per tunnel.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<BestPracticeResult>> Results => _results;

    protected override TimeSpan Interval => _config.Current.BestPractices.Interval;

    public override Task CollectOnceAsync(CancellationToken cancellationToken)
    {
        var config = _config.Current;
        var clock = _clock.Samples;
        // A tunnel whose inputs did not change since its last evaluation keeps its results (a hub has thousands).
        var clockChanged = !clock.SequenceEqual(_lastClock);
        _lastClock = clock;
        // Tunnels go only with a reload: the others' leftovers are looked for only then.
        var reloaded = _ordered is not { } ordered || !ReferenceEquals(ordered.Config, config);
        if (reloaded)
        {
            var configured = config.Tunnels.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var tunnel in _results.Keys.Where(t => !configured.Contains(t)).ToList())
            {
                _results.TryRemove(tunnel, out _);
                _series.TryRemove(tunnel, out _);
                _inputs.Remove(tunnel);
            }
        }

        var changed = reloaded;
        foreach (var tunnel in config.Tunnels)
        {
            var observed = _observed?.FactsFor(tunnel.Name) ?? ObservedSaFacts.None;
            if (!clockChanged && _inputs.TryGetValue(tunnel.Name, out var last)
                && last.Thresholds == config.BestPractices && last.Inputs.Expected == tunnel.Expect && last.Inputs.Observed == observed)
            {
                continue;
            }

            changed = true;
            var inputs = new BestPracticeInputs(tunnel.Expect, observed, clock);
            _inputs[tunnel.Name] = (inputs, config.BestPractices);
            var results = SharedResults.Of(BestPracticeEvaluator.Evaluate(inputs, config.BestPractices));
            _results[tunnel.Name] = results;
            _series[tunnel.Name] = [.. results
                .Where(r => r.Followed is not null)
                .Select(r => (MetricFamilies.BestPracticeLabels.Values(tunnel.Name, r.Label), r.Followed!.Value ? 1.0 : 0.0))];
        }

        if (changed)
        {
            _ordered = new OrderedSeries(config, [.. config.Tunnels.Select(t => _series.GetValueOrDefault(t.Name) ?? [])]);
        }

        return Task.CompletedTask;
    }

    /// <summary>Writes <c>ipsec_best_practice</c> for the configured tunnels evaluated so far, in configuration order.</summary>
    public async ValueTask WriteAsync(MetricsWriter writer, CancellationToken cancellationToken)
    {
        writer.Family(MetricFamilies.BestPractice);
        var config = _config.Current;
        var ordered = _ordered is { } last && ReferenceEquals(last.Config, config) ? last.Tunnels : null;
        for (var i = 0; i < config.Tunnels.Count; i++)
        {
            // After a reload, until the next round, by name.
            foreach (var (labels, value) in ordered?[i] ?? _series.GetValueOrDefault(config.Tunnels[i].Name) ?? [])
            {
                writer.Sample(labels, value);
            }

            await writer.FlushIfFullAsync(cancellationToken);
        }
    }

    private sealed record OrderedSeries(ExporterConfig Config, (MetricLabels Labels, double Value)[][] Tunnels);

    private sealed class ResultsComparer : IEqualityComparer<IReadOnlyList<BestPracticeResult>>
    {
        public bool Equals(IReadOnlyList<BestPracticeResult>? x, IReadOnlyList<BestPracticeResult>? y) =>
            x is null ? y is null : y is not null && Items.Equal(x, y);

        public int GetHashCode(IReadOnlyList<BestPracticeResult> results)
        {
            var hash = default(HashCode);
            for (var i = 0; i < results.Count; i++)
            {
                hash.Add(results[i]);
            }

            return hash.ToHashCode();
        }
    }
}

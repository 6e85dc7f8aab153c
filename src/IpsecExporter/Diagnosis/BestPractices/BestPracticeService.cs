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
/// while unknown) and keeps the results, with their reasons, for the diagnosis and the partner report.
/// </summary>
public sealed class BestPracticeService : PeriodicService
{
    private readonly ConfigStore _config;
    private readonly ClockMonitor _clock;
    private readonly IObservedSaFactsProvider? _observed;
    private readonly ExporterMetrics _metrics;
    private readonly ConcurrentDictionary<string, IReadOnlyList<BestPracticeResult>> _results = new(StringComparer.Ordinal);

    /// <summary>Without an <see cref="IObservedSaFactsProvider"/> registered, the configured expectations are evaluated.</summary>
    public BestPracticeService(
        ConfigStore config,
        ClockMonitor clock,
        ExporterMetrics metrics,
        TimeProvider time,
        ILogger<BestPracticeService> logger,
        IObservedSaFactsProvider? observed = null)
        : base(time, logger)
    {
        _config = config;
        _clock = clock;
        _observed = observed;
        _metrics = metrics;
    }

    /// <summary>The last evaluation per tunnel.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<BestPracticeResult>> Results => _results;

    protected override TimeSpan Interval => _config.Current.BestPractices.Interval;

    public override Task CollectOnceAsync(CancellationToken cancellationToken)
    {
        var config = _config.Current;
        var clock = _clock.Samples;
        foreach (var tunnel in _results.Keys.Where(t => !config.Tunnels.Any(c => c.Name == t)).ToList())
        {
            _results.TryRemove(tunnel, out _);
        }

        foreach (var tunnel in config.Tunnels)
        {
            var inputs = new BestPracticeInputs(tunnel.Expect, _observed?.FactsFor(tunnel.Name) ?? ObservedSaFacts.None, clock);
            var results = BestPracticeEvaluator.Evaluate(inputs, config.BestPractices);
            _results[tunnel.Name] = results;
            foreach (var result in results)
            {
                if (result.Followed is { } followed)
                {
                    _metrics.BestPractice.WithLabels(tunnel.Name, result.Label).Set(followed ? 1 : 0);
                }
                else
                {
                    _metrics.BestPractice.RemoveLabelled(tunnel.Name, result.Label);
                }
            }
        }

        return Task.CompletedTask;
    }
}

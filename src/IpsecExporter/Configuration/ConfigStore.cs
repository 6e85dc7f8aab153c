using IpsecExporter.Metrics;

namespace IpsecExporter.Configuration;

/// <summary>
/// Holds the configuration in force. A reload swaps it only when the new file is valid; an invalid file is logged
/// with every error and the old configuration keeps running. <c>ipsec_exporter_config_last_reload_successful</c>
/// says which happened last (the first load succeeded, or the process would not be running).
/// </summary>
public sealed partial class ConfigStore : IMetricsContributor
{
    private readonly ConfigLoader _loader;
    private readonly ILogger<ConfigStore> _logger;
    private readonly Lock _reloadLock = new();
    private readonly List<Subscription> _subscriptions = [];
    private volatile bool _lastReloadSuccessful = true;

    public ConfigStore(ExporterConfig initial, ConfigLoader loader, ILogger<ConfigStore> logger)
    {
        Current = initial;
        _loader = loader;
        _logger = logger;
    }

    /// <summary>
    /// Calls <paramref name="handler"/> with (old, new) after a valid new configuration replaced the old one: stage by
    /// stage in <see cref="ConfigStage"/> order, in subscription order within a stage. Each handler is isolated: one
    /// that throws is logged and the others still run. Dispose the result to unsubscribe.
    /// </summary>
    public IDisposable OnChanged(ConfigStage stage, string subscriber, Action<ExporterConfig, ExporterConfig> handler)
    {
        var subscription = new Subscription(this, stage, subscriber, handler);
        lock (_subscriptions)
        {
            _subscriptions.Add(subscription);
        }

        return subscription;
    }

    public ExporterConfig Current { get; private set; }

    /// <summary>
    /// Re-reads the file the current configuration came from. Returns the errors, empty on success. Never throws: it runs
    /// on the reload timer and the SIGHUP handler, where an exception would end the process.
    /// </summary>
    public IReadOnlyList<ConfigError> Reload()
    {
        lock (_reloadLock)
        {
            ExporterConfig next;
            try
            {
                next = _loader.Load(Current.FilePath);
            }
            catch (ConfigException e)
            {
                _lastReloadSuccessful = false;
                LogReloadFailed(_logger, Current.FilePath, e.Errors.Count, e.Message);
                return e.Errors;
            }
#pragma warning disable CA1031 // Any failure of the loader is a failed reload; the running configuration stays.
            catch (Exception e)
#pragma warning restore CA1031
            {
                _lastReloadSuccessful = false;
                LogReloadCrashed(_logger, Current.FilePath, e);
                return [new ConfigError(Current.FilePath, 1, 1, $"the configuration could not be loaded ({e.GetType().Name}); keeping the previous configuration")];
            }

            var old = Current;
            Current = next;
            var applied = Notify(old, next);
            _lastReloadSuccessful = applied;
            LogReloaded(_logger, next.FilePath, next.Tunnels.Count, next.Sources.Count);
            return [];
        }
    }

    /// <summary>Writes <c>ipsec_exporter_config_last_reload_successful</c>.</summary>
    public ValueTask WriteAsync(MetricsWriter writer, CancellationToken cancellationToken)
    {
        writer.Family(MetricFamilies.ConfigLastReloadSuccessful);
        writer.Sample(MetricFamilies.Unlabelled, _lastReloadSuccessful ? 1 : 0);
        return ValueTask.CompletedTask;
    }

    /// <summary>Tells every subscriber in stage order; false when one failed (logged; the others still got the configuration).</summary>
    private bool Notify(ExporterConfig old, ExporterConfig next)
    {
        var applied = true;
        List<Subscription> subscriptions;
        lock (_subscriptions)
        {
            // OrderBy is stable: subscription order within a stage.
            subscriptions = _subscriptions.OrderBy(s => s.Stage).ToList();
        }

        foreach (var subscription in subscriptions)
        {
            try
            {
                subscription.Handler(old, next);
            }
#pragma warning disable CA1031 // A failing subscriber must not end the process from the reload timer.
            catch (Exception e)
#pragma warning restore CA1031
            {
                applied = false;
                LogHandlerFailed(_logger, e, subscription.Subscriber, subscription.Stage);
            }
        }

        return applied;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Applying the reloaded configuration to {Subscriber} ({Stage}) failed; the other services got it")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string subscriber, ConfigStage stage);

    [LoggerMessage(Level = LogLevel.Error, Message = "Configuration reload from {File} failed unexpectedly; keeping the previous configuration")]
    private static partial void LogReloadCrashed(ILogger logger, string file, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Configuration reload from {File} failed with {Count} error(s); keeping the previous configuration:\n{Errors}")]
    private static partial void LogReloadFailed(ILogger logger, string file, int count, string errors);

    [LoggerMessage(Level = LogLevel.Information, Message = "Configuration reloaded from {File}: {Tunnels} tunnel(s), {Sources} source(s)")]
    private static partial void LogReloaded(ILogger logger, string file, int tunnels, int sources);

    private sealed class Subscription(ConfigStore store, ConfigStage stage, string subscriber, Action<ExporterConfig, ExporterConfig> handler) : IDisposable
    {
        public ConfigStage Stage { get; } = stage;

        public string Subscriber { get; } = subscriber;

        public Action<ExporterConfig, ExporterConfig> Handler { get; } = handler;

        public void Dispose()
        {
            lock (store._subscriptions)
            {
                store._subscriptions.Remove(this);
            }
        }
    }
}

/// <summary>
/// The order in which services learn about a reloaded configuration: the tunnel model first (so that the next
/// snapshot of a new source already has its tunnels), then the sources, the site checks (remote gateway addresses the
/// probes aim at), the probes, the diagnosis, and last the published facts about tunnels.
/// </summary>
public enum ConfigStage
{
    TunnelModel,
    Sources,
    SiteChecks,
    Probes,
    Diagnosis,
    TunnelInfo,
}

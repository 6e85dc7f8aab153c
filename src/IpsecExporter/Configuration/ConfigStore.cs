using IpsecExporter.Metrics;

namespace IpsecExporter.Configuration;

/// <summary>
/// Holds the configuration in force. A reload swaps it only when the new file is valid; an invalid file is logged
/// with every error and the old configuration keeps running. <c>ipsec_exporter_config_last_reload_successful</c>
/// says which happened last.
/// </summary>
public sealed partial class ConfigStore
{
    private readonly ConfigLoader _loader;
    private readonly ExporterMetrics _metrics;
    private readonly ILogger<ConfigStore> _logger;
    private readonly Lock _reloadLock = new();

    public ConfigStore(ExporterConfig initial, ConfigLoader loader, ExporterMetrics metrics, ILogger<ConfigStore> logger)
    {
        Current = initial;
        _loader = loader;
        _metrics = metrics;
        _logger = logger;
        _metrics.ConfigLastReloadSuccessful.Set(1);
    }

    /// <summary>Raised after a valid new configuration replaced the old one: (old, new).</summary>
    public event Action<ExporterConfig, ExporterConfig>? Changed;

    public ExporterConfig Current { get; private set; }

    /// <summary>Re-reads the file the current configuration came from. Returns the errors, empty on success.</summary>
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
                _metrics.ConfigLastReloadSuccessful.Set(0);
                LogReloadFailed(_logger, Current.FilePath, e.Errors.Count, e.Message);
                return e.Errors;
            }

            var old = Current;
            Current = next;
            _metrics.ConfigLastReloadSuccessful.Set(1);
            LogReloaded(_logger, next.FilePath, next.Tunnels.Count, next.Sources.Count);
            Changed?.Invoke(old, next);
            return [];
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Configuration reload from {File} failed with {Count} error(s); keeping the previous configuration:\n{Errors}")]
    private static partial void LogReloadFailed(ILogger logger, string file, int count, string errors);

    [LoggerMessage(Level = LogLevel.Information, Message = "Configuration reloaded from {File}: {Tunnels} tunnel(s), {Sources} source(s)")]
    private static partial void LogReloaded(ILogger logger, string file, int tunnels, int sources);
}

using System.Runtime.InteropServices;

namespace IpsecExporter.Configuration;

/// <summary>Reloads the configuration on SIGHUP and when the file changes on disk (debounced: editors write in bursts).</summary>
public sealed partial class ConfigReloadService(ConfigStore store, TimeProvider timeProvider, ILogger<ConfigReloadService> logger) : IHostedService, IDisposable
{
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(500);
    private PosixSignalRegistration? _sighup;
    private FileSystemWatcher? _watcher;
    private ITimer? _debounceTimer;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            LogSignal(logger);
            store.Reload();
        });

        var path = store.Current.FilePath;
        _debounceTimer = timeProvider.CreateTimer(_ => store.Reload(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        // Watch the directory, not the file: editors and Kubernetes ConfigMaps replace files by rename.
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(path)!)
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
            IncludeSubdirectories = false,
        };
        var fileName = Path.GetFileName(path);
        FileSystemEventHandler onChange = (_, e) =>
        {
            if (string.Equals(e.Name, fileName, StringComparison.Ordinal) || e.Name?.StartsWith("..", StringComparison.Ordinal) == true)
            {
                _debounceTimer.Change(Debounce, Timeout.InfiniteTimeSpan);
            }
        };
        _watcher.Changed += onChange;
        _watcher.Created += onChange;
        _watcher.Renamed += (s, e) => onChange(s, e);
        _watcher.EnableRaisingEvents = true;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _sighup?.Dispose();
        _sighup = null;
        _watcher?.Dispose();
        _watcher = null;
        _debounceTimer?.Dispose();
        _debounceTimer = null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "SIGHUP received: reloading configuration")]
    private static partial void LogSignal(ILogger logger);
}

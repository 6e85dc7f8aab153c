using System.Runtime.InteropServices;
using IpsecExporter.Web;

namespace IpsecExporter.Configuration;

/// <summary>
/// Reloads the configuration and the web config on SIGHUP, and each when its files change on disk (the web config's
/// certificate, key and client CA files included, so a rotated certificate is served without a restart).
/// </summary>
public sealed partial class ConfigReloadService(ConfigStore store, WebConfigStore web, TimeProvider timeProvider, ILogger<ConfigReloadService> logger) : IHostedService, IDisposable
{
    private readonly Lock _lock = new();
    private PosixSignalRegistration? _sighup;
    private FileChangeWatcher? _configWatcher;
    private FileChangeWatcher? _webWatcher;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            LogSignal(logger);
            store.Reload();
            web.Reload();
        });

        _configWatcher = new FileChangeWatcher([store.Current.FilePath], timeProvider, () => store.Reload());
        web.Changed += WatchWebFiles;
        WatchWebFiles(web.Current);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        web.Changed -= WatchWebFiles;
        _sighup?.Dispose();
        _sighup = null;
        _configWatcher?.Dispose();
        _configWatcher = null;
        lock (_lock)
        {
            _webWatcher?.Dispose();
            _webWatcher = null;
        }
    }

    /// <summary>A reloaded web config may name other certificate files: watch those from now on.</summary>
    private void WatchWebFiles(WebSecurity current)
    {
        if (current.Config.Files.Count == 0)
        {
            return;
        }

        lock (_lock)
        {
            _webWatcher?.Dispose();
            _webWatcher = new FileChangeWatcher(current.Config.Files, timeProvider, () => web.Reload());
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "SIGHUP received: reloading configuration")]
    private static partial void LogSignal(ILogger logger);
}

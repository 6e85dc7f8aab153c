namespace IpsecExporter.Configuration;

/// <summary>
/// Calls back once after a burst of changes to any of a set of files (editors and Kubernetes ConfigMaps write in
/// bursts, and replace files by rename, so the directories are watched, not the files).
/// </summary>
public sealed class FileChangeWatcher : IDisposable
{
    public static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(500);

    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly ITimer _debounceTimer;

    public FileChangeWatcher(IEnumerable<string> files, TimeProvider timeProvider, Action onChange)
    {
        _debounceTimer = timeProvider.CreateTimer(_ => onChange(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        foreach (var directory in files.Select(Path.GetFullPath).GroupBy(f => Path.GetDirectoryName(f)!, StringComparer.Ordinal))
        {
            var names = directory.Select(Path.GetFileName).ToHashSet(StringComparer.Ordinal);
            var watcher = new FileSystemWatcher(directory.Key)
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
                IncludeSubdirectories = false,
            };
            FileSystemEventHandler changed = (_, e) =>
            {
                // "..data" and friends: a Kubernetes ConfigMap swaps a symlinked directory.
                if ((e.Name is not null && names.Contains(e.Name)) || e.Name?.StartsWith("..", StringComparison.Ordinal) == true)
                {
                    _debounceTimer.Change(Debounce, Timeout.InfiniteTimeSpan);
                }
            };
            watcher.Changed += changed;
            watcher.Created += changed;
            watcher.Renamed += (s, e) => changed(s, e);
            watcher.EnableRaisingEvents = true;
            _watchers.Add(watcher);
        }
    }

    public void Dispose()
    {
        foreach (var watcher in _watchers)
        {
            watcher.Dispose();
        }

        _debounceTimer.Dispose();
    }
}

using IpsecExporter.Configuration;
using IpsecExporter.Sources;

namespace IpsecExporter.Tests.Support;

/// <summary>Every collection result a <see cref="SourceCollector"/> hands on, in order, and the sources it removed.</summary>
public sealed class RecordingObserver : ISnapshotObserver
{
    public List<(string Source, SaSnapshot? Snapshot)> Seen { get; } = [];

    public List<string> Removed { get; } = [];

    /// <summary>What the last collection of <paramref name="source"/> handed on: its snapshot, null when it failed.</summary>
    public SaSnapshot? Last(string source)
    {
        lock (Seen)
        {
            return Seen.Last(s => s.Source == source).Snapshot;
        }
    }

    public void OnCollected(SourceConfig source, SaSnapshot? snapshot)
    {
        lock (Seen)
        {
            Seen.Add((source.Name, snapshot));
        }
    }

    public void OnRemoved(string sourceName) => Removed.Add(sourceName);
}

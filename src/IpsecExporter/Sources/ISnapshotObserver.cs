using IpsecExporter.Configuration;

namespace IpsecExporter.Sources;

/// <summary>Told about every collection of every source (the tunnel model, diagnosis). Must be quick and not throw.</summary>
public interface ISnapshotObserver
{
    /// <summary><paramref name="snapshot"/> is null when the collection failed.</summary>
    void OnCollected(SourceConfig source, SaSnapshot? snapshot);

    /// <summary>The source is no longer configured; forget what was kept for it.</summary>
    void OnRemoved(string sourceName);
}

namespace IpsecExporter.Metrics;

/// <summary>
/// An owner of state that <c>/metrics</c> shows: writes its families when Prometheus scrapes, from the last snapshot it
/// published (an immutable object swapped after each collection or probe round), so a scrape never waits on a
/// collection and a tunnel, pair or target that is gone is simply not written. Registered with
/// <see cref="MetricsServiceCollectionExtensions.AddMetricsContributor{T}"/>.
/// </summary>
public interface IMetricsContributor
{
    /// <summary>
    /// Writes every family this owner has (headers too when it has no series yet), awaiting
    /// <see cref="MetricsWriter.FlushIfFullAsync"/> after each series or tunnel so a hub's exposition goes out in chunks;
    /// awaits nothing else (no lock, no I/O).
    /// </summary>
    ValueTask WriteAsync(MetricsWriter writer, CancellationToken cancellationToken);
}

namespace IpsecExporter.Metrics;

/// <summary>
/// An owner of state that <c>/metrics</c> shows: writes its families when Prometheus scrapes, from the last snapshot it
/// published (an immutable object swapped after each collection or probe round), so a scrape never waits on a
/// collection and a tunnel, pair or target that is gone is simply not written. Registered with
/// <see cref="MetricsServiceCollectionExtensions.AddMetricsContributor{T}"/>.
/// </summary>
public interface IMetricsContributor
{
    /// <summary>Writes every family this owner has (headers too when it has no series yet); must not block.</summary>
    void Write(MetricsWriter writer);
}

using IpsecExporter.Metrics;

namespace IpsecExporter.Tests.Monitoring;

/// <summary>A metric family of the exporter, as its TYPE line in <c>/metrics</c> declares it.</summary>
internal sealed record MetricFamily(string Name, string Type)
{
    /// <summary>The series names of the family: a histogram's are <c>_bucket</c>, <c>_sum</c> and <c>_count</c>.</summary>
    public IEnumerable<string> SeriesNames => Type == "histogram" ? [Name + "_bucket", Name + "_sum", Name + "_count"] : [Name];
}

/// <summary>What the exporter can expose: a rendered registry (TYPE lines are there even without series) and the scrape-time families.</summary>
internal static class ExportedMetrics
{
    public static async Task<IReadOnlyList<MetricFamily>> FamiliesAsync()
    {
        var text = await new MetricsExposition(new ExporterMetrics("test"), []).RenderAsync();
        return text.Split('\n')
            .Select(line => line.Split(' '))
            .Where(parts => parts is ["#", "TYPE", _, _])
            .Select(parts => new MetricFamily(parts[2], parts[3]))
            .Concat(MetricFamilies.All.Select(f => new MetricFamily(f.Name, f.Kind.ToString().ToLowerInvariant())))
            .ToList();
    }

    public static async Task<IReadOnlySet<string>> NamesAsync() =>
        (await FamiliesAsync()).SelectMany(f => f.SeriesNames).ToHashSet(StringComparer.Ordinal);
}

using System.Globalization;

namespace IpsecExporter.Tests.Support;

/// <summary>Reads samples out of Prometheus text as <c>ExporterMetrics.RenderAsync</c> renders it.</summary>
public static class MetricsText
{
    /// <summary>The value of <paramref name="series"/> (name and labels exactly as rendered), or null when absent.</summary>
    public static double? Value(string text, string series)
    {
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return null;
    }
}

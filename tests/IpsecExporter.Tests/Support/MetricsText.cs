using System.Buffers;
using System.Globalization;
using System.Text;
using IpsecExporter.Metrics;

namespace IpsecExporter.Tests.Support;

/// <summary>Reads samples out of Prometheus text as <c>/metrics</c> renders it.</summary>
public static class MetricsText
{
    /// <summary>The families of <paramref name="owners"/> in the Prometheus text format, as a scrape writes them.</summary>
    public static string Render(params IMetricsContributor[] owners)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var written = MetricsExposition.WriteAsync(new MetricsWriter(buffer, MetricsFormat.PrometheusText), owners, CancellationToken.None);
        // Into memory nothing is flushed, and contributors await nothing else: the loop completes synchronously.
        Assert.True(written.IsCompletedSuccessfully, "a contributor awaited something other than the writer's flush");
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

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

    /// <summary>The value of the series of <paramref name="family"/> with these label values (in the family's order), or null.</summary>
    public static double? Value(string text, MetricFamily family, params string[] labelValues) =>
        Value(text, family.Name + (labelValues.Length == 0 ? "" : "{" + Encoding.UTF8.GetString(family.Labels.Values(labelValues).Encoded) + "}"));

    /// <summary>The value of a series of <paramref name="owner"/>'s family, rendered now; null when absent.</summary>
    public static double? Value(IMetricsContributor owner, MetricFamily family, params string[] labelValues) =>
        Value(Render(owner), family, labelValues);

    /// <summary>The label values (in the family's order) of every sample of <paramref name="family"/> in <paramref name="text"/>.</summary>
    public static IReadOnlyList<string[]> LabelValues(string text, MetricFamily family)
    {
        var prefix = family.Name + "{";
        return text.Split('\n')
            .Where(line => line.StartsWith(prefix, StringComparison.Ordinal))
            .Select(line => ParseLabels(line[prefix.Length..]))
            .Select(labels => family.Labels.Names.Select(name => labels[name]).ToArray())
            .ToList();
    }

    /// <summary>Parses <c>a="x",b="y\"z"} value</c> (after the opening brace) into label values, unescaped.</summary>
    private static Dictionary<string, string> ParseLabels(string text)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var i = 0;
        while (text[i] != '}')
        {
            var equals = text.IndexOf('=', i);
            var name = text[i..equals];
            var value = new StringBuilder();
            for (i = equals + 2; text[i] != '"'; i++)
            {
                if (text[i] == '\\')
                {
                    i++;
                    value.Append(text[i] == 'n' ? '\n' : text[i]);
                }
                else
                {
                    value.Append(text[i]);
                }
            }

            labels[name] = value.ToString();
            i++;
            if (text[i] == ',')
            {
                i++;
            }
        }

        return labels;
    }
}

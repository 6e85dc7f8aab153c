namespace IpsecExporter.Metrics;

/// <summary>
/// A few series of one label set, a value each, that their owner keeps between scrapes (a tunnel's checks):
/// laid out as a <see cref="SeriesTable"/> lays out a scrape's, the label bytes back to back, which
/// <see cref="MetricsWriter.Samples(SeriesBlock)"/> reads in order. Immutable; at hub scale a line's own label
/// object was a cache miss per line (docs/PERFORMANCE.md). Unlike a table, made once and kept: each of these series
/// is in one family, so gathering them at scrape time would only copy them once more.
/// </summary>
public sealed class SeriesBlock
{
    public SeriesBlock(LabelNames names, ReadOnlySpan<MetricLabels> labels, double[] values)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(values.Length, labels.Length, nameof(values));
        var ends = new int[labels.Length];
        var length = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            if (!ReferenceEquals(labels[i].Names, names))
            {
                throw new ArgumentException($"labels ({string.Join(", ", labels[i].Names.Names)}) do not fit the block ({string.Join(", ", names.Names)})", nameof(labels));
            }

            length += labels[i].Encoded.Length;
            ends[i] = length;
        }

        var bytes = new byte[length];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i].Encoded.CopyTo(bytes.AsSpan(i == 0 ? 0 : ends[i - 1]));
        }

        (Names, Labels, Ends, Values) = (names, bytes, ends, values);
    }

    private SeriesBlock(SeriesBlock labels, double[] values) => (Names, Labels, Ends, Values) = (labels.Names, labels.Labels, labels.Ends, values);

    public LabelNames Names { get; }

    public int Count => Values.Length;

    /// <summary>Every series' encoded labels (<c>name="value",…</c>, without braces), back to back.</summary>
    internal byte[] Labels { get; }

    /// <summary>Where each series' labels end in <see cref="Labels"/>.</summary>
    internal int[] Ends { get; }

    internal double[] Values { get; }

    /// <summary>The same series with other values (the label bytes shared).</summary>
    public SeriesBlock WithValues(double[] values)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(values.Length, Count, nameof(values));
        return new SeriesBlock(this, values);
    }
}

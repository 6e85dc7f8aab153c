using System.Buffers;
using System.Text;
using IpsecExporter.Metrics;
using Prometheus;

namespace IpsecExporter.Tests.Metrics;

/// <summary>
/// The writer renders byte for byte what prometheus-net 8 renders for the same families (the golden files were made
/// with prometheus-net), in both exposition formats.
/// </summary>
public sealed class MetricsWriterTests
{
    private static readonly double[] Values = [0, 1, -1, 0.5, 28800, 1767225610.123, 12345678901234567, 1e21, 1e-7, 0.1 + 0.2, double.NaN, 3];
    private static readonly double[] Bounds = [.. Histogram.ExponentialBuckets(0.00005, 2, 12), 1, 2.5, 10];
    private static readonly string[] LabelValues = ["plain", "quo\"te", "back\\slash", "new\nline", "", "ünïcode"];

    [Theory]
    [InlineData(MetricsFormat.PrometheusText)]
    [InlineData(MetricsFormat.OpenMetrics)]
    public async Task Counters_gauges_and_histograms_render_exactly_as_prometheus_net_renders_them(MetricsFormat format)
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        var counter = factory.CreateCounter("test_things_total", "Things counted.", ["tunnel", "pair"]);
        var gauge = factory.CreateGauge("test_level", "A level, with a \"quote\".", ["tunnel"]);
        factory.CreateGauge("test_empty", "A family without series.", ["tunnel"]);
        var unlabelled = factory.CreateGauge("test_single", "One unlabelled series.");
        var histogram = factory.CreateHistogram("test_rtt_seconds", "Round trips.", ["tunnel"], new HistogramConfiguration { Buckets = Bounds });

        var pairLabels = new LabelNames("tunnel", "pair");
        var tunnelLabels = new LabelNames("tunnel");
        var counterFamily = new MetricFamily("test_things_total", "Things counted.", MetricKind.Counter, pairLabels);
        var gaugeFamily = new MetricFamily("test_level", "A level, with a \"quote\".", MetricKind.Gauge, tunnelLabels);
        var emptyFamily = new MetricFamily("test_empty", "A family without series.", MetricKind.Gauge, tunnelLabels);
        var singleFamily = new MetricFamily("test_single", "One unlabelled series.", MetricKind.Gauge, LabelNames.None);
        var histogramFamily = new MetricFamily("test_rtt_seconds", "Round trips.", MetricKind.Histogram, tunnelLabels);
        var buckets = new HistogramBuckets(Bounds);

        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MetricsWriter(buffer, format);
        writer.Family(counterFamily);
        for (var i = 0; i < LabelValues.Length; i++)
        {
            var value = Math.Abs(Values[i % Values.Length] is var v && double.IsNaN(v) ? 7 : v);
            counter.WithLabels(LabelValues[i], i.ToString(System.Globalization.CultureInfo.InvariantCulture)).IncTo(value);
            writer.Sample(pairLabels.Values(LabelValues[i], i.ToString(System.Globalization.CultureInfo.InvariantCulture)), value);
        }

        writer.Family(gaugeFamily);
        for (var i = 0; i < Values.Length; i++)
        {
            gauge.WithLabels($"t{i}").Set(Values[i]);
            writer.Sample(tunnelLabels.Values($"t{i}"), Values[i]);
        }

        writer.Family(emptyFamily);
        writer.Family(singleFamily);
        unlabelled.Set(42.5);
        writer.Sample(LabelNames.None.Values(), 42.5);

        writer.Family(histogramFamily);
        double[][] observations = [[0.00007, 0.2, 1, 30], [], [0.00005, 0.00005, 2.5]];
        for (var i = 0; i < observations.Length; i++)
        {
            var counts = new long[Bounds.Length + 1];
            foreach (var observed in observations[i])
            {
                histogram.WithLabels($"h{i}").Observe(observed);
                counts[buckets.IndexOf(observed)]++;
            }

            histogram.WithLabels($"h{i}");
            writer.Histogram(tunnelLabels.Values($"h{i}"), buckets, counts, observations[i].Sum());
        }

        writer.End();

        using var expected = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(expected, format == MetricsFormat.OpenMetrics ? ExpositionFormat.OpenMetricsText : ExpositionFormat.PrometheusText);
        Assert.Equal(Encoding.UTF8.GetString(expected.ToArray()), Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Theory]
    [InlineData(MetricsFormat.PrometheusText)]
    [InlineData(MetricsFormat.OpenMetrics)]
    public async Task Whole_numbers_of_every_magnitude_render_exactly_as_prometheus_net_renders_them(MetricsFormat format)
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var gauge = Prometheus.Metrics.WithCustomRegistry(registry).CreateGauge("test_level", "A level.", ["i"]);
        var labels = new LabelNames("i");
        var family = new MetricFamily("test_level", "A level.", MetricKind.Gauge, labels);
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MetricsWriter(buffer, format);
        writer.Family(family);
        double[] values = [-0.0, 2, -7, 84, 1796306961, 9_007_199_254_740_993, -123_456_789_012_345, double.MaxValue, double.MinValue, 2e15 + 1];
        var powers = Enumerable.Range(0, 18).SelectMany(e => new[] { Math.Pow(10, e), Math.Pow(10, e) - 1, -Math.Pow(10, e) });
        var i = 0;
        foreach (var value in values.Concat(powers))
        {
            var name = (i++).ToString(System.Globalization.CultureInfo.InvariantCulture);
            gauge.WithLabels(name).Set(value);
            writer.Sample(labels.Values(name), value);
        }

        writer.End();

        using var expected = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(expected, format == MetricsFormat.OpenMetrics ? ExpositionFormat.OpenMetricsText : ExpositionFormat.PrometheusText);
        Assert.Equal(Encoding.UTF8.GetString(expected.ToArray()), Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Fact]
    public async Task Label_values_with_backslashes_quotes_and_newlines_together_render_escaped_as_prometheus_net_renders_them()
    {
        string[] values = ["C:\\gw \"hq\"\nline 2", "\\\"\n", "ends\\", "\nstarts", "ü\"ß"];
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var gauge = Prometheus.Metrics.WithCustomRegistry(registry).CreateGauge("test_level", "A level.", ["tunnel"]);
        var labels = new LabelNames("tunnel");
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MetricsWriter(buffer, MetricsFormat.PrometheusText);
        writer.Family(new MetricFamily("test_level", "A level.", MetricKind.Gauge, labels));
        for (var i = 0; i < values.Length; i++)
        {
            gauge.WithLabels(values[i]).Set(i);
            writer.Sample(labels.Values(values[i]), i);
        }

        writer.End();

        var written = Encoding.UTF8.GetString(buffer.WrittenSpan);
        Assert.Contains("test_level{tunnel=\"C:\\\\gw \\\"hq\\\"\\nline 2\"} 0\n", written, StringComparison.Ordinal);
        Assert.Contains("test_level{tunnel=\"\\\\\\\"\\n\"} 1\n", written, StringComparison.Ordinal);
        Assert.Contains("test_level{tunnel=\"ends\\\\\"} 2\n", written, StringComparison.Ordinal);
        Assert.Contains("test_level{tunnel=\"\\nstarts\"} 3\n", written, StringComparison.Ordinal);
        Assert.Contains("test_level{tunnel=\"ü\\\"ß\"} 4\n", written, StringComparison.Ordinal);
        using var expected = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(expected, ExpositionFormat.PrometheusText);
        Assert.Equal(Encoding.UTF8.GetString(expected.ToArray()), written);
    }

    [Fact]
    public void A_sample_must_fit_its_family()
    {
        var writer = new MetricsWriter(new ArrayBufferWriter<byte>(), MetricsFormat.PrometheusText);
        writer.Family(new MetricFamily("test_level", "A level.", MetricKind.Gauge, new LabelNames("tunnel")));

        Assert.Throws<InvalidOperationException>(() => writer.Sample(new LabelNames("tunnel").Values("t1"), 1));
        Assert.Throws<ArgumentException>(() => MetricFamilies.TunnelLabels.Values("t1", "extra"));
    }

    [Theory]
    [InlineData(MetricsFormat.PrometheusText)]
    [InlineData(MetricsFormat.OpenMetrics)]
    public async Task A_family_from_a_series_table_renders_as_its_samples_do(MetricsFormat format)
    {
        var labels = new LabelNames("tunnel", "pair");
        var first = new MetricFamily("test_first", "First column.", MetricKind.Gauge, labels);
        var second = new MetricFamily("test_second_total", "Second column.", MetricKind.Counter, labels);
        // More series and label bytes than the table was sized for, values missing in either column.
        var series = Enumerable.Range(0, 300)
            .Select(i => (Labels: labels.Values($"tunnel-{i}", new string('p', i % 70)), First: i % 3 == 0 ? (double?)null : i * 0.5, Second: i % 5 == 0 ? (double?)null : i))
            .ToList();

        var expected = new ArrayBufferWriter<byte>();
        var writer = new MetricsWriter(expected, format);
        writer.Family(first);
        series.Where(s => s.First is not null).ToList().ForEach(s => writer.Sample(s.Labels, s.First!.Value));
        writer.Family(second);
        series.Where(s => s.Second is not null).ToList().ForEach(s => writer.Sample(s.Labels, s.Second!.Value));
        writer.End();

        var actual = new ArrayBufferWriter<byte>();
        var tableWriter = new MetricsWriter(actual, format);
        using (var table = new SeriesTable(labels, 2, 4))
        {
            foreach (var (seriesLabels, firstValue, secondValue) in series)
            {
                table.Add(seriesLabels, [firstValue, secondValue]);
            }

            await tableWriter.FamilyAsync(first, table, 0, CancellationToken.None);
            await tableWriter.FamilyAsync(second, table, 1, CancellationToken.None);
        }

        tableWriter.End();

        Assert.Equal(Encoding.UTF8.GetString(expected.WrittenSpan), Encoding.UTF8.GetString(actual.WrittenSpan));
    }

    [Fact]
    public async Task A_series_table_takes_only_its_own_labels_and_families()
    {
        using var table = new SeriesTable(new LabelNames("tunnel"), 1, 1);

        Assert.Throws<InvalidOperationException>(() => table.Add(new LabelNames("tunnel").Values("t1"), [1]));
        var writer = new MetricsWriter(new ArrayBufferWriter<byte>(), MetricsFormat.PrometheusText);
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await writer.FamilyAsync(new MetricFamily("test_level", "A level.", MetricKind.Gauge, new LabelNames("tunnel")), table, 0, CancellationToken.None));
    }
}

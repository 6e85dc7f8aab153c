using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;

namespace IpsecExporter.Metrics;

/// <summary>The two exposition formats <c>/metrics</c> speaks.</summary>
public enum MetricsFormat
{
    /// <summary>Prometheus text format 0.0.4.</summary>
    PrometheusText,

    /// <summary>OpenMetrics 1.0 text: counter families named without <c>_total</c>, floats with a dot, <c># EOF</c>.</summary>
    OpenMetrics,
}

public enum MetricKind
{
    Counter,
    Gauge,
    Histogram,
}

/// <summary>The label names of a family; series made from it (<see cref="Values"/>) can only be written to families with these names.</summary>
public sealed class LabelNames
{
    public LabelNames(params string[] names) => Names = names;

    public static LabelNames None { get; } = new();

    public IReadOnlyList<string> Names { get; }

    /// <summary>The series of these label values: escaped and encoded once, so a scrape only copies bytes.</summary>
    public MetricLabels Values(params string[] values) => new(this, values);
}

/// <summary>The label values of one series, rendered once as <c>name="value",…</c> (without braces).</summary>
public sealed class MetricLabels
{
    internal MetricLabels(LabelNames names, string[] values)
    {
        if (values.Length != names.Names.Count)
        {
            throw new ArgumentException($"expected {names.Names.Count} label values ({string.Join(", ", names.Names)}), got {values.Length}", nameof(values));
        }

        Names = names;
        var text = new StringBuilder();
        for (var i = 0; i < values.Length; i++)
        {
            text.Append(i > 0 ? "," : "").Append(names.Names[i]).Append("=\"");
            foreach (var c in values[i])
            {
                text.Append(c switch { '\\' => "\\\\", '"' => "\\\"", '\n' => "\\n", _ => c.ToString() });
            }

            text.Append('"');
        }

        Encoded = Encoding.UTF8.GetBytes(text.ToString());
    }

    public LabelNames Names { get; }

    internal byte[] Encoded { get; }
}

/// <summary>A metric family's name, help and type, with its header lines encoded once per format.</summary>
public sealed class MetricFamily
{
    public MetricFamily(string name, string help, MetricKind kind, LabelNames labels)
    {
        Name = name;
        Help = help;
        Kind = kind;
        Labels = labels;
        NameBytes = Encoding.UTF8.GetBytes(name);
        var type = kind.ToString().ToLowerInvariant();
        var escapedHelp = help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
        // OpenMetrics names a counter family without its _total suffix; its samples keep it.
        var openMetricsName = kind == MetricKind.Counter && name.EndsWith("_total", StringComparison.Ordinal) ? name[..^6] : name;
        PrometheusHeader = Encoding.UTF8.GetBytes($"# HELP {name} {escapedHelp}\n# TYPE {name} {type}\n");
        OpenMetricsHeader = Encoding.UTF8.GetBytes($"# HELP {openMetricsName} {escapedHelp}\n# TYPE {openMetricsName} {type}\n");
    }

    public string Name { get; }

    public string Help { get; }

    public MetricKind Kind { get; }

    public LabelNames Labels { get; }

    internal byte[] NameBytes { get; }

    internal byte[] PrometheusHeader { get; }

    internal byte[] OpenMetricsHeader { get; }
}

/// <summary>
/// Bucket bounds of a histogram family, with their <c>le</c> label texts encoded once per format (fixed for the process).
/// </summary>
public sealed class HistogramBuckets
{
    public HistogramBuckets(IReadOnlyList<double> bounds)
    {
        Bounds = bounds;
        PrometheusLe = [.. bounds.Select(b => Encoding.UTF8.GetBytes(FormatLe(b, MetricsFormat.PrometheusText))), "+Inf"u8.ToArray()];
        OpenMetricsLe = [.. bounds.Select(b => Encoding.UTF8.GetBytes(FormatLe(b, MetricsFormat.OpenMetrics))), "+Inf"u8.ToArray()];
    }

    public IReadOnlyList<double> Bounds { get; }

    internal byte[][] PrometheusLe { get; }

    internal byte[][] OpenMetricsLe { get; }

    /// <summary>The index of the bucket (the last is +Inf) that counts <paramref name="value"/>.</summary>
    public int IndexOf(double value)
    {
        for (var i = 0; i < Bounds.Count; i++)
        {
            if (value <= Bounds[i])
            {
                return i;
            }
        }

        return Bounds.Count;
    }

    private static string FormatLe(double bound, MetricsFormat format)
    {
        var text = bound.ToString("g", CultureInfo.InvariantCulture);
        return format == MetricsFormat.OpenMetrics && text.AsSpan().IndexOfAny('.', 'e') < 0 ? text + ".0" : text;
    }
}

/// <summary>
/// Writes metric families in the Prometheus text format 0.0.4 or OpenMetrics 1.0, as UTF-8, formatting numbers exactly
/// as prometheus-net 8 does (the golden files of the tests compare bytes): doubles in the shortest round-trip "g" form
/// (<c>28800</c>, <c>1e-07</c>), in OpenMetrics with a <c>.0</c> when that form has neither dot nor exponent; histogram
/// counts as integers; a histogram's <c>_sum</c> and <c>_count</c> before its cumulative <c>_bucket</c> lines.
/// The text is gathered in a pooled chunk and handed to <paramref name="output"/> a chunk at a time (a response's
/// writer takes a lock per call). Into a <see cref="PipeWriter"/> (a response body) it goes out as it fills:
/// <see cref="FlushIfFullAsync"/>, called by writers between series, flushes once <see cref="ChunkBytes"/> are
/// buffered, so a scrape holds about one chunk whatever the exposition's size. Into any other buffer it stays in
/// memory; <see cref="End"/> hands over the rest.
/// </summary>
public sealed class MetricsWriter(IBufferWriter<byte> output, MetricsFormat format)
{
    /// <summary>What a scrape buffers before it flushes to the response.</summary>
    public const int ChunkBytes = 64 * 1024;

    // Room past ChunkBytes for the series that crosses it; a longer write goes to the output directly.
    private const int ChunkCapacity = 2 * ChunkBytes;

    // Formatted numbers are written in place and need this much room.
    private const int NumberBytes = 32;

    private readonly PipeWriter? _pipe = output as PipeWriter;
    private byte[]? _chunk;
    private int _position;
    private int _handedOver;
    private MetricFamily? _family;

    public MetricsFormat Format { get; } = format;

    /// <summary>Starts a family: its HELP and TYPE lines (written even when no series follows, as prometheus-net does).</summary>
    public void Family(MetricFamily family)
    {
        _family = family;
        Write(Format == MetricsFormat.OpenMetrics ? family.OpenMetricsHeader : family.PrometheusHeader);
    }

    /// <summary>One counter or gauge sample of the current family.</summary>
    public void Sample(MetricLabels labels, double value)
    {
        var family = Current(labels, histogram: false);
        Write(family.NameBytes);
        WriteLabels(labels, null);
        WriteDouble(value);
        Write("\n"u8);
    }

    /// <summary>One histogram series of the current family: per-bucket (not cumulative) counts, the last one +Inf.</summary>
    public void Histogram(MetricLabels labels, HistogramBuckets buckets, ReadOnlySpan<long> bucketCounts, double sum)
    {
        var family = Current(labels, histogram: true);
        long count = 0;
        foreach (var bucket in bucketCounts)
        {
            count += bucket;
        }

        Write(family.NameBytes);
        Write("_sum"u8);
        WriteLabels(labels, null);
        WriteDouble(sum);
        Write("\n"u8);
        Write(family.NameBytes);
        Write("_count"u8);
        WriteLabels(labels, null);
        WriteLong(count);
        Write("\n"u8);
        var le = Format == MetricsFormat.OpenMetrics ? buckets.OpenMetricsLe : buckets.PrometheusLe;
        long cumulative = 0;
        for (var i = 0; i < bucketCounts.Length; i++)
        {
            cumulative += bucketCounts[i];
            Write(family.NameBytes);
            Write("_bucket"u8);
            WriteLabels(labels, le[i]);
            WriteLong(cumulative);
            Write("\n"u8);
        }
    }

    /// <summary>Exposition text written elsewhere (prometheus-net's own registry), copied as it is.</summary>
    public void Raw(ReadOnlySpan<byte> text)
    {
        _family = null;
        Write(text);
    }

    /// <summary>
    /// Ends the exposition (OpenMetrics requires exactly one <c># EOF</c> line, last) and hands what is buffered to the
    /// output; a pipe still needs <see cref="FlushAsync"/>.
    /// </summary>
    public void End()
    {
        _family = null;
        if (Format == MetricsFormat.OpenMetrics)
        {
            Write("# EOF\n"u8);
        }

        HandOver();
        if (_chunk is not null)
        {
            ArrayPool<byte>.Shared.Return(_chunk);
            _chunk = null;
        }
    }

    /// <summary>Flushes what is buffered to the response once it is a chunk; call it between series, never inside one.</summary>
    public ValueTask FlushIfFullAsync(CancellationToken cancellationToken) =>
        _pipe is not null && _position + _handedOver >= ChunkBytes ? FlushAsync(cancellationToken) : ValueTask.CompletedTask;

    /// <summary>Hands what is buffered to the output and flushes it to the response (a pipe; nothing more otherwise).</summary>
    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        HandOver();
        _handedOver = 0;
        if (_pipe is not null)
        {
            await _pipe.FlushAsync(cancellationToken);
        }
    }

    private MetricFamily Current(MetricLabels labels, bool histogram)
    {
        var family = _family ?? throw new InvalidOperationException("a sample needs a family first");
        if ((family.Kind == MetricKind.Histogram) != histogram || !ReferenceEquals(labels.Names, family.Labels))
        {
            throw new InvalidOperationException($"sample does not fit family {family.Name}");
        }

        return family;
    }

    private void WriteLabels(MetricLabels labels, byte[]? le)
    {
        if (labels.Encoded.Length == 0 && le is null)
        {
            Write(" "u8);
            return;
        }

        Write("{"u8);
        Write(labels.Encoded);
        if (le is not null)
        {
            Write(labels.Encoded.Length > 0 ? ",le=\""u8 : "le=\""u8);
            Write(le);
            Write("\""u8);
        }

        Write("} "u8);
    }

    private void WriteDouble(double value)
    {
        if (Format == MetricsFormat.OpenMetrics)
        {
            switch (value)
            {
                case 0:
                    Write("0.0"u8);
                    return;
                case 1:
                    Write("1.0"u8);
                    return;
                case -1:
                    Write("-1.0"u8);
                    return;
            }
        }

        if (double.IsInfinity(value))
        {
            Write(value > 0 ? "+Inf"u8 : "-Inf"u8);
            return;
        }

        // Whole numbers below 1e15 (counters, counts, most gauges) are what "g" prints for them, without its
        // shortest-round-trip search; -0 keeps its sign through "g".
        if (Math.Abs(value) < 1e15 && value == Math.Truncate(value) && !(value == 0 && double.IsNegative(value)))
        {
            WriteLong((long)value);
            if (Format == MetricsFormat.OpenMetrics)
            {
                Write(".0"u8);
            }

            return;
        }

        var span = Room(NumberBytes);
        if (!value.TryFormat(span, out var written, "g", CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException($"cannot format {value}");
        }

        var needsDot = Format == MetricsFormat.OpenMetrics && !double.IsNaN(value) && span[..written].IndexOfAny((byte)'.', (byte)'e') < 0;
        Advance(written);
        if (needsDot)
        {
            Write(".0"u8);
        }
    }

    private void WriteLong(long value)
    {
        value.TryFormat(Room(NumberBytes), out var written, default, CultureInfo.InvariantCulture);
        Advance(written);
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > ChunkCapacity)
        {
            HandOver();
            output.Write(bytes);
            _handedOver += bytes.Length;
            return;
        }

        bytes.CopyTo(Room(bytes.Length));
        Advance(bytes.Length);
    }

    /// <summary>At least <paramref name="bytes"/> (at most <see cref="ChunkCapacity"/>) free in the chunk.</summary>
    private Span<byte> Room(int bytes)
    {
        _chunk ??= ArrayPool<byte>.Shared.Rent(ChunkCapacity);
        if (_chunk.Length - _position < bytes)
        {
            HandOver();
        }

        return _chunk.AsSpan(_position);
    }

    private void Advance(int bytes) => _position += bytes;

    /// <summary>Copies the chunk into the output (one call, unflushed) and starts it again.</summary>
    private void HandOver()
    {
        if (_position > 0)
        {
            output.Write(_chunk.AsSpan(0, _position));
            _handedOver += _position;
            _position = 0;
        }
    }
}

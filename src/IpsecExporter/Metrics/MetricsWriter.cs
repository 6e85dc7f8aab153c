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

/// <summary>
/// The label values of one series, rendered once as <c>name="value",…</c> (without braces). A value, not an object:
/// held in its owner's arrays and records, a line's labels cost one read (the bytes) instead of two (an object, then
/// its bytes), which at hub scale are cache misses (docs/PERFORMANCE.md). Two are equal when made by the same call.
/// </summary>
public readonly struct MetricLabels : IEquatable<MetricLabels>
{
    /// <summary>The text format's label value escapes: a backslash before <c>\</c> and <c>"</c>, and <c>\n</c> for a newline.</summary>
    private static readonly SearchValues<char> Escaped = SearchValues.Create("\\\"\n");

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
            AppendEscaped(text, values[i]);
            text.Append('"');
        }

        Encoded = Encoding.UTF8.GetBytes(text.ToString());
    }

    public LabelNames Names { get; }

    internal byte[] Encoded { get; }

    public static bool operator ==(MetricLabels left, MetricLabels right) => left.Equals(right);

    public static bool operator !=(MetricLabels left, MetricLabels right) => !left.Equals(right);

    public bool Equals(MetricLabels other) => ReferenceEquals(Encoded, other.Encoded) && ReferenceEquals(Names, other.Names);

    public override bool Equals(object? obj) => obj is MetricLabels other && Equals(other);

    public override int GetHashCode() => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(Encoded);

    /// <summary>Appends <paramref name="value"/> escaped, the runs between escapes as they are (no string per character).</summary>
    private static void AppendEscaped(StringBuilder text, ReadOnlySpan<char> value)
    {
        for (var next = value.IndexOfAny(Escaped); next >= 0; next = value.IndexOfAny(Escaped))
        {
            text.Append(value[..next]).Append('\\').Append(value[next] == '\n' ? 'n' : value[next]);
            value = value[(next + 1)..];
        }

        text.Append(value);
    }
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

    // A value is formatted in place and needs this much room: the number, OpenMetrics' ".0", the newline.
    private const int ValueBytes = 32 + 3;

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
        LineStart(family.NameBytes, default, labels.Encoded, default);
        WriteValue(value);
    }

    /// <summary>A sample of the current family for each series of <paramref name="block"/>, in its order.</summary>
    public void Samples(SeriesBlock block)
    {
        var family = _family ?? throw new InvalidOperationException("a sample needs a family first");
        if (family.Kind == MetricKind.Histogram || !ReferenceEquals(block.Names, family.Labels))
        {
            throw new InvalidOperationException($"series do not fit family {family.Name}");
        }

        var labels = block.Labels.AsSpan();
        var start = 0;
        for (var i = 0; i < block.Count; i++)
        {
            var end = block.Ends[i];
            LineStart(family.NameBytes, default, labels[start..end], default);
            WriteValue(block.Values[i]);
            start = end;
        }
    }

    /// <summary>
    /// A whole family: its header, then a line for each series of <paramref name="series"/> that has a value in
    /// <paramref name="column"/>, in the table's order, flushing as chunks fill.
    /// </summary>
    public async ValueTask FamilyAsync(MetricFamily family, SeriesTable series, int column, CancellationToken cancellationToken)
    {
        Family(family);
        if (family.Kind == MetricKind.Histogram || !ReferenceEquals(series.Names, family.Labels))
        {
            throw new InvalidOperationException($"series do not fit family {family.Name}");
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)column, (uint)series.Columns, nameof(column));
        for (var index = 0; index < series.Count;)
        {
            index = WriteSamples(family, series, column, index);
            await FlushIfFullAsync(cancellationToken);
        }
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

        var name = family.NameBytes;
        var encoded = labels.Encoded;
        LineStart(name, "_sum"u8, encoded, default);
        WriteValue(sum);
        LineStart(name, "_count"u8, encoded, default);
        WriteValue(count);
        var le = Format == MetricsFormat.OpenMetrics ? buckets.OpenMetricsLe : buckets.PrometheusLe;
        long cumulative = 0;
        for (var i = 0; i < bucketCounts.Length; i++)
        {
            cumulative += bucketCounts[i];
            LineStart(name, "_bucket"u8, encoded, le[i]);
            WriteValue(cumulative);
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

    /// <summary>The samples of <paramref name="series"/> from <paramref name="index"/> on until a chunk is full; the next index.</summary>
    private int WriteSamples(MetricFamily family, SeriesTable series, int column, int index)
    {
        var name = family.NameBytes;
        for (; index < series.Count; index++)
        {
            if (series.TryGetValue(index, column, out var value))
            {
                LineStart(name, default, series.Labels(index), default);
                WriteValue(value);
                if (_pipe is not null && _position + _handedOver >= ChunkBytes)
                {
                    return index + 1;
                }
            }
        }

        return index;
    }

    /// <summary>
    /// A sample line up to its value: <c>name suffix{labels,le="…"} </c> (without braces when there are no labels),
    /// copied into the chunk in one piece.
    /// </summary>
    private void LineStart(ReadOnlySpan<byte> name, ReadOnlySpan<byte> suffix, ReadOnlySpan<byte> labels, ReadOnlySpan<byte> le)
    {
        var braces = labels.Length > 0 || le.Length > 0;
        // {} and the space, ,le="" around the bucket bound.
        var length = name.Length + suffix.Length + labels.Length + (braces ? 3 : 1) + (le.Length > 0 ? le.Length + 6 : 0);
        if (length > ChunkCapacity)
        {
            Write(name);
            Write(suffix);
            Write(braces ? "{"u8 : " "u8);
            Write(labels);
            if (le.Length > 0)
            {
                Write(labels.Length > 0 ? ",le=\""u8 : "le=\""u8);
                Write(le);
                Write("\""u8);
            }

            Write(braces ? "} "u8 : ""u8);
            return;
        }

        var span = Room(length);
        name.CopyTo(span);
        var at = name.Length;
        suffix.CopyTo(span[at..]);
        at += suffix.Length;
        if (!braces)
        {
            span[at] = (byte)' ';
            Advance(at + 1);
            return;
        }

        span[at++] = (byte)'{';
        labels.CopyTo(span[at..]);
        at += labels.Length;
        if (le.Length > 0)
        {
            var opening = labels.Length > 0 ? ",le=\""u8 : "le=\""u8;
            opening.CopyTo(span[at..]);
            at += opening.Length;
            le.CopyTo(span[at..]);
            at += le.Length;
            span[at++] = (byte)'"';
        }

        span[at++] = (byte)'}';
        span[at++] = (byte)' ';
        Advance(at);
    }

    /// <summary>A sample's value and the end of its line.</summary>
    private void WriteValue(double value)
    {
        var span = Room(ValueBytes);
        var written = FormatDouble(span, value);
        span[written] = (byte)'\n';
        Advance(written + 1);
    }

    /// <summary>A sample's whole-number value (a histogram count) and the end of its line.</summary>
    private void WriteValue(long value)
    {
        var span = Room(ValueBytes);
        value.TryFormat(span, out var written, default, CultureInfo.InvariantCulture);
        span[written] = (byte)'\n';
        Advance(written + 1);
    }

    private int FormatDouble(Span<byte> span, double value)
    {
        var openMetrics = Format == MetricsFormat.OpenMetrics;
        if (openMetrics)
        {
            switch (value)
            {
                case 0:
                    return Copy("0.0"u8, span);
                case 1:
                    return Copy("1.0"u8, span);
                case -1:
                    return Copy("-1.0"u8, span);
            }
        }

        if (double.IsInfinity(value))
        {
            return Copy(value > 0 ? "+Inf"u8 : "-Inf"u8, span);
        }

        int written;
        // Whole numbers below 1e15 (counters, counts, most gauges) are what "g" prints for them, without its
        // shortest-round-trip search; -0 keeps its sign through "g".
        if (Math.Abs(value) < 1e15 && value == Math.Truncate(value) && !(value == 0 && double.IsNegative(value)))
        {
            ((long)value).TryFormat(span, out written, default, CultureInfo.InvariantCulture);
            return openMetrics ? written + Copy(".0"u8, span[written..]) : written;
        }

        if (!value.TryFormat(span, out written, "g", CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException($"cannot format {value}");
        }

        var needsDot = openMetrics && !double.IsNaN(value) && span[..written].IndexOfAny((byte)'.', (byte)'e') < 0;
        return needsDot ? written + Copy(".0"u8, span[written..]) : written;

        static int Copy(ReadOnlySpan<byte> text, Span<byte> span)
        {
            text.CopyTo(span);
            return text.Length;
        }
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

using System.Buffers;

namespace IpsecExporter.Metrics;

/// <summary>
/// The series of several families that share their label sets (a family per column, a line per series that has a
/// value in it), gathered for one scrape: every series' label bytes copied back to back into one pooled block and
/// its values into another, in the order they are added. <see cref="MetricsWriter.FamilyAsync"/> then writes a
/// family by reading both in order. At hub scale, reading a line's labels and value from the series' own objects
/// cost several cache misses per line and was most of a scrape's CPU (docs/PERFORMANCE.md); gathered, each series'
/// objects are read once for all its families.
/// </summary>
public sealed class SeriesTable : IDisposable
{
    private byte[] _labels;
    private int _labelBytes;
    private int[] _labelEnds;
    private double[] _values;
    // Per series, a bit per column that has a value: a value the owner does not have is no line, not a zero.
    private ulong[] _present;

    /// <param name="names">The label names of every series (and of the families written from the table).</param>
    /// <param name="columns">Values per series, at most 64.</param>
    /// <param name="capacity">The number of series expected; the table grows beyond it.</param>
    public SeriesTable(LabelNames names, int columns, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(columns, 64);
        Names = names;
        Columns = columns;
        capacity = Math.Max(capacity, 16);
        // Label bytes per series vary (a tunnel name, a pair's selectors): start small, the block doubles as needed.
        _labels = ArrayPool<byte>.Shared.Rent(capacity * 16);
        _labelEnds = ArrayPool<int>.Shared.Rent(capacity);
        _values = ArrayPool<double>.Shared.Rent(capacity * columns);
        _present = ArrayPool<ulong>.Shared.Rent(capacity);
    }

    public LabelNames Names { get; }

    public int Columns { get; }

    /// <summary>The series added so far.</summary>
    public int Count { get; private set; }

    /// <summary>Adds a series: its labels and one value per column (null where it has none).</summary>
    public void Add(MetricLabels labels, ReadOnlySpan<double?> values)
    {
        if (!ReferenceEquals(labels.Names, Names))
        {
            throw new InvalidOperationException($"labels ({string.Join(", ", labels.Names.Names)}) do not fit the table ({string.Join(", ", Names.Names)})");
        }

        ArgumentOutOfRangeException.ThrowIfNotEqual(values.Length, Columns, nameof(values));
        var encoded = labels.Encoded;
        if (Count == _present.Length || Count * Columns + Columns > _values.Length || Count == _labelEnds.Length)
        {
            GrowSeries();
        }

        if (_labelBytes + encoded.Length > _labels.Length)
        {
            _labels = Grown(_labels, _labelBytes, Math.Max(2 * _labels.Length, _labelBytes + encoded.Length));
        }

        encoded.CopyTo(_labels.AsSpan(_labelBytes));
        _labelBytes += encoded.Length;
        _labelEnds[Count] = _labelBytes;
        var row = _values.AsSpan(Count * Columns, Columns);
        ulong present = 0;
        for (var column = 0; column < values.Length; column++)
        {
            if (values[column] is { } value)
            {
                row[column] = value;
                present |= 1UL << column;
            }
        }

        _present[Count] = present;
        Count++;
    }

    /// <summary>Returns the pooled blocks; the table is empty afterwards.</summary>
    public void Dispose()
    {
        if (_present.Length == 0)
        {
            return;
        }

        ArrayPool<byte>.Shared.Return(_labels);
        ArrayPool<int>.Shared.Return(_labelEnds);
        ArrayPool<double>.Shared.Return(_values);
        ArrayPool<ulong>.Shared.Return(_present);
        (_labels, _labelEnds, _values, _present, _labelBytes, Count) = ([], [], [], [], 0, 0);
    }

    /// <summary>The encoded labels of series <paramref name="index"/> (<c>name="value",…</c>, without braces).</summary>
    internal ReadOnlySpan<byte> Labels(int index)
    {
        var start = index == 0 ? 0 : _labelEnds[index - 1];
        return _labels.AsSpan(start, _labelEnds[index] - start);
    }

    internal bool TryGetValue(int index, int column, out double value)
    {
        value = _values[(index * Columns) + column];
        return (_present[index] & (1UL << column)) != 0;
    }

    private void GrowSeries()
    {
        var capacity = 2 * Math.Max(_present.Length, 16);
        _labelEnds = Grown(_labelEnds, Count, capacity);
        _values = Grown(_values, Count * Columns, capacity * Columns);
        _present = Grown(_present, Count, capacity);
    }

    private static T[] Grown<T>(T[] array, int used, int length)
    {
        var grown = ArrayPool<T>.Shared.Rent(length);
        array.AsSpan(0, used).CopyTo(grown);
        ArrayPool<T>.Shared.Return(array);
        return grown;
    }
}

using System.Net;
using System.Text;

namespace IpsecExporter.Sources.Vici;

/// <summary>
/// The strings of the values one connection's answers repeat from one answer to the next (SA keys, connection and
/// CHILD SA names, traffic selectors, addresses), looked up by their UTF-8 bytes: a value the previous answers had
/// costs no allocation, where a hub's <c>list-sas</c> made some 100,000 new strings per poll of 10,000 tunnels that
/// the tunnel model then holds for a while (docs/PERFORMANCE.md). A pooled text also keeps what was made of it: its
/// one-item list (a CHILD SA's selectors) or its address.
/// </summary>
/// <remarks>
/// Bounded: an open-addressed table that, when it fills up, is rebuilt with only the values of the current and the
/// previous answer (<see cref="NextAnswer"/>), so a source whose values churn cannot grow it beyond twice an answer's
/// distinct values, and never beyond <see cref="MaxEntries"/> (then values are made as if there were no pool until the
/// next answer). Only ASCII values of at most <see cref="MaxLength"/> bytes are pooled. Not thread-safe: a connection's
/// exchanges are serialized.
/// </remarks>
internal sealed class ViciValuePool
{
    public const int MaxLength = 256;

    private const int MinCapacity = 1 << 10;

    private const int MaxCapacity = 1 << 19;

    /// <summary>At most 3/4 of the slots are used (a rebuild leaves at most half of them used, unless at the largest size).</summary>
    public const int MaxEntries = MaxCapacity / 4 * 3;

    private Entry[] _entries = new Entry[MinCapacity];
    private int _count;
    private int _answer;
    private int _rebuiltFullInAnswer = -1;

    /// <summary>Pooled values (for tests and the bounds).</summary>
    public int Count => _count;

    /// <summary>Slots of the table (for tests and the bounds).</summary>
    public int Capacity => _entries.Length;

    /// <summary>Starts the next answer: values not seen in it or the previous one may be dropped.</summary>
    public void NextAnswer() => _answer++;

    /// <summary>The pool's string of <paramref name="utf8"/>, or a new one without a pool.</summary>
    public static string Text(ViciValuePool? pool, ReadOnlySpan<byte> utf8) => pool?.Text(utf8) ?? Encoding.UTF8.GetString(utf8);

    public string Text(ReadOnlySpan<byte> utf8)
    {
        ref var entry = ref Find(utf8, out var pooled);
        return pooled ? entry.Text! : Encoding.UTF8.GetString(utf8);
    }

    /// <summary>A one-item list of the text (a CHILD SA's traffic selectors), shared while the text repeats.</summary>
    public IReadOnlyList<string> Single(ReadOnlySpan<byte> utf8)
    {
        ref var entry = ref Find(utf8, out var pooled);
        if (!pooled)
        {
            return [Encoding.UTF8.GetString(utf8)];
        }

        if (entry.Made is not string[] list)
        {
            list = [entry.Text!];
            entry.Made = list;
        }

        return list;
    }

    /// <summary>The address the text spells, parsed once while the text repeats; null when it is none.</summary>
    public IPAddress? Address(ReadOnlySpan<byte> utf8)
    {
        ref var entry = ref Find(utf8, out var pooled);
        if (pooled && entry.Made is IPAddress known)
        {
            return known;
        }

        if (!IPAddress.TryParse(utf8, out var address))
        {
            return null;
        }

        if (pooled)
        {
            entry.Made = address;
        }

        return address;
    }

    private ref Entry Find(ReadOnlySpan<byte> utf8, out bool pooled)
    {
        pooled = utf8.Length <= MaxLength && Ascii.IsValid(utf8);
        if (!pooled)
        {
            return ref _entries[0];
        }

        var hash = Hash(utf8);
        var mask = _entries.Length - 1;
        var slot = hash & mask;
        while (_entries[slot].Text is { } text)
        {
            if (_entries[slot].Hash == hash && Ascii.Equals(utf8, text))
            {
                _entries[slot].Seen = _answer;
                return ref _entries[slot];
            }

            slot = (slot + 1) & mask;
        }

        if (_count + 1 > _entries.Length / 4 * 3)
        {
            if (!Rebuild())
            {
                pooled = false;
                return ref _entries[0];
            }

            return ref Find(utf8, out pooled);
        }

        _count++;
        _entries[slot] = new Entry { Text = Encoding.ASCII.GetString(utf8), Hash = hash, Seen = _answer };
        return ref _entries[slot];
    }

    /// <summary>Keeps the values of this answer and the previous one, in a table where they fill at most half the slots.</summary>
    private bool Rebuild()
    {
        // At the largest size a rebuild frees little: at most one per answer, no new values after it.
        if (_rebuiltFullInAnswer == _answer)
        {
            return false;
        }

        var kept = 0;
        foreach (var entry in _entries)
        {
            if (entry.Text is not null && _answer - entry.Seen <= 1)
            {
                kept++;
            }
        }

        var capacity = MinCapacity;
        while (capacity < 2 * (kept + 1) && capacity < MaxCapacity)
        {
            capacity *= 2;
        }

        if (capacity == MaxCapacity)
        {
            _rebuiltFullInAnswer = _answer;
            if (kept + 1 > MaxEntries)
            {
                return false;
            }
        }

        var old = _entries;
        _entries = new Entry[capacity];
        _count = 0;
        var mask = _entries.Length - 1;
        foreach (var entry in old)
        {
            if (entry.Text is null || _answer - entry.Seen > 1)
            {
                continue;
            }

            var slot = entry.Hash & mask;
            while (_entries[slot].Text is not null)
            {
                slot = (slot + 1) & mask;
            }

            _entries[slot] = entry;
            _count++;
        }

        return true;
    }

    private static int Hash(ReadOnlySpan<byte> utf8)
    {
        // Randomized per process: values come from the network.
        var hash = new HashCode();
        hash.AddBytes(utf8);
        return hash.ToHashCode() & int.MaxValue;
    }

    private struct Entry
    {
        public string? Text;

        /// <summary>What was made of the text: its one-item list or its address.</summary>
        public object? Made;

        public int Hash;

        /// <summary>The answer that last looked the text up.</summary>
        public int Seen;
    }
}

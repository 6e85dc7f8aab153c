namespace IpsecExporter.Diagnosis;

/// <summary>
/// One instance of each equal value in use across tunnels. On a hub most tunnels share configuration and state, so
/// what the diagnosis makes of them (event messages, check evidence, best-practice verdicts) is equal from tunnel to
/// tunnel: 10,000 tunnels held each of a dozen texts 10,000 times (docs/PERFORMANCE.md). Values are made rarely (when
/// something changed), so a lock is cheap enough.
/// </summary>
/// <remarks>
/// Bounded: once <paramref name="capacity"/> distinct values are held the pool starts again empty, so values that keep
/// changing (loss percentages, durations) cannot grow it without limit; instances handed out stay valid.
/// </remarks>
internal sealed class SharedInstances<T>(int capacity, IEqualityComparer<T> comparer)
    where T : class
{
    private readonly Lock _lock = new();
    private readonly Dictionary<T, T> _instances = new(comparer);

    /// <summary>
    /// Diagnosis texts. The texts tunnels have in common are few; texts of one tunnel alone gain nothing here, and the
    /// bound keeps what the pool holds of them, once no tunnel needs them, small.
    /// </summary>
    public static SharedInstances<string> Texts { get; } = new(4096, StringComparer.Ordinal);

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _instances.Count;
            }
        }
    }

    /// <summary>The held instance equal to <paramref name="value"/>, or <paramref name="value"/>, now held.</summary>
    public T Of(T value)
    {
        lock (_lock)
        {
            if (_instances.TryGetValue(value, out var shared))
            {
                return shared;
            }

            if (_instances.Count >= capacity)
            {
                _instances.Clear();
            }

            _instances.Add(value, value);
            return value;
        }
    }
}

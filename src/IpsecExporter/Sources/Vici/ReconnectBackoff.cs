namespace IpsecExporter.Sources.Vici;

/// <summary>
/// Exponential backoff between reconnect attempts to a daemon that is down: <see cref="Initial"/>, doubling up to
/// <see cref="Max"/>, back to the start after a success. Keeps a dead socket from being hammered.
/// </summary>
public sealed class ReconnectBackoff(TimeProvider time)
{
    public static readonly TimeSpan Initial = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan Max = TimeSpan.FromSeconds(30);

    private TimeSpan _next = Initial;

    /// <summary>When the next attempt may be made; null while the last attempt succeeded.</summary>
    public DateTimeOffset? NotBefore { get; private set; }

    /// <summary>Records a failed attempt and returns how long to wait before the next one.</summary>
    public TimeSpan Failed()
    {
        var delay = _next;
        _next = TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, Max.Ticks));
        NotBefore = time.GetUtcNow() + delay;
        return delay;
    }

    public void Succeeded()
    {
        _next = Initial;
        NotBefore = null;
    }

    /// <summary>True when an attempt now would come too early.</summary>
    public bool MustWait() => NotBefore is { } notBefore && notBefore > time.GetUtcNow();
}

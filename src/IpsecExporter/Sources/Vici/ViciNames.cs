using System.Text;

namespace IpsecExporter.Sources.Vici;

/// <summary>
/// Strings for the names of VICI messages, shared: a hub's <c>list-sas</c> repeats the same few dozen keys hundreds of
/// thousands of times, and state values (<c>ESTABLISHED</c>, <c>INSTALLED</c>) and CHILD config names repeat as much.
/// A small direct-mapped cache: a name that collides with another replaces it, so the cache never grows; a string
/// is immutable, so threads may race on a slot and only lose a hit.
/// </summary>
internal static class ViciNames
{
    /// <summary>Longer names (and non-ASCII ones) are rare and not cached.</summary>
    public const int MaxCachedLength = 48;

    private const int Slots = 1024;

    private static readonly string?[] Cache = new string?[Slots];

    /// <summary>
    /// The string of a name or a repeating value: the pool's for a frame decoded with one (it keeps a hub's thousands
    /// of connection and CHILD SA names from answer to answer, too many for this cache), else this cache's.
    /// </summary>
    public static string Intern(ReadOnlySpan<byte> utf8, ViciValuePool? pool) => pool?.Text(utf8) ?? Intern(utf8);

    public static string Intern(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxCachedLength || !Ascii.IsValid(utf8))
        {
            return Encoding.UTF8.GetString(utf8);
        }

        // FNV-1a: cheap, and spreads the short, similar names (bytes-in, bytes-out) over the slots.
        var hash = 2166136261u;
        foreach (var b in utf8)
        {
            hash = (hash ^ b) * 16777619u;
        }

        ref var slot = ref Cache[hash % Slots];
        var cached = Volatile.Read(ref slot);
        if (cached is not null && Ascii.Equals(utf8, cached))
        {
            return cached;
        }

        var text = Encoding.ASCII.GetString(utf8);
        Volatile.Write(ref slot, text);
        return text;
    }
}

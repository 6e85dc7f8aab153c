using System.Globalization;
using System.Text;

namespace IpsecExporter.Configuration;

/// <summary>
/// Shard <see cref="Index"/> of <see cref="Count"/> (0-based, written <c>I/N</c>): this replica owns the tunnels whose
/// name hashes to it. The hash is FNV-1a (64 bit) of the name's UTF-8 bytes, the same in every process and version
/// (unlike <see cref="string.GetHashCode()"/>), so replicas agree on the split without talking to each other.
/// </summary>
public sealed record ShardConfig(int Index, int Count)
{
    public const string Syntax = "I/N with 0 <= I < N, e.g. 0/3";

    public bool Owns(string tunnelName) => OwnerOf(tunnelName, Count) == Index;

    public static int OwnerOf(string tunnelName, int count)
    {
        const ulong offsetBasis = 14695981039346656037;
        const ulong prime = 1099511628211;
        var hash = offsetBasis;
        foreach (var b in Encoding.UTF8.GetBytes(tunnelName))
        {
            hash = unchecked((hash ^ b) * prime);
        }

        return (int)(hash % (ulong)count);
    }

    public static bool TryParse(string text, out ShardConfig? shard)
    {
        shard = null;
        var parts = text.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            && count >= 1 && index < count)
        {
            shard = new ShardConfig(index, count);
        }

        return shard is not null;
    }

    /// <summary>The part of <paramref name="config"/> this shard runs: its tunnels, and only the sources they read.</summary>
    public ExporterConfig Apply(ExporterConfig config)
    {
        var tunnels = config.Tunnels.Where(t => Owns(t.Name)).ToList();
        var sources = config.Sources.Where(s => tunnels.Any(t => t.Source == s.Name)).ToList();
        return config with { Tunnels = tunnels, Sources = sources, Shard = this, TunnelsInFile = config.Tunnels.Count };
    }

    public override string ToString() => $"{Index}/{Count}";
}

using System.Net;
using IpsecExporter.Sources;
using IpsecExporter.Sources.Vici;

namespace IpsecExporter.Tests.Support;

/// <summary>
/// Short builders for source-neutral SAs in tunnel model tests. States are spelled as charon does and mapped as the
/// VICI source maps them; keys are built like the VICI source's (unique id and SPIs).
/// </summary>
public static class Sas
{
    public static ChildSa Child(
        string uniqueId,
        string local = "10.1.0.0/24",
        string remote = "10.2.0.0/24",
        ulong bytesIn = 0,
        ulong bytesOut = 0,
        string state = "INSTALLED",
        string? dhGroup = null,
        int installedAgo = 10,
        string? spi = null) =>
        new("net1", $"{uniqueId}/{spi ?? $"c{uniqueId}in"}/{spi ?? $"c{uniqueId}out"}", ViciSaMapper.ChildState(state), state, [local], [remote], new SaCounters(bytesIn, bytesOut, bytesIn / 100, bytesOut / 100))
        {
            LastInAgo = bytesIn > 0 ? TimeSpan.FromSeconds(1) : null,
            LastOutAgo = bytesOut > 0 ? TimeSpan.FromSeconds(2) : null,
            InstalledAgo = TimeSpan.FromSeconds(installedAgo),
            RekeyIn = TimeSpan.FromSeconds(3600 - installedAgo),
            LifeIn = TimeSpan.FromSeconds(3960 - installedAgo),
            DhGroup = dhGroup,
        };

    public static IkeSa Ike(string uniqueId, params ChildSa[] children) => Ike("site", uniqueId, "ESTABLISHED", children);

    public static IkeSa Ike(string connection, string uniqueId, string state, params ChildSa[] children) =>
        new(connection, $"{uniqueId}/i{uniqueId}/r{uniqueId}", ViciSaMapper.IkeState(state), state, IPAddress.Parse("198.51.100.1"), IPAddress.Parse("198.51.100.2"), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(28740), null, children);

    public static SaSnapshot Snapshot(DateTimeOffset at, params IkeSa[] ikes) => new(at, ikes);
}

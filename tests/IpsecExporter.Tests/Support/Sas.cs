using System.Net;
using IpsecExporter.Sources;

namespace IpsecExporter.Tests.Support;

/// <summary>Short builders for source-neutral SAs in tunnel model tests.</summary>
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
        new(
            "net1",
            uniqueId,
            state,
            [local],
            [remote],
            bytesIn,
            bytesOut,
            bytesIn / 100,
            bytesOut / 100,
            bytesIn > 0 ? TimeSpan.FromSeconds(1) : null,
            bytesOut > 0 ? TimeSpan.FromSeconds(2) : null,
            TimeSpan.FromSeconds(installedAgo),
            TimeSpan.FromSeconds(3600 - installedAgo),
            TimeSpan.FromSeconds(3960 - installedAgo),
            dhGroup)
        {
            SpiIn = spi ?? $"c{uniqueId}in",
            SpiOut = spi ?? $"c{uniqueId}out",
        };

    public static IkeSa Ike(string uniqueId, params ChildSa[] children) => Ike("site", uniqueId, "ESTABLISHED", children);

    public static IkeSa Ike(string connection, string uniqueId, string state, params ChildSa[] children) =>
        new(connection, uniqueId, state, IPAddress.Parse("198.51.100.1"), IPAddress.Parse("198.51.100.2"), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(28740), null, children)
        {
            InitiatorSpi = $"i{uniqueId}",
            ResponderSpi = $"r{uniqueId}",
        };

    public static SaSnapshot Snapshot(DateTimeOffset at, params IkeSa[] ikes) => new(at, ikes);
}

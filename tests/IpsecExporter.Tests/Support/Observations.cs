using System.Net;
using IpsecExporter.Tunnels;

namespace IpsecExporter.Tests.Support;

/// <summary>The tracker's observations as the diagnosis tests need them: what the diagnosis reads, the rest unknown.</summary>
public static class Observations
{
    /// <summary>A configured network pair; the counters in the order sent, received.</summary>
    public static PairObservation Pair(string local, string remote, int childSas, ulong? sentBytes, ulong? receivedBytes, ulong? sentPackets, ulong? receivedPackets, ulong rekeys = 0, string? dhGroup = null) =>
        new(null, local, remote, childSas, receivedBytes, sentBytes, receivedPackets, sentPackets, null, null, (long)rekeys, null, null, null, dhGroup, null);

    /// <summary>Phase 1 with its IKE SA(s) ESTABLISHED (unless <paramref name="established"/> is false).</summary>
    public static IkeObservation Ike(bool established = true, int saCount = 1, IPAddress? localHost = null, IPAddress? remoteHost = null, ulong rekeys = 0) =>
        new(established, saCount, localHost, remoteHost, null, null, (long)rekeys, 0, null, null);
}

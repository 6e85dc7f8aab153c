namespace IpsecExporter.Probes.Icmp;

/// <summary>One way of sending echo requests for one address family and source address, shared by all its targets.</summary>
internal interface IEchoChannel : IDisposable
{
    /// <summary>What times this channel's replies.</summary>
    IcmpTimestampSource TimestampSource { get; }

    void Send(ProbeRequest request, IProbeOutcomeSink sink);
}

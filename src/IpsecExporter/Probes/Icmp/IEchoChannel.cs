namespace IpsecExporter.Probes.Icmp;

/// <summary>One way of sending echo requests for one address family and source address, shared by all its targets.</summary>
internal interface IEchoChannel : IDisposable
{
    void Send(ProbeRequest request, IProbeOutcomeSink sink);
}

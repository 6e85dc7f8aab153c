using BenchmarkDotNet.Attributes;

namespace IpsecExporter.Benchmarks;

/// <summary>Benchmarks on a <see cref="HubModel"/> of <see cref="Tunnels"/> tunnels that has collected two polls.</summary>
public abstract class HubModelBenchmarks
{
    [ParamsSource(nameof(TunnelCounts))]
    public int Tunnels { get; set; }

    /// <summary>The hub sizes measured; a class for which 100 tunnels say nothing measures others.</summary>
    public virtual IEnumerable<int> TunnelCounts => [100, 1000];

    protected HubModel Hub { get; private set; } = null!;

    [GlobalSetup]
    public void Setup()
    {
        Hub = new HubModel(Tunnels);
        Hub.Collect(Hub.NextSnapshot());
        Hub.Collect(Hub.NextSnapshot());
    }

    [GlobalCleanup]
    public void Cleanup() => Hub.Dispose();
}

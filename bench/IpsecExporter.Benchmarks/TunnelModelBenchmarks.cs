using BenchmarkDotNet.Attributes;
using IpsecExporter.Sources;

namespace IpsecExporter.Benchmarks;

/// <summary>
/// The snapshot-to-model step: one poll of a source handed to <see cref="Tunnels.TunnelTracker.OnCollected"/>, in the
/// steady state (the same SAs as the previous poll, every counter higher). Each invocation gets the next snapshot;
/// they are built before the iteration, so neither their time nor their allocations are measured.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(Invocations)]
public class TunnelModelBenchmarks
{
    private const int Invocations = 16;
    private readonly Queue<SaSnapshot> _snapshots = new(Invocations);
    private HubModel _hub = null!;

    [Params(100, 1000)]
    public int Tunnels { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _hub = new HubModel(Tunnels);
        _hub.Collect(_hub.NextSnapshot());
    }

    [IterationSetup]
    public void BuildSnapshots()
    {
        for (var i = 0; i < Invocations; i++)
        {
            _snapshots.Enqueue(_hub.NextSnapshot());
        }
    }

    [Benchmark]
    public void OnCollected() => _hub.Collect(_snapshots.Dequeue());

    [GlobalCleanup]
    public void Cleanup() => _hub.Dispose();
}

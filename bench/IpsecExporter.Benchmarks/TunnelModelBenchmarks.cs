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
public class TunnelModelBenchmarks : HubModelBenchmarks
{
    private const int Invocations = 64;
    private readonly Queue<SaSnapshot> _snapshots = new(Invocations);

    [IterationSetup]
    public void BuildSnapshots()
    {
        for (var i = 0; i < Invocations; i++)
        {
            _snapshots.Enqueue(Hub.NextSnapshot());
        }
    }

    [Benchmark]
    public void OnCollected() => Hub.Collect(_snapshots.Dequeue());
}

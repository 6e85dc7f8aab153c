using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis;
using IpsecExporter.Metrics;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpsecExporter.Benchmarks;

/// <summary>
/// One diagnosis round (<see cref="DiagnosisService.CollectOnceAsync"/>) over every tunnel of the hub in the steady
/// state: a full window of samples behind it, the tracker's observation one poll newer (every counter higher) than
/// at the round before. The poll is handed to the tracker before each round and not measured. The samples hold the
/// tracker's observation only (no probes, site checks or best practices): the round's own work.
/// <see cref="Write"/>: the round's families (<c>ipsec_tunnel_check</c>, <c>ipsec_tunnel_status</c>) as a scrape writes
/// them, flushed in chunks into a stream that discards them.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
public class DiagnosisRoundBenchmarks : HubModelBenchmarks
{
    private readonly SteppedTime _time = new();
    private DiagnosisService _service = null!;

    public override IEnumerable<int> TunnelCounts => [1000, 10000];

    [GlobalSetup(Targets = [nameof(Round), nameof(Write)])]
    public void SetupService()
    {
        Setup();
        _service = new DiagnosisService(Hub.Store, new ObservationSampler(Hub), _time, NullLogger<DiagnosisService>.Instance);
        // A full window (2 minutes at 5 s) before the first measured round.
        for (var i = 0; i < 30; i++)
        {
            NextPoll();
            Round();
        }
    }

    [IterationSetup(Target = nameof(Round))]
    public void NextPoll()
    {
        Hub.Collect(Hub.NextSnapshot());
        _time.Now += DiagnosisService.SampleInterval;
    }

    [Benchmark]
    public void Round() => _service.CollectOnceAsync(CancellationToken.None).GetAwaiter().GetResult();

    [Benchmark]
    public async Task Write()
    {
        var pipe = PipeWriter.Create(Stream.Null, new StreamPipeWriterOptions(leaveOpen: true));
        await MetricsExposition.WriteAsync(new MetricsWriter(pipe, MetricsFormat.PrometheusText), [_service], CancellationToken.None);
        await pipe.CompleteAsync();
    }

    private sealed class SteppedTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private sealed class ObservationSampler(HubModel hub) : ITunnelSampler
    {
        private static readonly InternetSample Internet = new(true, null, null, "up");

        public TunnelSample Sample(ExporterConfig config, TunnelConfig tunnel, DateTimeOffset now, TunnelSample? previous)
        {
            var observed = hub.Tracker.Get(tunnel.Name);
            return new TunnelSample(now, observed is { SourceUp: true }, TunnelSample.Same(observed?.Ike, previous?.Ike), observed?.Pairs ?? [], null, [], Internet, []);
        }
    }
}

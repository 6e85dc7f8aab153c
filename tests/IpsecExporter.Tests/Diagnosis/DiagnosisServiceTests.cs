using System.Net;
using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis;
using IpsecExporter.Metrics;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace IpsecExporter.Tests.Diagnosis;

/// <summary>
/// The per-tunnel event log under churn: the only model state the soak saw growing after its first minutes
/// (docs/PERFORMANCE.md "Soak"), so its bounds are what makes memory plateau.
/// </summary>
public sealed class DiagnosisServiceTests
{
    private const string Tunnel = "hq-branch-b";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 3, 8, 0, 0, TimeSpan.Zero));
    private readonly ScriptedSampler _sampler = new();
    private readonly DiagnosisService _service;

    public DiagnosisServiceTests()
    {
        var loader = new ConfigLoader(TestSources.Registry());
        var store = new ConfigStore(loader.Load(Fixtures.Path("config", "valid-full.yaml")), loader, new ExporterMetrics("test"), NullLogger<ConfigStore>.Instance);
        _service = new DiagnosisService(store, _sampler, _time, NullLogger<DiagnosisService>.Instance);
    }

    [Fact]
    public async Task A_pair_rekeyed_at_every_sample_keeps_the_event_log_at_its_bound()
    {
        const int Samples = 3 * DiagnosisService.MaxEventsPerTunnel;
        for (var rekeys = 0UL; rekeys < Samples; rekeys++)
        {
            await CollectAsync(rekeys);
        }

        var events = _service.Get(Tunnel)!.Events;
        Assert.Equal(DiagnosisService.MaxEventsPerTunnel, events.Count);
        Assert.Equal("10.1.0.0/24 <-> 10.2.0.0/24: CHILD SA rekeyed (1x)", events[^1].Message);
        Assert.Equal(_time.GetUtcNow(), events[^1].At);
        // The oldest kept is the newest but 499: one rekey per sample, 5 s apart.
        Assert.Equal(_time.GetUtcNow() - ((DiagnosisService.MaxEventsPerTunnel - 1) * DiagnosisService.SampleInterval), events[0].At);
    }

    [Fact]
    public async Task Events_older_than_the_retention_are_dropped()
    {
        await CollectAsync(0);
        await CollectAsync(1);
        Assert.Contains(_service.Get(Tunnel)!.Events, e => e.Kind == "rekey");

        _time.Advance(DiagnosisService.EventRetention);
        await CollectAsync(1);

        Assert.DoesNotContain(_service.Get(Tunnel)!.Events, e => e.Kind == "rekey" || e.At < _time.GetUtcNow() - DiagnosisService.EventRetention);
    }

    private async Task CollectAsync(ulong rekeys)
    {
        _time.Advance(DiagnosisService.SampleInterval);
        _sampler.Set(Tunnel, now => new TunnelSample(
            now,
            SourceUp: true,
            IkeEstablished: true,
            IkeSaCount: 1,
            Pairs: [new PairSample("10.1.0.0/24", "10.2.0.0/24", 1, rekeys * 840, rekeys * 840, rekeys * 10, rekeys * 10) { Rekeys = rekeys }],
            Gateway: new ProbeCounts(rekeys, rekeys, TimeSpan.FromMicroseconds(830)),
            Inside: [],
            Internet: new InternetSample(true, IPAddress.Parse("203.0.113.10"), true, null),
            BestPractices: []));
        await _service.CollectOnceAsync(CancellationToken.None);
    }
}

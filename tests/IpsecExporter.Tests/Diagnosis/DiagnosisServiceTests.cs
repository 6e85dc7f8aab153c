using System.Net;
using IpsecExporter.Configuration;
using IpsecExporter.Diagnosis;
using IpsecExporter.Tests.Support;
using IpsecExporter.Tunnels;
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
        var store = new ConfigStore(loader.Load(Fixtures.Path("config", "valid-full.yaml")), loader, NullLogger<ConfigStore>.Instance);
        _service = new DiagnosisService(store, _sampler, _time, NullLogger<DiagnosisService>.Instance);
    }

    [Fact]
    public async Task A_pair_rekeyed_at_every_sample_keeps_one_event_with_the_count_and_the_first_time()
    {
        const int Samples = 3 * DiagnosisService.MaxEventsPerTunnel;
        for (var rekeys = 0UL; rekeys < Samples; rekeys++)
        {
            await CollectAsync(rekeys);
        }

        // The verdict settles with the first rekey (unknown -> healthy): a distinct event, the run starts after it.
        var events = _service.Get(Tunnel)!.Events;
        Assert.Equal(["verdict", "rekey", "verdict", "rekey"], events.Select(e => e.Kind));
        Assert.Equal("10.1.0.0/24 <-> 10.2.0.0/24: CHILD SA rekeyed", events[^1].Message);
        Assert.Equal(Samples - 2, events[^1].Count);
        Assert.Equal(_time.GetUtcNow(), events[^1].At);
        Assert.Equal(_time.GetUtcNow() - ((Samples - 3) * DiagnosisService.SampleInterval), events[^1].First);
        Assert.Equal(Samples - 1, events.Where(e => e.Kind == "rekey").Sum(e => e.Count));
    }

    [Fact]
    public async Task A_pair_rekeyed_with_another_DH_group_at_every_sample_keeps_the_event_log_at_its_bound()
    {
        const int Samples = 3 * DiagnosisService.MaxEventsPerTunnel;
        for (var rekeys = 0UL; rekeys < Samples; rekeys++)
        {
            await CollectAsync(rekeys, dhGroup: rekeys % 2 == 1 ? "ECP_256" : "MODP_2048");
        }

        var events = _service.Get(Tunnel)!.Events;
        Assert.Equal(DiagnosisService.MaxEventsPerTunnel, events.Count);
        Assert.Equal("10.1.0.0/24 <-> 10.2.0.0/24: CHILD SA rekeyed, DH group ECP_256", events[^1].Message);
        Assert.Equal(_time.GetUtcNow(), events[^1].At);
        // The oldest kept is the newest but 499: one rekey per sample, 5 s apart.
        Assert.Equal(_time.GetUtcNow() - ((DiagnosisService.MaxEventsPerTunnel - 1) * DiagnosisService.SampleInterval), events[0].At);
        Assert.All(events, e => Assert.Equal(1, e.Count));
    }

    [Fact]
    public async Task Rekeys_of_two_pairs_fold_per_pair_and_an_event_of_another_kind_ends_both_runs()
    {
        // Both pairs rekey at every sample, the second one twice; the verdict settles at the second sample.
        for (var rekeys = 0UL; rekeys < 4; rekeys++)
        {
            await CollectAsync(rekeys, secondPairRekeys: 2 * rekeys);
        }

        Assert.Equal(
            [("10.1.0.0/24 <-> 10.2.0.0/24: CHILD SA rekeyed", 2L), ("10.1.1.0/24 <-> 10.2.1.0/24: CHILD SA rekeyed", 4L)],
            _service.Get(Tunnel)!.Events.TakeLast(2).Select(e => (e.Message, e.Count)));

        // The public IP changes: the rekeys of that sample still fold, those after it start new runs.
        await CollectAsync(4, secondPairRekeys: 8, publicIp: "203.0.113.11");
        await CollectAsync(5, secondPairRekeys: 10, publicIp: "203.0.113.11");

        var events = _service.Get(Tunnel)!.Events;
        Assert.Equal(
            [
                ("rekey", "10.1.0.0/24 <-> 10.2.0.0/24: CHILD SA rekeyed", 3L),
                ("rekey", "10.1.1.0/24 <-> 10.2.1.0/24: CHILD SA rekeyed", 6L),
                ("public_ip", "public IP changed from 203.0.113.10 to 203.0.113.11", 1L),
                ("rekey", "10.1.0.0/24 <-> 10.2.0.0/24: CHILD SA rekeyed", 1L),
                ("rekey", "10.1.1.0/24 <-> 10.2.1.0/24: CHILD SA rekeyed", 2L),
            ],
            events.TakeLast(5).Select(e => (e.Kind, e.Message, e.Count)));
        var now = _time.GetUtcNow();
        Assert.Equal((now - (3 * DiagnosisService.SampleInterval), now - DiagnosisService.SampleInterval), (events[^5].First, events[^5].At));
        Assert.Equal((now, now), (events[^1].First, events[^1].At));
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

    [Fact]
    public async Task A_run_of_rekeys_stays_while_its_last_time_is_within_the_retention()
    {
        await CollectAsync(0);
        await CollectAsync(1);
        await CollectAsync(2);
        var first = _time.GetUtcNow();
        _time.Advance(DiagnosisService.EventRetention);
        await CollectAsync(3);

        var run = _service.Get(Tunnel)!.Events.Last(e => e.Kind == "rekey");
        Assert.Equal((first, _time.GetUtcNow(), 2L), (run.First, run.At, run.Count));

        _time.Advance(DiagnosisService.EventRetention);
        await CollectAsync(3);

        Assert.DoesNotContain(_service.Get(Tunnel)!.Events, e => e.Kind == "rekey");
    }

    /// <summary>One sample 5 s after the last; <paramref name="secondPairRekeys"/> adds a second pair.</summary>
    private async Task CollectAsync(ulong rekeys, string? dhGroup = null, ulong? secondPairRekeys = null, string publicIp = "203.0.113.10")
    {
        _time.Advance(DiagnosisService.SampleInterval);
        PairObservation Pair(string local, string remote, ulong n) => Observations.Pair(local, remote, 1, n * 840, n * 840, n * 10, n * 10, rekeys: n, dhGroup: dhGroup);
        _sampler.Set(Tunnel, now => new TunnelSample(
            now,
            SourceUp: true,
            Ike: Observations.Ike(),
            Pairs: secondPairRekeys is { } second
                ? [Pair("10.1.0.0/24", "10.2.0.0/24", rekeys), Pair("10.1.1.0/24", "10.2.1.0/24", second)]
                : [Pair("10.1.0.0/24", "10.2.0.0/24", rekeys)],
            Gateway: new ProbeCounts(rekeys, rekeys, TimeSpan.FromMicroseconds(830)),
            Inside: [],
            Internet: new InternetSample(true, IPAddress.Parse(publicIp), true, null),
            BestPractices: []));
        await _service.CollectOnceAsync(CancellationToken.None);
    }
}

using IpsecExporter.Diagnosis.BestPractices;
using IpsecExporter.Site.Ntp;
using IpsecExporter.Tests.Site.Ntp;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpsecExporter.Tests.Diagnosis.BestPractices;

public sealed class BestPracticeServiceTests
{
    private static string Yaml(string ntpServers) => $$"""
        site:
          name: hq
          ntp_servers: [{{ntpServers}}]
        sources: [{ name: gw, type: no-sas }]
        tunnels:
          - name: by-the-book
            remote_gateway: 192.0.2.1
            network_pairs: [{ local: 10.1.0.0/24, remote: 10.2.0.0/24 }]
            expect: { pfs: true, ike_rekey: 8h, child_rekey: 5h20m }
          - name: legacy
            remote_gateway: 192.0.2.2
            network_pairs: [{ local: 10.1.1.0/24, remote: 10.2.1.0/24 }]
            expect: { ike_rekey: 24h, child_rekey: 24h }
        """;

    [Fact]
    public async Task Configured_expectations_and_the_measured_clock_become_metrics_with_reasons()
    {
        using var ntp = new TestNtpResponder(TimeProvider.System) { Skew = TimeSpan.FromSeconds(30) };
        var store = TestConfigs.Store(Yaml($"\"{ntp.Server}\""));
        var clock = new ClockMonitor(store, new SntpClient(TimeProvider.System), TimeProvider.System, NullLogger<ClockMonitor>.Instance);
        var service = new BestPracticeService(store, clock, TimeProvider.System, NullLogger<BestPracticeService>.Instance);
        await clock.CollectOnceAsync(CancellationToken.None);

        await service.CollectOnceAsync(CancellationToken.None);

        var text = MetricsText.Render(service);
        Assert.Contains("ipsec_best_practice{tunnel=\"by-the-book\",practice=\"pfs\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_best_practice{tunnel=\"by-the-book\",practice=\"short_lifetimes\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_best_practice{tunnel=\"by-the-book\",practice=\"phase2_two_thirds_phase1\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_best_practice{tunnel=\"by-the-book\",practice=\"time_sync\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_best_practice{tunnel=\"legacy\",practice=\"short_lifetimes\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_best_practice{tunnel=\"legacy\",practice=\"phase2_two_thirds_phase1\"} 0", text, StringComparison.Ordinal);
        // Unknown is absent, not 0.
        Assert.DoesNotContain("practice=\"pfs\"} 0", text, StringComparison.Ordinal);
        Assert.DoesNotContain("tunnel=\"legacy\",practice=\"pfs\"", text, StringComparison.Ordinal);
        Assert.EndsWith("this clock is behind", service.Results["legacy"].Single(r => r.Practice == BestPractice.TimeSync).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Observations_from_the_tunnel_model_override_the_configuration()
    {
        var observed = new Observations { ["by-the-book"] = new ObservedSaFacts(false, null, TimeSpan.FromHours(8), TimeSpan.FromHours(8)) };
        var service = ServiceObserving(observed);

        await service.CollectOnceAsync(CancellationToken.None);

        var text = MetricsText.Render(service);
        Assert.Contains("ipsec_best_practice{tunnel=\"by-the-book\",practice=\"pfs\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_best_practice{tunnel=\"by-the-book\",practice=\"phase2_two_thirds_phase1\"} 0", text, StringComparison.Ordinal);
        Assert.DoesNotContain("practice=\"time_sync\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_round_keeps_the_results_of_unchanged_inputs_and_reevaluates_changed_ones()
    {
        var observed = new Observations { ["by-the-book"] = new ObservedSaFacts(false, null, TimeSpan.FromHours(8), TimeSpan.FromHours(8)) };
        var service = ServiceObserving(observed);
        await service.CollectOnceAsync(CancellationToken.None);
        var before = service.Results["legacy"];

        observed["by-the-book"] = new ObservedSaFacts(true, "ecp256", TimeSpan.FromHours(8), TimeSpan.FromHours(5));
        await service.CollectOnceAsync(CancellationToken.None);

        Assert.Same(before, service.Results["legacy"]);
        var text = MetricsText.Render(service);
        Assert.Contains("ipsec_best_practice{tunnel=\"by-the-book\",practice=\"pfs\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("ipsec_best_practice{tunnel=\"by-the-book\",practice=\"phase2_two_thirds_phase1\"} 1", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tunnels_with_the_same_verdicts_share_one_list_of_them()
    {
        var store = TestConfigs.Store("""
            site: { name: hub }
            sources: [{ name: gw, type: no-sas }]
            tunnels:
              - { name: branch-1, remote_gateway: 192.0.2.1, network_pairs: [{ local: 10.1.0.0/24, remote: 10.2.1.0/24 }] }
              - { name: branch-2, remote_gateway: 192.0.2.2, network_pairs: [{ local: 10.1.0.0/24, remote: 10.2.2.0/24 }] }
            """);
        var clock = new ClockMonitor(store, new SntpClient(TimeProvider.System), TimeProvider.System, NullLogger<ClockMonitor>.Instance);
        var facts = new ObservedSaFacts(true, "ecp256", TimeSpan.FromHours(8), TimeSpan.FromHours(5));
        var observed = new Observations { ["branch-1"] = facts, ["branch-2"] = facts };
        var service = new BestPracticeService(store, clock, TimeProvider.System, NullLogger<BestPracticeService>.Instance, observed);

        await service.CollectOnceAsync(CancellationToken.None);

        Assert.Equal(4, service.Results["branch-1"].Count);
        Assert.Same(service.Results["branch-1"], service.Results["branch-2"]);
    }

    /// <summary>A service on the configuration of <see cref="Yaml"/> without NTP servers, fed by <paramref name="observed"/>.</summary>
    private static BestPracticeService ServiceObserving(Observations observed)
    {
        var store = TestConfigs.Store(Yaml(""));
        var clock = new ClockMonitor(store, new SntpClient(TimeProvider.System), TimeProvider.System, NullLogger<ClockMonitor>.Instance);
        return new BestPracticeService(store, clock, TimeProvider.System, NullLogger<BestPracticeService>.Instance, observed);
    }

    /// <summary>What the tunnel model will provide, as plain data.</summary>
    private sealed class Observations : Dictionary<string, ObservedSaFacts>, IObservedSaFactsProvider
    {
        public ObservedSaFacts FactsFor(string tunnel) => TryGetValue(tunnel, out var facts) ? facts : ObservedSaFacts.None;
    }
}

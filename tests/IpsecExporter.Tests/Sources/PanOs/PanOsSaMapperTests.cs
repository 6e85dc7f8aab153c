using IpsecExporter.Metrics;
using System.Net;
using IpsecExporter.Sources;
using IpsecExporter.Sources.PanOs;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Sources.PanOs;

/// <summary>The PAN-OS answers under Fixtures/panos (shapes cited there) through the parser, the mapper and the tunnel model.</summary>
public sealed class PanOsSaMapperTests
{
    private static readonly string[] BranchA = ["branch-a", "10.1.0.0/24", "10.2.0.0/24"];

    [Fact]
    public void Recorded_shapes_map_onto_the_model()
    {
        var snapshot = Golden(new SaCounterLedger());

        Assert.Equal(CounterCapabilities.All | CounterCapabilities.PerTunnel, snapshot.Counters);
        Assert.Equal(["branch-a", "branch-b"], snapshot.IkeSas.Select(i => i.Connection));
        Assert.Equal(["branch-a", "branch-b", "branch-c"], snapshot.Connections!.Select(c => c.Name));
        var a = snapshot.IkeSas[0];
        Assert.Equal((IkeSaState.Established, IPAddress.Parse("198.51.100.2"), IPAddress.Parse("192.0.2.1")), (a.State, a.RemoteHost, a.LocalHost));
        var child = Assert.Single(a.ChildSas);
        Assert.Equal(("branch-a:lan", ChildSaState.Installed, "active"), (child.Name, child.State, child.StateText));
        Assert.Equal(["10.1.0.0..10.1.0.255"], child.LocalTs);
        Assert.Equal(["10.2.0.0..10.2.0.255"], child.RemoteTs);
        // Counters above 2^32, decap received and encap sent.
        Assert.Equal(new SaCounters(5368709120, 4294967396, 4000000, 3500000), child.Counters);
        Assert.Equal((TimeSpan.FromSeconds(1640), TimeSpan.FromSeconds(1960), "DH14", true), (child.InstalledAgo, child.LifeIn, child.DhGroup, child.PfsSetting));
        // Signed decimal SPIs (PAN-OS 8) are the same 32-bit values the flow detail prints in hex.
        var b = Assert.Single(snapshot.IkeSas[1].ChildSas);
        Assert.Contains("b5102bdb_83901465", b.Key, StringComparison.Ordinal);
        Assert.Contains("9e378c22_d962f8bb", child.Key, StringComparison.Ordinal);
        Assert.Equal(IPAddress.Parse("203.0.113.7"), snapshot.IkeSas[1].RemoteHost);
        Assert.Null(b.PfsSetting);
    }

    [Fact]
    public void Tunnel_names_without_a_proxy_id_are_their_own_connection()
    {
        Assert.Equal("branch-c", PanOsSaMapper.ConnectionOf("branch-c"));
        Assert.Equal("vpn-a", PanOsSaMapper.ConnectionOf("vpn-a:protected-hosts"));
    }

    [Fact]
    public void A_counter_reset_on_the_firewall_folds_into_monotonic_counters_like_a_rekey()
    {
        using var harness = new TrackerHarness(Config());
        var ledger = new SaCounterLedger();
        var sas = PanOsSaMapper.ParseIpsecSas(Result("01.ipsec-sa.xml"));
        var flows = PanOsSaMapper.ParseFlows(Result("01.flow.xml"));

        var keys = new List<string>();
        foreach (var received in new ulong[] { 1000, 1500, 200, 700 })
        {
            harness.Time.Advance(TimeSpan.FromSeconds(5));
            var snapshot = PanOsSaMapper.Map(harness.Time.GetUtcNow(), sas, flows, Details(received), ledger);
            keys.Add(snapshot.IkeSas[0].ChildSas[0].Key);
            harness.Collect(snapshot, "fw");
        }

        // "Reset statistics" between the second and third poll: a new key, and what came after adds on.
        Assert.Equal(keys[0], keys[1]);
        Assert.NotEqual(keys[1], keys[2]);
        Assert.Equal(keys[2], keys[3]);
        Assert.Equal(1500 + 700, MetricsText.Value(harness.Tracker, MetricFamilies.ChildSaReceivedBytes, BranchA));
        Assert.Equal(1, MetricsText.Value(harness.Tracker, MetricFamilies.ChildSaRekeys, BranchA));
    }

    [Fact]
    public void A_rekey_under_running_tunnel_counters_counts_once_without_counting_the_tunnel_twice()
    {
        using var harness = new TrackerHarness(Config());
        var ledger = new SaCounterLedger();
        var sas = PanOsSaMapper.ParseIpsecSas(Result("01.ipsec-sa.xml"));
        var flows = PanOsSaMapper.ParseFlows(Result("01.flow.xml"));
        var rekeyed = sas.Select(s => s.TunnelId == 1 ? s with { InboundSpi = 0x11111111, OutboundSpi = 0x22222222 } : s).ToList();

        var counters = new List<ulong?>();
        foreach (var (list, received) in new[] { (sas, 1000UL), (sas, 1500UL), (rekeyed, 1600UL), (rekeyed, 2500UL) })
        {
            harness.Time.Advance(TimeSpan.FromSeconds(5));
            var snapshot = PanOsSaMapper.Map(harness.Time.GetUtcNow(), list, flows, Details(received), ledger);
            counters.Add(snapshot.IkeSas[0].ChildSas[0].Counters.ReceivedBytes);
            harness.Collect(snapshot, "fw");
        }

        // The new SA starts from the tunnel's value at the last poll before it.
        Assert.Equal([1000, 1500, 100, 1000], counters);
        Assert.Equal(2500, MetricsText.Value(harness.Tracker, MetricFamilies.ChildSaReceivedBytes, BranchA));
        Assert.Equal(1, MetricsText.Value(harness.Tracker, MetricFamilies.ChildSaRekeys, BranchA));
    }

    [Fact]
    public void An_error_answer_is_a_source_error_with_its_code_and_message()
    {
        var error = Assert.Throws<IOException>(() => PanOsSaMapper.Result(File.ReadAllText(Fixtures.Path("panos", "error-invalid-command.xml")), PanOsSaSource.FlowCommand));

        Assert.Equal("PAN-OS refused '<show><vpn><flow></flow></vpn></show>': status=\"error\" code 17: show -> vpn -> flow  is unexpected", error.Message);
        var forbidden = Assert.Throws<IOException>(() => PanOsSaMapper.Result("<response status=\"error\" code=\"403\"><result><msg>Invalid Credential</msg></result></response>", PanOsSaSource.IpsecSaCommand));
        Assert.EndsWith("status=\"error\" code 403: Invalid Credential", forbidden.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<html><head><title>Login</title></head><body><p>s3cr3t-in-page</body></html>")]
    [InlineData("<response status=\"success\"><result><entries><entry><name>s3cr3t-in-page")]
    [InlineData("{\"s3cr3t-in-page\": true}")]
    [InlineData("")]
    public void Answers_that_are_not_PAN_OS_XML_are_source_errors_that_quote_nothing(string body)
    {
        var error = Assert.Throws<IOException>(() => PanOsSaMapper.Result(body, PanOsSaSource.IpsecSaCommand));

        Assert.StartsWith("the answer to '<show><vpn><ipsec-sa></ipsec-sa></vpn></show>' is not", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_SPI_outside_32_bits_is_refused()
    {
        var result = Result("01.ipsec-sa.xml");
        result.Descendants("i_spi").First().Value = "4294967296";

        Assert.Contains("<i_spi> '4294967296' is not a valid number", Assert.Throws<IOException>(() => PanOsSaMapper.ParseIpsecSas(result)).Message, StringComparison.Ordinal);
    }

    private static SaSnapshot Golden(SaCounterLedger ledger)
    {
        var details = new[] { 1, 2 }.ToDictionary(id => id, id => PanOsSaMapper.ParseFlowDetail(Result($"01.flow-tunnel-{id}.xml"))!);
        return PanOsSaMapper.Map(TrackerHarness.Start, PanOsSaMapper.ParseIpsecSas(Result("01.ipsec-sa.xml")), PanOsSaMapper.ParseFlows(Result("01.flow.xml")), details, ledger);
    }

    /// <summary>The golden details with tunnel 1's received bytes set.</summary>
    private static Dictionary<int, PanOsFlowDetail> Details(ulong tunnelOneReceived)
    {
        var details = new[] { 1, 2 }.ToDictionary(id => id, id => PanOsSaMapper.ParseFlowDetail(Result($"01.flow-tunnel-{id}.xml"))!);
        details[1] = details[1] with { Counters = details[1].Counters with { ReceivedBytes = tunnelOneReceived } };
        return details;
    }

    private static System.Xml.Linq.XElement Result(string fixture) => PanOsSaMapper.Result(File.ReadAllText(Fixtures.Path("panos", "healthy", fixture)), fixture);

    /// <summary>The golden tests' configuration, with an address instead of the mock's.</summary>
    private static string Config() =>
        File.ReadAllText(Fixtures.Path("panos", "config.yaml")).Replace("{{url}}", "https://fw.example.net", StringComparison.Ordinal).Replace("{{secret:token}}", "PANOS_KEY", StringComparison.Ordinal);
}

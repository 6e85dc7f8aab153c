using System.Text.Json.Nodes;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Cli;

/// <summary>
/// <c>ipsec-exporter diagnose</c> on the HQ gateway of a real testbed: it reads charon over VICI and pings through the
/// tunnel for a few seconds, then prints the partner report. Healthy first, then desynchronized (one direction dropped).
/// </summary>
[Trait("Needs", "root")]
public sealed class DiagnoseCommandTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private Testbed _testbed = null!;
    private string _config = null!;

    public async Task InitializeAsync()
    {
        _testbed = await Testbed.UpAsync();
        await ExternalCommand.RunAsync("ip", "-n", _testbed.Summary["ns_hq"], "route", "add", "default", "via", _testbed.Summary["br_public"]);
        var pair = _testbed.Summary["pair_net1"].Split('>');
        _config = _directory.Write("ipsec.yaml", $$"""
            site: { name: hq, location: "HQ, rack B4", equipment: "strongSwan 5.9.8 (testbed)" }
            sources:
              - { name: gw, type: vici, uri: "{{_testbed.HqVici}}", interval: 1s }
            tunnels:
              - name: branch
                partner: { name: "Branch IT", contact: "noc@branch.example", location: "Branch, cabinet 2" }
                connection: {{_testbed.Summary["hq_ike"]}}
                remote_gateway: {{_testbed.Summary["br_public"]}}
                network_pairs: [ { local: {{pair[0]}}, remote: {{pair[1]}} } ]
                inside: { source: {{_testbed.Summary["pair_net1_source"]}}, targets: [{{_testbed.Summary["pair_net1_targets"]}}] }
            probes: { interval: 500ms, timeout: 1s }
            # Shorter than --duration: the observation period, not the exporter's window, is what diagnose judges.
            diagnosis: { window: 10s }
            """);
    }

    [Fact]
    public async Task Diagnose_reports_a_healthy_tunnel_then_a_desynchronized_one()
    {
        var healthy = await DiagnoseAsync("json");

        Assert.Equal(0, healthy.ExitCode);
        var report = JsonNode.Parse(healthy.Stdout)!;
        Assert.True((string?)report["verdict"] == "healthy", healthy.Stdout + healthy.Stderr);
        Assert.Equal("HQ, rack B4", (string?)report["our_side"]!["location"]);
        Assert.Equal("Branch, cabinet 2", (string?)report["their_side"]!["location"]);
        Assert.Equal(_testbed.Summary["hq_public"], (string?)report["our_side"]!["ike_address"]);
        Assert.Equal(_testbed.Summary["br_public"], (string?)report["their_side"]!["ike_address"]);
        Assert.Equal(_testbed.Summary["pair_net1_source"], (string?)report["inside_source"]);
        Assert.Equal(1, (int?)report["network_pairs"]![0]!["child_sas"]);
        Assert.True((ulong?)report["network_pairs"]![0]!["received_packets_in_window"] > 0);
        Assert.All(report["inside_targets"]!.AsArray(), t => Assert.True((ulong?)t!["responses"] > 0));

        await _testbed.RunAsync("drop-direction", "--side", "hq");
        var desynchronized = await DiagnoseAsync("markdown");

        Assert.Equal(0, desynchronized.ExitCode);
        Assert.Contains("**Verdict: desynchronized**", desynchronized.Stdout, StringComparison.Ordinal);
        Assert.Contains("(nothing comes back)", desynchronized.Stdout, StringComparison.Ordinal);
        Assert.Contains("ask the partner to clear their SAs", desynchronized.Stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// Two pairs judged each on its own: net1 has two inside targets, one of which drops echo (a host fault), and keeps
    /// carrying traffic both ways; net2, whose traffic is a host's pings (inside probes leave from one source, in net1),
    /// loses the ESP coming back (desynchronized). The verdict names net2; net1's silent host is told apart as that
    /// host's problem, not the tunnel's.
    /// </summary>
    [Fact]
    public async Task A_host_that_drops_echo_leaves_its_pair_healthy_while_the_other_pair_is_desynchronized()
    {
        var net1 = _testbed.Summary["pair_net1"].Split('>');
        var net2 = _testbed.Summary["pair_net2"].Split('>');
        var net1Targets = _testbed.Summary["pair_net1_targets"].Split(',');

        _config = _directory.Write("two-pairs.yaml", $$"""
            site: { name: hq }
            sources:
              - { name: gw, type: vici, uri: "{{_testbed.HqVici}}", interval: 1s }
            tunnels:
              - name: branch
                connection: {{_testbed.Summary["hq_ike"]}}
                remote_gateway: {{_testbed.Summary["br_public"]}}
                network_pairs:
                  - { local: {{net1[0]}}, remote: {{net1[1]}} }
                  - { local: {{net2[0]}}, remote: {{net2[1]}} }
                inside: { source: {{_testbed.Summary["pair_net1_source"]}}, targets: [{{net1Targets[0]}}, {{net1Targets[1]}}] }
            probes: { interval: 500ms, timeout: 1s }
            diagnosis: { window: 10s }
            """);
        await _testbed.RunAsync("drop-echo", "--side", "br", "--target", net1Targets[1]);
        await _testbed.RunAsync("drop-child", "--side", "hq", "--child", "net2");

        // 12 s of pings on net2 from its own inside address, alongside the 12 s diagnose: none comes back.
        var net2Traffic = _testbed.PingAsync(_testbed.Summary["pair_net2_targets"], count: 120);
        var result = await DiagnoseAsync("json");
        Assert.False(await net2Traffic);

        Assert.Equal(0, result.ExitCode);
        var report = JsonNode.Parse(result.Stdout)!;
        Assert.True((string?)report["verdict"] == "desynchronized", result.Stdout + result.Stderr);
        var pairs = report["network_pairs"]!.AsArray().ToDictionary(p => (string)p!["local"]!);
        Assert.True((ulong?)pairs[net1[0]]!["received_packets_in_window"] > 0, result.Stdout);
        Assert.True((ulong?)pairs[net1[0]]!["sent_packets_in_window"] > 0, result.Stdout);
        Assert.Equal(0UL, (ulong?)pairs[net2[0]]!["received_packets_in_window"]);
        Assert.True((ulong?)pairs[net2[0]]!["sent_packets_in_window"] > 0, result.Stdout);
        var targets = report["inside_targets"]!.AsArray().ToDictionary(t => (string)t!["target"]!, t => (ulong)t!["responses"]!);
        Assert.True(targets[net1Targets[0]] > 0, result.Stdout);
        Assert.Equal(0UL, targets[net1Targets[1]]);
        var inside = report["steps"]!.AsArray().Single(s => (string?)s!["check"] == "inside_reachable")!;
        Assert.Contains($"{net1Targets[1]}: no reply", (string?)inside["evidence"], StringComparison.Ordinal);
        Assert.Contains("another target of its pair answers: a problem of that host", (string?)inside["evidence"], StringComparison.Ordinal);
        Assert.Contains(net2[0], (string?)report["reason"], StringComparison.Ordinal);
    }

    public async Task DisposeAsync()
    {
        await _testbed.DisposeAsync();
        _directory.Dispose();
    }

    private Task<CommandResult> DiagnoseAsync(string format) => ExternalCommand.RunWithInputAsync(
        null,
        "ip",
        "netns", "exec", _testbed.Summary["ns_hq"], "dotnet", Path.Combine(AppContext.BaseDirectory, "ipsec-exporter.dll"),
        "diagnose", "--config", _config, "--duration", "12s", "--format", format);
}

using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using IpsecExporter.Probes;
using IpsecExporter.Probes.Icmp;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace IpsecExporter.Tests.Probes.Icmp;

/// <summary>The ICMP engine against real kernels: loopback, and veth links between namespaces the tests create.</summary>
public sealed partial class IcmpProbeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    [Trait("Needs", "root")]
    public async Task Loopback_answers_every_probe_with_a_sub_millisecond_round_trip(string address)
    {
        await using var engine = Engine();
        var target = IPAddress.Parse(address);
        var recorder = new OutcomeRecorder();

        await SendAsync(engine, new ProbeRequest(target, null, Timeout), recorder, 50);

        await recorder.WaitForSettledAsync(50);
        Assert.Equal(50, recorder.Count(ProbeOutcomeKind.Reply));
        var rtts = recorder.Outcomes.Select(o => o.RoundTripTime).ToList();
        Assert.All(rtts, rtt => Assert.True(rtt > TimeSpan.Zero, $"RTT {rtt} is not positive"));
        Assert.True(rtts.Average(r => r.TotalMilliseconds) < 1, $"loopback RTTs average {rtts.Average(r => r.TotalMilliseconds)} ms");
        Assert.Equal(IcmpSocketKind.Raw, engine.SocketKindFor(target.AddressFamily));
    }

    [Theory]
    [InlineData("10.0.0.2")]
    [InlineData("fd00::2")]
    [Trait("Needs", "root")]
    public async Task A_target_in_another_namespace_answers_over_veth(string address)
    {
        await using var topology = await ProbeTopology.CreateAsync();
        await using var engine = Engine(topology.Prober.Path);
        var recorder = new OutcomeRecorder();

        await SendAsync(engine, new ProbeRequest(IPAddress.Parse(address), null, Timeout), recorder, 20);

        await recorder.WaitForSettledAsync(20);
        Assert.Equal(20, recorder.Count(ProbeOutcomeKind.Reply));
    }

    [Fact]
    [Trait("Needs", "root")]
    public async Task Each_probe_leaves_from_its_own_source_address()
    {
        await using var topology = await ProbeTopology.CreateAsync();
        await topology.Target.NftAsync("""
            table inet sources {
              counter v4first {}
              counter v4second {}
              counter v6first {}
              counter v6second {}
              chain input {
                type filter hook input priority 0; policy accept;
                ip saddr 10.0.0.1 icmp type echo-request counter name "v4first"
                ip saddr 10.0.0.3 icmp type echo-request counter name "v4second"
                ip6 saddr fd00::1 icmpv6 type echo-request counter name "v6first"
                ip6 saddr fd00::3 icmpv6 type echo-request counter name "v6second"
              }
            }
            """);
        await using var engine = Engine(topology.Prober.Path);
        var recorders = Enumerable.Range(0, 4).Select(_ => new OutcomeRecorder()).ToArray();

        // Interleaved, so the shared engine has four source sockets busy at once.
        for (var i = 0; i < 12; i++)
        {
            engine.Send(new ProbeRequest(ProbeTopology.TargetV4, ProbeTopology.ProberV4, Timeout), recorders[0]);
            engine.Send(new ProbeRequest(ProbeTopology.TargetV6, ProbeTopology.ProberV6, Timeout), recorders[2]);
            if (i < 5)
            {
                engine.Send(new ProbeRequest(ProbeTopology.TargetV4, ProbeTopology.ProberV4Second, Timeout), recorders[1]);
                engine.Send(new ProbeRequest(ProbeTopology.TargetV6, ProbeTopology.ProberV6Second, Timeout), recorders[3]);
            }
        }

        foreach (var (recorder, count) in recorders.Zip([12, 5, 12, 5]))
        {
            await recorder.WaitForSettledAsync(count);
            Assert.Equal(count, recorder.Count(ProbeOutcomeKind.Reply));
        }

        Assert.Equal(12, await CounterAsync(topology.Target, "v4first"));
        Assert.Equal(5, await CounterAsync(topology.Target, "v4second"));
        Assert.Equal(12, await CounterAsync(topology.Target, "v6first"));
        Assert.Equal(5, await CounterAsync(topology.Target, "v6second"));
    }

    [Fact]
    [Trait("Needs", "root")]
    public async Task Unreachable_targets_fail_alone_while_the_reachable_one_keeps_answering()
    {
        await using var topology = await ProbeTopology.CreateAsync();
        await using var engine = Engine(topology.Prober.Path);
        var reachable = new OutcomeRecorder();
        var unrouted = new OutcomeRecorder();
        var absent = new OutcomeRecorder();

        for (var i = 0; i < 5; i++)
        {
            engine.Send(new ProbeRequest(ProbeTopology.UnroutedV4, null, Timeout), unrouted);
            engine.Send(new ProbeRequest(ProbeTopology.AbsentV4, null, Timeout), absent);
            engine.Send(new ProbeRequest(ProbeTopology.TargetV4, null, Timeout), reachable);
            await Task.Delay(20);
        }

        await reachable.WaitForSettledAsync(5);
        await unrouted.WaitForSettledAsync(5);
        await absent.WaitForSettledAsync(5);
        Assert.Equal(5, reachable.Count(ProbeOutcomeKind.Reply));
        Assert.All(unrouted.Outcomes, o => Assert.Equal(ProbeOutcome.FailedWith("Network is unreachable"), o));
        Assert.Equal(0, absent.Count(ProbeOutcomeKind.Reply));
        Assert.Equal(5, absent.Settled);
    }

    [Fact]
    [Trait("Needs", "root")]
    public async Task Unanswered_probes_time_out_while_probes_keep_being_sent()
    {
        // The scheduler sends on every 50 ms step. Before the fix, each send less than the timeout sweep's 0.5 s slack
        // after the previous one postponed the sweep: sending like that from the first probe on, nothing ever timed
        // out, and the deadline queue grew by one entry per probe (the soak found it, docs/PERFORMANCE.md).
        await using var topology = await ProbeTopology.CreateAsync();
        var time = new FakeTimeProvider();
        await using var engine = new IcmpProbe(new IcmpProbeOptions(NetworkNamespace: topology.Prober.Path), time, NullLogger<IcmpProbe>.Instance);
        var absent = new OutcomeRecorder();

        // 2 s of sends 50 ms apart, 1 s timeout: the sweep due at 1.5 s settles the 11 probes sent in the first 0.5 s.
        for (var step = 0; step < 40; step++)
        {
            engine.Send(new ProbeRequest(ProbeTopology.InsideAbsent, ProbeTopology.InsideSource, Timeout), absent);
            time.Advance(TimeSpan.FromMilliseconds(50));
        }

        Assert.Equal(11, absent.Settled);
        Assert.All(absent.Outcomes, o => Assert.Equal(ProbeOutcomeKind.Timeout, o.Kind));
    }

    [Fact]
    [Trait("Needs", "root")]
    public async Task A_source_address_that_is_not_on_this_host_fails_with_a_clear_error_and_harms_nobody()
    {
        await using var topology = await ProbeTopology.CreateAsync();
        await using var engine = Engine(topology.Prober.Path);
        var foreign = new OutcomeRecorder();
        var good = new OutcomeRecorder();

        engine.Send(new ProbeRequest(ProbeTopology.TargetV4, IPAddress.Parse("10.0.0.50"), Timeout), foreign);
        engine.Send(new ProbeRequest(ProbeTopology.TargetV4, ProbeTopology.ProberV4, Timeout), good);

        await good.WaitForSettledAsync(1);
        Assert.Equal(ProbeOutcomeKind.Reply, good.Outcomes[0].Kind);
        var failure = Assert.Single(foreign.Outcomes);
        Assert.Equal(ProbeOutcomeKind.Failed, failure.Kind);
        Assert.Equal("cannot send from 10.0.0.50: it is not an address of this host (or of the network namespace the exporter runs in)", failure.Error);
    }

    [Fact]
    [Trait("Needs", "root")]
    public async Task Datagram_sockets_work_where_ping_group_range_allows_them()
    {
        await using var topology = await ProbeTopology.CreateAsync();
        await topology.Prober.ExecAsync("sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 0");
        await using var engine = Engine(topology.Prober.Path, IcmpSocketKind.Datagram);
        var recorders = new[] { new OutcomeRecorder(), new OutcomeRecorder(), new OutcomeRecorder() };

        await SendAsync(engine, new ProbeRequest(ProbeTopology.TargetV4, null, Timeout), recorders[0], 10);
        await SendAsync(engine, new ProbeRequest(ProbeTopology.TargetV4, ProbeTopology.ProberV4Second, Timeout), recorders[1], 10);
        await SendAsync(engine, new ProbeRequest(ProbeTopology.TargetV6, ProbeTopology.ProberV6, Timeout), recorders[2], 10);

        foreach (var recorder in recorders)
        {
            await recorder.WaitForSettledAsync(10);
            Assert.Equal(10, recorder.Count(ProbeOutcomeKind.Reply));
            Assert.All(recorder.Outcomes, o => Assert.True(o.RoundTripTime > TimeSpan.Zero));
        }

        Assert.Equal(IcmpSocketKind.Datagram, engine.SocketKindFor(AddressFamily.InterNetwork));
        Assert.Equal(IcmpSocketKind.Datagram, engine.SocketKindFor(AddressFamily.InterNetworkV6));
    }

    [Fact]
    [Trait("Needs", "root")]
    public async Task Forced_datagram_sockets_outside_ping_group_range_fail_with_how_to_fix_it()
    {
        await using var topology = await ProbeTopology.CreateAsync();
        await topology.Prober.ExecAsync("sysctl", "-q", "-w", "net.ipv4.ping_group_range=1 0");
        await using var engine = Engine(topology.Prober.Path, IcmpSocketKind.Datagram);
        var recorder = new OutcomeRecorder();

        engine.Send(new ProbeRequest(ProbeTopology.TargetV4, null, Timeout), recorder);

        var outcome = Assert.Single(recorder.Outcomes);
        Assert.Equal(ProbeOutcomeKind.Failed, outcome.Kind);
        Assert.Contains("grant CAP_NET_RAW or allow the group in net.ipv4.ping_group_range", outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Needs", "root")]
    public async Task Without_CAP_NET_RAW_auto_chooses_datagram_sockets_when_ping_group_range_allows()
    {
        await using var topology = await ProbeTopology.CreateAsync();
        await topology.Prober.ExecAsync("sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 0");
        await using var engine = Engine(topology.Prober.Path);
        var recorder = new OutcomeRecorder();

        // The first probe opens the socket, on a thread that has lost CAP_NET_RAW.
        ThreadCapabilities.WithoutNetRaw(() =>
        {
            engine.Send(new ProbeRequest(ProbeTopology.TargetV4, ProbeTopology.ProberV4, Timeout), recorder);
            return 0;
        });

        await recorder.WaitForSettledAsync(1);
        Assert.Equal(ProbeOutcomeKind.Reply, recorder.Outcomes[0].Kind);
        Assert.Equal(IcmpSocketKind.Datagram, engine.SocketKindFor(AddressFamily.InterNetwork));
    }

    [Fact]
    [Trait("Needs", "root")]
    public async Task Without_any_ICMP_socket_auto_falls_back_to_System_Ping_and_says_once_how_to_grant_CAP_NET_RAW()
    {
        await using var topology = await ProbeTopology.CreateAsync();
        await topology.Prober.ExecAsync("sysctl", "-q", "-w", "net.ipv4.ping_group_range=1 0");
        var logger = new FakeLogger<IcmpProbe>();
        await using var engine = new IcmpProbe(new IcmpProbeOptions(NetworkNamespace: topology.Prober.Path), TimeProvider.System, logger);
        var loopback = new OutcomeRecorder();
        var inside = new OutcomeRecorder();

        ThreadCapabilities.WithoutNetRaw(() =>
        {
            engine.Send(new ProbeRequest(IPAddress.Loopback, null, Timeout), loopback);
            engine.Send(new ProbeRequest(IPAddress.IPv6Loopback, null, Timeout), loopback);
            engine.Send(new ProbeRequest(ProbeTopology.TargetV4, ProbeTopology.ProberV4, Timeout), inside);
            return 0;
        });

        // System.Net.NetworkInformation.Ping sends from the test process's own namespace: loopback answers there.
        await loopback.WaitForSettledAsync(2);
        Assert.All(loopback.Outcomes, o => Assert.Equal(ProbeOutcomeKind.Reply, o.Kind));
        Assert.Equal(IcmpSocketKind.SystemPing, engine.SocketKindFor(AddressFamily.InterNetwork));
        Assert.Equal(IcmpSocketKind.SystemPing, engine.SocketKindFor(AddressFamily.InterNetworkV6));
        var refused = Assert.Single(inside.Outcomes);
        Assert.Equal(ProbeOutcomeKind.Failed, refused.Kind);
        Assert.Contains("choosing a source address needs an ICMP socket", refused.Error, StringComparison.Ordinal);
        var warning = Assert.Single(logger.Collector.GetSnapshot(), r => r.Level == LogLevel.Warning);
        Assert.Contains("setcap cap_net_raw+ep", warning.Message, StringComparison.Ordinal);
        Assert.Contains("ping_group_range = \"1 0\"", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Needs", "root")]
    public async Task A_reply_after_the_timeout_is_a_timeout_and_a_late_reply_never_a_response()
    {
        await using var engine = Engine();
        var recorder = new OutcomeRecorder();

        // A one-tick timeout: even a loopback reply arrives after it.
        await SendAsync(engine, new ProbeRequest(IPAddress.Loopback, null, TimeSpan.FromTicks(1)), recorder, 10);

        await Poll.UntilAsync(() => recorder.Count(ProbeOutcomeKind.LateReply) == 10, TimeSpan.FromSeconds(5));
        Assert.Equal(10, recorder.Count(ProbeOutcomeKind.Timeout));
        Assert.Equal(0, recorder.Count(ProbeOutcomeKind.Reply));
    }

    [Fact]
    [Trait("Needs", "root")]
    public async Task A_duplicated_reply_is_counted_as_a_duplicate_not_as_a_second_response()
    {
        await using var topology = await ProbeTopology.CreateAsync();
        // The target's kernel sends every echo reply twice.
        await topology.Target.NftAsync("""
            table ip duplicate {
              chain output {
                type filter hook output priority 0; policy accept;
                icmp type echo-reply dup to 10.0.0.1 device "veth0"
              }
            }
            """);
        await using var engine = Engine(topology.Prober.Path);
        var recorder = new OutcomeRecorder();

        await SendAsync(engine, new ProbeRequest(ProbeTopology.TargetV4, null, Timeout), recorder, 10);

        await recorder.WaitForSettledAsync(10);
        await Poll.UntilAsync(() => recorder.Count(ProbeOutcomeKind.DuplicateReply) == 10, TimeSpan.FromSeconds(5),
            () => $"{recorder.Count(ProbeOutcomeKind.DuplicateReply)} duplicates");
        Assert.Equal(10, recorder.Count(ProbeOutcomeKind.Reply));
    }

    [Fact]
    [Trait("Needs", "root")]
    public async Task Replies_to_another_program_pinging_the_same_target_are_not_ours()
    {
        await using var topology = await ProbeTopology.CreateAsync();
        await using var engine = Engine(topology.Prober.Path);
        var recorder = new OutcomeRecorder();

        // iputils ping as root uses a raw socket too: both see every echo reply of the namespace.
        var ping = topology.Prober.ExecAsync("ping", "-q", "-c", "40", "-i", "0.01", "-W", "1", ProbeTopology.TargetV4.ToString());
        await SendAsync(engine, new ProbeRequest(ProbeTopology.TargetV4, null, Timeout), recorder, 40);
        await ping;

        await recorder.WaitForSettledAsync(40);
        Assert.Equal(40, recorder.Outcomes.Count);
        Assert.Equal(40, recorder.Count(ProbeOutcomeKind.Reply));
    }

    internal static IcmpProbe Engine(string? networkNamespace = null, IcmpSocketKind kind = IcmpSocketKind.Auto) =>
        new(new IcmpProbeOptions(kind, networkNamespace), TimeProvider.System, NullLogger<IcmpProbe>.Instance);

    /// <summary>Sends <paramref name="count"/> probes about 5 ms apart.</summary>
    private static async Task SendAsync(IcmpProbe engine, ProbeRequest request, OutcomeRecorder recorder, int count)
    {
        for (var i = 0; i < count; i++)
        {
            engine.Send(request, recorder);
            await Task.Delay(5);
        }
    }

    private static async Task<long> CounterAsync(NetworkNamespace ns, string name)
    {
        var text = await ns.ExecAsync("nft", "list", "counter", "inet", "sources", name);
        return long.Parse(PacketsPattern().Match(text).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"packets (\d+)")]
    private static partial Regex PacketsPattern();
}

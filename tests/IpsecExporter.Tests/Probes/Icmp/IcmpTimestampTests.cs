using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using IpsecExporter.Metrics;
using IpsecExporter.Probes;
using IpsecExporter.Probes.Icmp;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpsecExporter.Tests.Probes.Icmp;

/// <summary>
/// RTTs from the kernel's receive timestamps, on raw and datagram sockets in a network namespace's loopback: a reply
/// that waits in the socket while the receive thread is busy still gets its true RTT; without kernel timestamps it
/// gets the wait.
/// </summary>
public sealed class IcmpTimestampTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    /// <summary>How long the test keeps the receive thread busy while the next reply waits in the socket.</summary>
    private static readonly TimeSpan Hold = TimeSpan.FromMilliseconds(100);

    [Theory]
    [InlineData(IcmpSocketKind.Raw, "127.0.0.1")]
    [InlineData(IcmpSocketKind.Raw, "::1")]
    [InlineData(IcmpSocketKind.Datagram, "127.0.0.1")]
    [InlineData(IcmpSocketKind.Datagram, "::1")]
    [Trait("Needs", "root")]
    public async Task A_reply_waiting_while_the_receive_thread_is_busy_gets_the_kernels_round_trip(IcmpSocketKind kind, string address)
    {
        await using var ns = await LoopbackNamespaceAsync();
        await using var engine = IcmpProbeTests.Engine(ns.Path, kind);
        var target = IPAddress.Parse(address);

        var delayed = await RoundTripWhileTheReceiverIsHeldAsync(engine, target);

        Assert.Equal(IcmpTimestampSource.Kernel, engine.TimestampSourceFor(target.AddressFamily));
        Assert.True(delayed < TimeSpan.FromMilliseconds(10), $"the reply read {Hold.TotalMilliseconds} ms late measured {delayed.TotalMicroseconds} µs");
        Assert.True(delayed > TimeSpan.Zero, $"RTT {delayed} is not positive");
    }

    [Theory]
    [InlineData(IcmpSocketKind.Raw)]
    [InlineData(IcmpSocketKind.Datagram)]
    [Trait("Needs", "root")]
    public async Task Without_kernel_timestamps_replies_are_timed_when_the_receive_thread_reads_them(IcmpSocketKind kind)
    {
        await using var ns = await LoopbackNamespaceAsync();
        await using var engine = new IcmpProbe(new IcmpProbeOptions(kind, ns.Path, KernelTimestamps: false), TimeProvider.System, NullLogger<IcmpProbe>.Instance);

        var delayed = await RoundTripWhileTheReceiverIsHeldAsync(engine, IPAddress.Loopback);

        Assert.Equal(IcmpTimestampSource.MonotonicClock, engine.TimestampSourceFor(AddressFamily.InterNetwork));
        Assert.True(delayed >= Hold, $"the reply read {Hold.TotalMilliseconds} ms late measured only {delayed.TotalMicroseconds} µs");
    }

    [Theory]
    [InlineData(IcmpSocketKind.Raw, "127.0.0.1")]
    [InlineData(IcmpSocketKind.Raw, "::1")]
    [InlineData(IcmpSocketKind.Datagram, "127.0.0.1")]
    [InlineData(IcmpSocketKind.Datagram, "::1")]
    [Trait("Needs", "root")]
    public async Task Loopback_round_trips_in_a_network_namespace_have_a_median_below_100_microseconds(IcmpSocketKind kind, string address)
    {
        const int Probes = 200;
        await using var ns = await LoopbackNamespaceAsync();
        await using var engine = IcmpProbeTests.Engine(ns.Path, kind);
        var recorder = new OutcomeRecorder();

        for (var i = 0; i < Probes; i++)
        {
            engine.Send(new ProbeRequest(IPAddress.Parse(address), null, Timeout), recorder);
            await Task.Delay(2);
        }

        await recorder.WaitForSettledAsync(Probes);
        Assert.Equal(Probes, recorder.Count(ProbeOutcomeKind.Reply));
        var rtts = recorder.Outcomes.Select(o => o.RoundTripTime).Order().ToList();
        var median = rtts[Probes / 2];
        Assert.True(median < TimeSpan.FromMicroseconds(100), $"median {median.TotalMicroseconds} µs (min {rtts[0].TotalMicroseconds}, max {rtts[^1].TotalMicroseconds})");
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 0)]
    [Trait("Needs", "root")]
    public async Task The_kernel_timestamps_gauge_says_how_replies_are_timed(bool kernelTimestamps, double expected)
    {
        await using var ns = await LoopbackNamespaceAsync();
        await using var services = new ServiceCollection()
            .AddSingleton(TimeProvider.System)
            .AddSingleton(new IcmpProbeOptions(IcmpSocketKind.Raw, ns.Path, kernelTimestamps))
            .AddSingleton(typeof(ILogger<>), typeof(NullLogger<>))
            .BuildServiceProvider();
        await using var probe = new IcmpProbeFactory().Create(services);
        var metrics = Assert.IsAssignableFrom<IMetricsContributor>(probe);

        // Absent until a socket says how it times replies.
        Assert.DoesNotContain("\nipsec_probe_kernel_timestamps ", MetricsText.Render(metrics), StringComparison.Ordinal);
        var recorder = new OutcomeRecorder();
        probe.Send(new ProbeRequest(IPAddress.Loopback, null, Timeout), recorder);
        await recorder.WaitForSettledAsync(1);

        Assert.Equal(expected, MetricsText.Value(MetricsText.Render(metrics), "ipsec_probe_kernel_timestamps"));
    }

    [Fact]
    public void The_timestamp_is_found_after_other_control_messages()
    {
        // Two cmsghdrs as 64-bit Linux lays them out: an IP_TTL (level 0, type 2, one int, padded to 8) and SCM_TIMESTAMPNS.
        var control = new byte[24 + 32];
        BitConverter.TryWriteBytes(control.AsSpan(0), 20L);
        BitConverter.TryWriteBytes(control.AsSpan(8), 0);
        BitConverter.TryWriteBytes(control.AsSpan(12), 2);
        BitConverter.TryWriteBytes(control.AsSpan(16), 64);
        BitConverter.TryWriteBytes(control.AsSpan(24), 32L);
        BitConverter.TryWriteBytes(control.AsSpan(32), 1);
        BitConverter.TryWriteBytes(control.AsSpan(36), 35);
        BitConverter.TryWriteBytes(control.AsSpan(40), 1_700_000_000L);
        BitConverter.TryWriteBytes(control.AsSpan(48), 123_456_789L);

        Assert.Equal(1_700_000_000_123_456_789L, KernelTimestamps.ReadTimestamp(control));
        Assert.Equal(0, KernelTimestamps.ReadTimestamp(control.AsSpan(0, 24)));
        Assert.Equal(0, KernelTimestamps.ReadTimestamp([]));
    }

    /// <summary>
    /// Holds the receive thread in the outcome of a first probe, sends a second one, and lets the thread go after
    /// <see cref="Hold"/>: the second reply has been sitting in the socket all that time. Returns its RTT.
    /// </summary>
    private static async Task<TimeSpan> RoundTripWhileTheReceiverIsHeldAsync(IcmpProbe engine, IPAddress target)
    {
        // The kernel switches receive timestamping on for the whole host from a work queue, some time after the first
        // socket asks: until then it stamps packets when they are read. Warm up (this also opens the socket) first.
        var warmUp = new OutcomeRecorder();
        for (var i = 0; i < 20; i++)
        {
            engine.Send(new ProbeRequest(target, null, Timeout), warmUp);
            await Task.Delay(5);
        }

        await warmUp.WaitForSettledAsync(20);
        var holding = new HoldingSink();
        engine.Send(new ProbeRequest(target, null, Timeout), holding);
        await holding.Entered.WaitAsync(TimeSpan.FromSeconds(10));

        var recorder = new OutcomeRecorder();
        var sent = Stopwatch.GetTimestamp();
        engine.Send(new ProbeRequest(target, null, Timeout), recorder);
        // Task.Delay may end a little early: hold until the hold has really passed.
        while (Stopwatch.GetElapsedTime(sent) < Hold)
        {
            await Task.Delay(Hold - Stopwatch.GetElapsedTime(sent) + TimeSpan.FromMilliseconds(1));
        }

        holding.Release();

        await recorder.WaitForSettledAsync(1);
        var outcome = Assert.Single(recorder.Outcomes);
        Assert.Equal(ProbeOutcomeKind.Reply, outcome.Kind);
        return outcome.RoundTripTime;
    }

    /// <summary>A namespace with loopback up whose ping_group_range admits root, so datagram sockets are allowed.</summary>
    private static async Task<NetworkNamespace> LoopbackNamespaceAsync()
    {
        var ns = await NetworkNamespace.CreateAsync();
        try
        {
            await ns.ExecAsync("sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 0");
            return ns;
        }
        catch
        {
            await ns.DisposeAsync();
            throw;
        }
    }

    /// <summary>Blocks the thread that reports its first outcome (the engine's receive thread) until released.</summary>
    private sealed class HoldingSink : IProbeOutcomeSink
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Entered => _entered.Task;

        public void OnOutcome(ProbeOutcome outcome)
        {
            _entered.TrySetResult();
            // Bounded, so a failing test cannot leave the engine's thread stuck.
            _released.Task.Wait(TimeSpan.FromSeconds(10));
        }

        public void Release() => _released.TrySetResult();
    }
}

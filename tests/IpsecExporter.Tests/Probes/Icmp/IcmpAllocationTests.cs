using System.Net;
using IpsecExporter.Probes;
using IpsecExporter.Probes.Icmp;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Probes.Icmp;

/// <summary>
/// The engine's steady path allocates nothing per probe: not the sending thread, not the receive thread that matches,
/// times and reports each reply. Measured with the per-thread allocation counter after a warm-up at three times the
/// measured rate: the engine's tables (request slots, kept for a minute to recognise late replies; the deadline queue,
/// swept after the timeout) grow by doubling to what the rate needs, and then stay as they are.
/// </summary>
public sealed class IcmpAllocationTests
{
    private const int Probes = 500;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    [Theory]
    [InlineData(IcmpSocketKind.Raw, "127.0.0.1")]
    [InlineData(IcmpSocketKind.Raw, "::1")]
    [InlineData(IcmpSocketKind.Datagram, "127.0.0.1")]
    [Trait("Needs", "root")]
    public async Task Sending_and_receiving_a_probe_allocate_nothing_once_warm(IcmpSocketKind kind, string address)
    {
        await using var ns = await NetworkNamespace.CreateAsync();
        await ns.ExecAsync("sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 0");
        await using var engine = IcmpProbeTests.Engine(ns.Path, kind);
        var request = new ProbeRequest(IPAddress.Parse(address), null, Timeout);

        var warmUp = new AllocationRecordingSink(3 * Probes);
        SendAll(engine, request, warmUp, 3 * Probes);
        await warmUp.WaitAsync();

        var measured = new AllocationRecordingSink(Probes);
        var before = GC.GetAllocatedBytesForCurrentThread();
        SendAll(engine, request, measured, Probes);
        var sending = GC.GetAllocatedBytesForCurrentThread() - before;
        await measured.WaitAsync();

        Assert.Equal(0, sending);
        Assert.Equal(Probes, measured.Replies);
        // From the first reply's report to the last: everything the receive thread allocated in between.
        Assert.Equal(0, measured.ReceiveThreadAllocated);
    }

    private static void SendAll(IcmpProbe engine, ProbeRequest request, IProbeOutcomeSink sink, int count)
    {
        for (var i = 0; i < count; i++)
        {
            engine.Send(request, sink);
        }
    }

    /// <summary>Notes, without allocating, the reporting thread's allocation counter at each reply.</summary>
    private sealed class AllocationRecordingSink(int expected) : IProbeOutcomeSink
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _first = -1;
        private long _last;
        private int _settled;
        private int _replies;

        public int Replies => Volatile.Read(ref _replies);

        public long ReceiveThreadAllocated => _last - _first;

        public void OnOutcome(ProbeOutcome outcome)
        {
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            if (outcome.Kind == ProbeOutcomeKind.Reply)
            {
                Interlocked.Increment(ref _replies);
                if (_first < 0)
                {
                    _first = allocated;
                }

                _last = allocated;
            }

            if (outcome.Settles && Interlocked.Increment(ref _settled) == expected)
            {
                _done.TrySetResult();
            }
        }

        public Task WaitAsync() => _done.Task.WaitAsync(TimeSpan.FromSeconds(20));
    }
}

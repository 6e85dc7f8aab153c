using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace IpsecExporter.Probes.Icmp;

/// <summary>
/// One ICMP socket (raw or datagram) shared by every target of an address family and source address. Requests are
/// numbered by a 16-bit sequence (one slot per sequence number) and carry a serial in their payload; replies are
/// matched by sequence, serial and the replying address, and classified as reply, late (after the timeout) or
/// duplicate by a dedicated receive thread. RTTs come from the kernel's receive timestamp of the reply (SO_TIMESTAMPNS)
/// minus the time read right before <c>sendto</c>, so they do not include how long the receive thread took to get
/// round to the reply; without kernel timestamps, from the monotonic clock when the thread read it.
/// </summary>
internal sealed partial class IcmpSocketChannel : IEchoChannel
{
    private const int SequenceSpace = ushort.MaxValue + 1;
    private const int InitialSlots = 64;
    // Enough for an IPv4 header with options and our echo reply; longer datagrams are truncated, which is fine.
    private const int ReceiveBufferLength = 2048;
    private const int Interrupted = 4; // EINTR

    // A kernel RTT longer than the monotonic one by more than this means CLOCK_REALTIME was stepped in between.
    private static readonly TimeSpan RealtimeStepTolerance = TimeSpan.FromMilliseconds(1);

    // Timeouts are swept in batches: one timer wake-up per slack, not one per probe.
    private static readonly TimeSpan TimeoutSlack = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan ReceiveErrorBackoff = TimeSpan.FromMilliseconds(100);

    // A slot (a sequence number) is reused only once its probe is this old, so late and duplicate replies are still
    // recognised that long; the slots grow (up to the whole sequence space) until they hold that much of the rate.
    private static readonly TimeSpan SlotReuseAge = TimeSpan.FromMinutes(1);

    // With kernel timestamps, when a reply is read does not change its RTT: the receive thread drains what is queued,
    // then lets replies gather this long, instead of waking once per reply (the most of its CPU at 1,000 targets).
    private static readonly TimeSpan ReceiveBatching = TimeSpan.FromMilliseconds(50);

    private readonly Socket _socket;
    private readonly IcmpSocketKind _kind;
    private readonly AddressFamily _family;
    private readonly ushort _identifier;
    private readonly ulong _token;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly bool _kernelTimestamps;
    private readonly Lock _lock = new();
    private readonly PriorityQueue<(EchoSlot Slot, long Serial), long> _deadlines = new();
    private readonly Dictionary<IPAddress, SocketAddress> _destinations = [];
    private readonly ITimer _timeoutTimer;

    // Set on disposal: ends the receive thread's pauses (batching, error back-off) at once. No spinning before it blocks.
    private readonly ManualResetEventSlim _stopping = new(false, spinCount: 0);
    private readonly Thread _receiver;
    // Sequence number == index. Grown by doubling, all slots allocated then, so sending allocates nothing.
    private EchoSlot[] _slots = NewSlots([], InitialSlots);
    private long _timerDue = long.MaxValue;
    private int _nextSequence;
    private long _nextSerial;
    private volatile IcmpTimestampSource _timestampSource;
    private volatile bool _disposed;

    /// <summary>
    /// Takes over <paramref name="socket"/>; <paramref name="identifier"/> is the echo id of a raw socket (the kernel
    /// chooses a datagram socket's). <paramref name="kernelTimestamps"/> asks the kernel for receive timestamps.
    /// </summary>
    public IcmpSocketChannel(Socket socket, IcmpSocketKind kind, ushort identifier, ulong token, bool kernelTimestamps, TimeProvider time, ILogger logger)
    {
        _socket = socket;
        _kind = kind;
        _family = socket.AddressFamily;
        // The kernel rewrites the id of a datagram socket's requests to the socket's "port" and delivers only its replies.
        _identifier = kind == IcmpSocketKind.Datagram ? (ushort)((IPEndPoint)socket.LocalEndPoint!).Port : identifier;
        _token = token;
        _time = time;
        _logger = logger;
        _kernelTimestamps = kernelTimestamps && KernelTimestamps.TryEnable(socket);
        _timestampSource = _kernelTimestamps ? IcmpTimestampSource.Kernel : IcmpTimestampSource.MonotonicClock;
        _nextSequence = Random.Shared.Next(InitialSlots);
        _timeoutTimer = time.CreateTimer(_ => ExpireDue(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _receiver = new Thread(ReceiveLoop)
        {
            IsBackground = true,
            Name = $"icmp-receive-{(_family == AddressFamily.InterNetwork ? "v4" : "v6")}",
        };
        _receiver.Start();
    }

    private enum SlotState
    {
        Free,
        Pending,
        Answered,
        TimedOut,
        Failed,
    }

    /// <summary>What timed the latest reply (before the first: what the socket is set up for).</summary>
    public IcmpTimestampSource TimestampSource => _timestampSource;

    public void Send(ProbeRequest request, IProbeOutcomeSink sink)
    {
        Span<byte> packet = stackalloc byte[IcmpPacket.Length];
        var slot = Prepare(request, sink, packet, out var serial, out var destination, out var refused);
        if (slot is null)
        {
            sink.OnOutcome(ProbeOutcome.FailedWith(refused!));
            return;
        }

        // Outside the lock, so the receive thread woken by the reply does not wait for this thread to leave it.
        if (_kernelTimestamps)
        {
            // Last, as close to the sendto as the runtime allows: the kernel stamps the reply on this clock.
            Volatile.Write(ref slot.SentAtRealtime, KernelTimestamps.RealtimeNow());
        }

        var errno = KernelTimestamps.SendTo(_socket.SafeHandle, packet, destination!);
        if (errno == 0)
        {
            return;
        }

        lock (_lock)
        {
            if (slot.Serial != serial || slot.State != SlotState.Pending)
            {
                return;
            }

            slot.State = SlotState.Failed;
        }

        sink.OnOutcome(ProbeOutcome.FailedWith(errno < 0 ? "the probe engine is stopped" : Marshal.GetPInvokeErrorMessage(errno)));
    }

    /// <summary>
    /// Takes a slot for the probe, writes its packet and marks it pending with its deadline; null (and why) when the
    /// engine is stopped or every sequence number is in flight.
    /// </summary>
    private EchoSlot? Prepare(ProbeRequest request, IProbeOutcomeSink sink, Span<byte> packet, out long serial, out SocketAddress? destination, out string? refused)
    {
        lock (_lock)
        {
            (serial, destination, refused) = (0, null, null);
            if (_disposed)
            {
                refused = "the probe engine is stopped";
                return null;
            }

            if (TakeSlot(_time.GetTimestamp(), out var sequence) is not { } slot)
            {
                refused = $"{SequenceSpace} probes are outstanding on one socket";
                return null;
            }

            serial = ++_nextSerial;
            slot.Serial = serial;
            slot.Target = request.Target;
            slot.Sink = sink;
            IcmpPacket.WriteEchoRequest(packet, _family, _identifier, sequence, _token, serial);
            destination = Destination(request.Target);
            // Pending before the send: on loopback the reply is there before sendto returns.
            slot.State = SlotState.Pending;
            slot.SentAt = _time.GetTimestamp();
            slot.Deadline = slot.SentAt + (long)(request.Timeout.TotalSeconds * _time.TimestampFrequency);
            _deadlines.Enqueue((slot, serial), slot.Deadline);
            ArmTimer(slot.Deadline);
            return slot;
        }
    }

    public void Dispose()
    {
        List<IProbeOutcomeSink> stopped = [];
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _timeoutTimer.Dispose();
            // Settle what is still in flight, so nobody waits forever for an answer that cannot come.
            foreach (var slot in _slots)
            {
                if (slot is { State: SlotState.Pending, Sink: { } sink })
                {
                    slot.State = SlotState.Failed;
                    stopped.Add(sink);
                }
            }
        }

        // The receive thread blocks in recvmsg, which closing the socket would not wake: wake it, wait for it to
        // leave, then close (so it can never read from a descriptor number reused by someone else).
        if (Thread.CurrentThread != _receiver)
        {
            _stopping.Set();
            KernelTimestamps.WakeReceiver(_socket);
            _receiver.Join();
            _stopping.Dispose();
        }

        _socket.Dispose();
        foreach (var sink in stopped)
        {
            sink.OnOutcome(ProbeOutcome.FailedWith("the probe engine is stopped"));
        }
    }

    /// <summary>
    /// The next sequence number whose slot is not waiting for a reply. Slots are reused as the sequence wraps; when the
    /// next one's probe is younger than <see cref="SlotReuseAge"/>, the slots double instead (up to 65,536).
    /// </summary>
    private EchoSlot? TakeSlot(long now, out ushort sequence)
    {
        var reuseAge = (long)(SlotReuseAge.TotalSeconds * _time.TimestampFrequency);
        for (var tries = 0; tries < _slots.Length; tries++)
        {
            if (_slots.Length < SequenceSpace && _slots[_nextSequence] is { State: not SlotState.Free } next && now - next.SentAt < reuseAge)
            {
                _nextSequence = _slots.Length;
                _slots = NewSlots(_slots, _slots.Length * 2);
            }

            sequence = (ushort)_nextSequence;
            _nextSequence = (_nextSequence + 1) % _slots.Length;
            var slot = _slots[sequence];
            if (slot.State != SlotState.Pending)
            {
                return slot;
            }
        }

        sequence = 0;
        return null;
    }

    /// <summary><paramref name="slots"/> at the same indices, then new free slots up to <paramref name="length"/>.</summary>
    private static EchoSlot[] NewSlots(EchoSlot[] slots, int length)
    {
        var grown = new EchoSlot[length];
        slots.CopyTo(grown, 0);
        for (var i = slots.Length; i < length; i++)
        {
            grown[i] = new EchoSlot();
        }

        return grown;
    }

    private SocketAddress Destination(IPAddress target)
    {
        if (!_destinations.TryGetValue(target, out var address))
        {
            // Bounded by the number of targets; a reload that replaces every target starts over.
            if (_destinations.Count >= 65536)
            {
                _destinations.Clear();
            }

            address = new IPEndPoint(target, 0).Serialize();
            _destinations[target] = address;
        }

        return address;
    }

    // The sweep runs at most TimeoutSlack after the earliest deadline. Compared with the deadline alone, every probe
    // sent within the slack postponed it: under steady sends it never ran, timeouts were never reported and the
    // deadline queue grew by one entry per probe (the soak, docs/PERFORMANCE.md).
    private void ArmTimer(long deadline)
    {
        var due = deadline + (long)(TimeoutSlack.TotalSeconds * _time.TimestampFrequency);
        if (due >= _timerDue)
        {
            return;
        }

        _timerDue = due;
        var dueIn = _time.GetElapsedTime(_time.GetTimestamp(), _timerDue);
        _timeoutTimer.Change(dueIn > TimeSpan.Zero ? dueIn : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    private void ExpireDue()
    {
        List<IProbeOutcomeSink>? expired = null;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _timerDue = long.MaxValue;
            var now = _time.GetTimestamp();
            while (_deadlines.TryPeek(out var entry, out var deadline))
            {
                if (deadline > now)
                {
                    ArmTimer(deadline);
                    break;
                }

                _deadlines.Dequeue();
                if (entry.Slot.Serial == entry.Serial && entry.Slot.State == SlotState.Pending)
                {
                    entry.Slot.State = SlotState.TimedOut;
                    (expired ??= []).Add(entry.Slot.Sink!);
                }
            }
        }

        foreach (var sink in expired ?? [])
        {
            sink.OnOutcome(ProbeOutcome.TimedOut());
        }
    }

    private void ReceiveLoop()
    {
        Span<byte> buffer = stackalloc byte[ReceiveBufferLength];
        Span<byte> from = stackalloc byte[KernelTimestamps.AddressBufferLength];
        var fd = (int)_socket.SafeHandle.DangerousGetHandle();
        // Raw IPv4 sockets deliver the IP header; ICMPv6 and datagram sockets do not.
        var withIpv4Header = _kind == IcmpSocketKind.Raw && _family == AddressFamily.InterNetwork;
        var lastError = 0;
        var draining = false;
        while (!_disposed)
        {
            var length = KernelTimestamps.Receive(fd, buffer, from, draining, out var kernelReceivedAt, out var errno);
            var receivedAt = _time.GetTimestamp();
            if (_disposed)
            {
                return;
            }

            if (length < 0)
            {
                if (errno == Interrupted)
                {
                    continue;
                }

                if (draining && errno == KernelTimestamps.NothingQueued)
                {
                    // Everything queued is read: let the next replies gather, then block until there is one.
                    draining = false;
                    _stopping.Wait(ReceiveBatching);
                    continue;
                }

                // Logged when it starts (or changes), not on every retry.
                if (lastError != errno)
                {
                    LogReceiveFailed(_logger, _family, Marshal.GetPInvokeErrorMessage(errno));
                    lastError = errno;
                }

                _stopping.Wait(ReceiveErrorBackoff);
                continue;
            }

            lastError = 0;
            if (IcmpPacket.TryReadEchoReply(buffer[..length], _family, withIpv4Header, out var reply)
                && reply.Token == _token && reply.Identifier == _identifier)
            {
                Match(reply, from, receivedAt, kernelReceivedAt);
            }

            // Batching is only for replies the kernel timed; monotonic RTTs need each reply read at once.
            draining = _timestampSource == IcmpTimestampSource.Kernel;
        }
    }

    private void Match(EchoReply reply, ReadOnlySpan<byte> from, long receivedAt, long kernelReceivedAt)
    {
        IProbeOutcomeSink sink;
        ProbeOutcome outcome;
        var timedOut = false;
        lock (_lock)
        {
            if (reply.Sequence >= _slots.Length)
            {
                return;
            }

            var slot = _slots[reply.Sequence];
            if (slot is not { Sink: { } slotSink } || slot.Serial != reply.Serial || !IsFrom(from, _family, slot.Target!))
            {
                return;
            }

            var roundTrip = RoundTrip(slot, receivedAt, kernelReceivedAt);
            switch (slot.State)
            {
                case SlotState.Pending when slot.SentAt + (long)(roundTrip.TotalSeconds * _time.TimestampFrequency) > slot.Deadline:
                    // Past its deadline but before the batched sweep noticed: a timeout all the same.
                    slot.State = SlotState.TimedOut;
                    timedOut = true;
                    outcome = new ProbeOutcome(ProbeOutcomeKind.LateReply, roundTrip, null);
                    break;
                case SlotState.Pending:
                    slot.State = SlotState.Answered;
                    outcome = ProbeOutcome.Replied(roundTrip);
                    break;
                case SlotState.TimedOut:
                    outcome = new ProbeOutcome(ProbeOutcomeKind.LateReply, roundTrip, null);
                    break;
                case SlotState.Answered:
                    outcome = new ProbeOutcome(ProbeOutcomeKind.DuplicateReply, roundTrip, null);
                    break;
                default:
                    return;
            }

            sink = slotSink;
        }

        if (timedOut)
        {
            sink.OnOutcome(ProbeOutcome.TimedOut());
        }

        sink.OnOutcome(outcome);
    }

    /// <summary>
    /// The kernel's RTT when the reply carries a receive timestamp, else the monotonic one. Both ends of the kernel's
    /// are CLOCK_REALTIME: when it is outside [0, monotonic + tolerance] the clock was stepped, and the monotonic RTT
    /// (never shorter than the true one) is used for that reply.
    /// </summary>
    private TimeSpan RoundTrip(EchoSlot slot, long receivedAt, long kernelReceivedAt)
    {
        var monotonic = _time.GetElapsedTime(slot.SentAt, receivedAt);
        if (!_kernelTimestamps)
        {
            return monotonic;
        }

        var source = kernelReceivedAt == 0 ? IcmpTimestampSource.MonotonicClock : IcmpTimestampSource.Kernel;
        if (source != _timestampSource)
        {
            _timestampSource = source;
            LogTimestampSourceChanged(_logger, _family, source);
        }

        if (source == IcmpTimestampSource.MonotonicClock)
        {
            return monotonic;
        }

        var kernel = TimeSpan.FromTicks((kernelReceivedAt - slot.SentAtRealtime) / TimeSpan.NanosecondsPerTick);
        return kernel >= TimeSpan.Zero && kernel <= monotonic + RealtimeStepTolerance ? kernel : monotonic;
    }

    /// <summary>Compares the sender of a reply with the probed address without allocating (sockaddr_in/sockaddr_in6 layout).</summary>
    private static bool IsFrom(ReadOnlySpan<byte> from, AddressFamily family, IPAddress target)
    {
        Span<byte> expected = stackalloc byte[16];
        if (!target.TryWriteBytes(expected, out var length))
        {
            return false;
        }

        var offset = family == AddressFamily.InterNetwork ? 4 : 8;
        return from.Length >= offset + length && from.Slice(offset, length).SequenceEqual(expected[..length]);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "ICMP receive on the {Family} socket failed: {Error}; retrying")]
    private static partial void LogReceiveFailed(ILogger logger, AddressFamily family, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ICMP replies on the {Family} socket are now timed by {Source} (Kernel: the kernel's receive timestamps; MonotonicClock: when the receive thread read them, including its scheduling delay)")]
    private static partial void LogTimestampSourceChanged(ILogger logger, AddressFamily family, IcmpTimestampSource source);

    private sealed class EchoSlot
    {
        public long Serial { get; set; }

        public IPAddress? Target { get; set; }

        public IProbeOutcomeSink? Sink { get; set; }

        public long SentAt { get; set; }

        /// <summary>CLOCK_REALTIME ns right before sendto, when the socket has kernel timestamps (a field: written with Volatile).</summary>
        public long SentAtRealtime;

        public long Deadline { get; set; }

        public SlotState State { get; set; }
    }
}

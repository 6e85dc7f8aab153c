using System.Buffers.Binary;
using System.Collections.Frozen;

namespace IpsecExporter.Sources.Vici;

/// <summary>charon answered a request with a failure (unknown command or event).</summary>
public sealed class ViciCommandException(string message) : Exception(message);

/// <summary>charon did not send the expected reply within the read timeout.</summary>
public sealed class ViciTimeoutException(string message) : TimeoutException(message);

/// <summary>
/// One VICI connection to charon. The protocol has no request ids, so exchanges are serialized: one command at a time.
/// Only read-only commands and the events they stream can be sent (<see cref="ReadOnlyCommands"/>): the exporter must
/// never change the daemon. Any failure in the middle of an exchange leaves the byte stream in an unknown place, so the
/// connection is then <see cref="IsBroken"/> and must be replaced.
/// </summary>
public sealed class ViciConnection : IAsyncDisposable
{
    /// <summary>The commands this client may send. Anything else (initiate, terminate, load-*) is refused locally.</summary>
    public static readonly FrozenSet<string> ReadOnlyCommands = FrozenSet.ToFrozenSet(["version", "stats", "list-sas", "list-conns"], StringComparer.Ordinal);

    /// <summary>The events this client may register for.</summary>
    public static readonly FrozenSet<string> ReadableEvents = FrozenSet.ToFrozenSet(
        ["list-sa", "list-conn", "ike-updown", "child-updown", "ike-rekey", "child-rekey"], StringComparer.Ordinal);

    private const string ClosedMessage = "charon closed the VICI connection";

    private readonly Stream _stream;
    private readonly TimeProvider _time;
    private readonly TimeSpan _readTimeout;
    private readonly SemaphoreSlim _exchange = new(1, 1);
    private readonly byte[] _header = new byte[4];

    /// <summary>The buffer streamed events are read into when their messages are only needed while they are handled.</summary>
    private byte[] _frame = [];
    private int _frameLength;

    // The sections of a frame decoded into _frame keep their entries here, valid as long as _frame's bytes are; its
    // pool keeps the strings of values from one answer (one poll's list-sas) to the next.
    private readonly ViciSectionBlocks _blocks = new();

    public ViciConnection(Stream stream, TimeProvider time, TimeSpan readTimeout)
    {
        _stream = stream;
        _time = time;
        _readTimeout = readTimeout;
    }

    /// <summary>Events that arrive outside the exchange that asked for them (registered events while a command runs).</summary>
    public event Action<ViciPacket>? UnsolicitedEvent;

    public bool IsBroken { get; private set; }

    public static async Task<ViciConnection> ConnectAsync(ViciEndpoint endpoint, TimeProvider time, TimeSpan readTimeout, CancellationToken cancellationToken)
    {
        var stream = await endpoint.ConnectAsync(cancellationToken);
        return new ViciConnection(stream, time, readTimeout);
    }

    /// <summary>A simple command: request, one response; every frame read is charged to <paramref name="budget"/>.</summary>
    public async Task<ViciSection> CallAsync(string command, ViciSection? arguments, CancellationToken cancellationToken, ViciAnswerBudget? budget = null)
    {
        RequireReadOnly(command);
        return await ExchangeAsync(async (token, deadline) =>
        {
            await WriteAsync(new ViciPacket(ViciPacketType.CmdRequest, command, arguments), token);
            return await ReadResponseAsync(command, null, budget, deadline);
        }, cancellationToken);
    }

    /// <summary>
    /// A streamed command: register for <paramref name="eventName"/>, send the request, collect the events until the
    /// response, unregister. Returns the streamed event messages in order. Every frame read is charged to
    /// <paramref name="budget"/>, and the SAs of <c>list-sa</c> events counted, so a stream that never ends is cut off.
    /// </summary>
    public async Task<IReadOnlyList<ViciSection>> CallStreamedAsync(
        string command, string eventName, ViciSection? arguments, CancellationToken cancellationToken, ViciAnswerBudget? budget = null)
    {
        var events = new List<ViciSection>();
        await StreamAsync(command, eventName, arguments, events.Add, reuseFrames: false, budget, cancellationToken);
        return events;
    }

    /// <summary>
    /// The same, handing each streamed event message to <paramref name="onEvent"/> as it arrives. The message is
    /// decoded in place from one buffer that the next frame overwrites, so it is valid only during the call: a hub's
    /// <c>list-sas</c> is then read without an allocation per frame, and nothing of it outlives its mapping.
    /// </summary>
    public Task CallStreamedAsync(
        string command, string eventName, ViciSection? arguments, Action<ViciSection> onEvent, CancellationToken cancellationToken, ViciAnswerBudget? budget = null) =>
        StreamAsync(command, eventName, arguments, onEvent, reuseFrames: true, budget, cancellationToken);

    private async Task StreamAsync(
        string command, string eventName, ViciSection? arguments, Action<ViciSection> onEvent, bool reuseFrames, ViciAnswerBudget? budget, CancellationToken cancellationToken)
    {
        RequireReadOnly(command);
        RequireReadable(eventName);
        await ExchangeAsync(async (token, deadline) =>
        {
            if (reuseFrames)
            {
                _blocks.NextAnswer();
            }

            await RegisterCoreAsync(ViciPacketType.EventRegister, eventName, budget, deadline, token);
            await WriteAsync(new ViciPacket(ViciPacketType.CmdRequest, command, arguments), token);
            await ReadResponseAsync(command, new StreamedEvents(eventName, onEvent, reuseFrames), budget, deadline);
            await RegisterCoreAsync(ViciPacketType.EventUnregister, eventName, budget, deadline, token);
            return true;
        }, cancellationToken);
    }

    /// <summary>Registers for an event that is then read with <see cref="ReadEventAsync"/>.</summary>
    public Task RegisterAsync(string eventName, CancellationToken cancellationToken)
    {
        RequireReadable(eventName);
        return ExchangeAsync(async (token, deadline) =>
        {
            await RegisterCoreAsync(ViciPacketType.EventRegister, eventName, null, deadline, token);
            return true;
        }, cancellationToken);
    }

    /// <summary>Waits, without the read timeout, for the next event of a registration (events are rare).</summary>
    public Task<ViciPacket> ReadEventAsync(CancellationToken cancellationToken) =>
        ExchangeAsync(async (_, deadline) =>
        {
            var packet = await ReadPacketAsync(Timeout.InfiniteTimeSpan, null, deadline);
            return packet.Type == ViciPacketType.Event
                ? packet
                : throw new ViciProtocolException($"expected an event, got {packet.Type}");
        }, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        IsBroken = true;
        await _stream.DisposeAsync();
        _exchange.Dispose();
    }

    private static void RequireReadOnly(string command)
    {
        if (!ReadOnlyCommands.Contains(command))
        {
            throw new InvalidOperationException($"VICI command '{command}' is not read-only; the exporter never sends it");
        }
    }

    private static void RequireReadable(string eventName)
    {
        if (!ReadableEvents.Contains(eventName))
        {
            throw new InvalidOperationException($"VICI event '{eventName}' is not one the exporter registers for");
        }
    }

    private async Task<T> ExchangeAsync<T>(Func<CancellationToken, ReadDeadline, Task<T>> exchange, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsBroken, this);
        await _exchange.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(IsBroken, this);
            using var deadline = new ReadDeadline(_time, cancellationToken);
            return await exchange(cancellationToken, deadline);
        }
        catch
        {
            IsBroken = true;
            throw;
        }
        finally
        {
            _exchange.Release();
        }
    }

    private async Task RegisterCoreAsync(ViciPacketType type, string eventName, ViciAnswerBudget? budget, ReadDeadline deadline, CancellationToken cancellationToken)
    {
        await WriteAsync(new ViciPacket(type, eventName, null), cancellationToken);
        while (true)
        {
            var packet = await ReadPacketAsync(_readTimeout, budget, deadline);
            switch (packet.Type)
            {
                case ViciPacketType.EventConfirm:
                    return;
                case ViciPacketType.EventUnknown:
                    throw new ViciCommandException($"charon refused {(type == ViciPacketType.EventRegister ? "registration for" : "deregistration from")} event '{eventName}'");
                case ViciPacketType.Event:
                    UnsolicitedEvent?.Invoke(packet);
                    break;
                default:
                    throw new ViciProtocolException($"expected a reply to {type} '{eventName}', got {packet.Type}");
            }
        }
    }

    private async Task<ViciSection> ReadResponseAsync(string command, StreamedEvents? streamed, ViciAnswerBudget? budget, ReadDeadline deadline)
    {
        while (true)
        {
            var packet = await ReadPacketAsync(_readTimeout, budget, deadline, streamed?.ReuseFrames == true);
            switch (packet.Type)
            {
                case ViciPacketType.CmdResponse:
                    return packet.Message!;
                case ViciPacketType.CmdUnknown:
                    throw new ViciCommandException($"charon does not know the command '{command}'");
                case ViciPacketType.Event when streamed is not null && packet.Name == streamed.EventName:
                    if (streamed.EventName == "list-sa")
                    {
                        budget?.CountSas(packet.Message!);
                    }

                    streamed.OnEvent(packet.Message!);
                    break;
                case ViciPacketType.Event:
                    // Whoever listens may keep the packet: it must not point into the reused buffer.
                    UnsolicitedEvent?.Invoke(streamed?.ReuseFrames == true ? ViciCodec.DecodePacket(_frame.AsSpan(0, _frameLength)) : packet);
                    break;
                default:
                    throw new ViciProtocolException($"expected the response to '{command}', got {packet.Type}");
            }
        }
    }

    private sealed record StreamedEvents(string EventName, Action<ViciSection> OnEvent, bool ReuseFrames);

    private async Task WriteAsync(ViciPacket packet, CancellationToken cancellationToken)
    {
        try
        {
            await _stream.WriteAsync(ViciCodec.EncodeFrame(packet), cancellationToken);
            await _stream.FlushAsync(cancellationToken);
        }
        catch (IOException e) when (ClosedByPeer(e))
        {
            throw new IOException(ClosedMessage, e);
        }
    }

    /// <summary>
    /// A daemon that stops resets the connection (reading) or leaves a broken pipe (writing) rather than closing it
    /// cleanly: for the operator all of these are the same event, told in the same words.
    /// </summary>
    private static bool ClosedByPeer(IOException e) => e.InnerException is System.Net.Sockets.SocketException
    {
        SocketErrorCode: System.Net.Sockets.SocketError.ConnectionReset or System.Net.Sockets.SocketError.ConnectionAborted or System.Net.Sockets.SocketError.Shutdown,
    };

    /// <summary>
    /// The read deadline of one exchange: armed for each frame's read only, so the timeout stays "no frame within", but one
    /// pair of token sources serves all of a hub's 10,000 <c>list-sas</c> frames instead of two per frame.
    /// </summary>
    private sealed class ReadDeadline : IDisposable
    {
        private readonly CancellationToken _caller;
        private readonly CancellationTokenSource _deadline;
        private readonly CancellationTokenSource _linked;

        public ReadDeadline(TimeProvider time, CancellationToken caller)
        {
            _caller = caller;
            _deadline = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
            _linked = CancellationTokenSource.CreateLinkedTokenSource(caller, _deadline.Token);
        }

        public CancellationToken Arm(TimeSpan timeout)
        {
            _deadline.CancelAfter(timeout);
            return _linked.Token;
        }

        /// <summary>Stops the clock between frames: handling a frame is not charged to the next one's timeout.</summary>
        public void Disarm() => _deadline.CancelAfter(Timeout.InfiniteTimeSpan);

        public bool Expired => _deadline.IsCancellationRequested && !_caller.IsCancellationRequested;

        public void Dispose()
        {
            _linked.Dispose();
            _deadline.Dispose();
        }
    }

    /// <summary>Reads and decodes the next frame; with <paramref name="reuseFrame"/> into <see cref="_frame"/>, which the next read overwrites.</summary>
    private async Task<ViciPacket> ReadPacketAsync(TimeSpan timeout, ViciAnswerBudget? budget, ReadDeadline deadline, bool reuseFrame = false)
    {
        var token = deadline.Arm(timeout);
        try
        {
            await ReadExactlyAsync(_header, token);
            var length = BinaryPrimitives.ReadUInt32BigEndian(_header);
            if (length > ViciCodec.MaxFrameLength)
            {
                throw new ViciProtocolException($"frame of {length} bytes exceeds the VICI limit of {ViciCodec.MaxFrameLength}");
            }

            budget?.ChargeFrame(length);

            if (!reuseFrame)
            {
                var data = new byte[length];
                await ReadExactlyAsync(data, token);
                return ViciCodec.DecodeFrame(data);
            }

            if (_frame.Length < length)
            {
                _frame = new byte[Math.Max(length, Math.Min(2 * _frame.Length, ViciCodec.MaxFrameLength))];
            }

            _frameLength = (int)length;
            await ReadExactlyAsync(_frame.AsMemory(0, _frameLength), token);
            return ViciCodec.DecodeFrame(_frame.AsMemory(0, _frameLength), _blocks);
        }
        catch (OperationCanceledException) when (deadline.Expired)
        {
            throw new ViciTimeoutException($"no reply from charon within {timeout.TotalSeconds:0.###}s");
        }
        finally
        {
            deadline.Disarm();
        }
    }

    private async Task ReadExactlyAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            await _stream.ReadExactlyAsync(buffer, cancellationToken);
        }
        catch (EndOfStreamException)
        {
            throw new IOException(ClosedMessage);
        }
        catch (IOException e) when (ClosedByPeer(e))
        {
            throw new IOException(ClosedMessage, e);
        }
    }
}

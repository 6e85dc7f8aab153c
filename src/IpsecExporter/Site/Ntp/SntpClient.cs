using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using IpsecExporter.Probes.Icmp;

namespace IpsecExporter.Site.Ntp;

/// <summary>
/// One SNTP exchange. <see cref="Offset"/> is local clock minus server clock (negative when this host is behind, as
/// <c>ipsec_clock_offset_seconds</c>); <see cref="Delay"/> is the round trip without the server's processing time.
/// </summary>
public sealed record SntpMeasurement(TimeSpan Offset, TimeSpan Delay, int Stratum);

/// <summary>An SNTP exchange failed; <see cref="KissCode"/> is set when the server sent a Kiss-o'-Death (RATE, DENY, RSTR...).</summary>
public sealed class SntpException : Exception
{
    public SntpException()
    {
    }

    public SntpException(string message)
        : base(message)
    {
    }

    public SntpException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public SntpException(string message, string kissCode)
        : base(message)
    {
        KissCode = kissCode;
    }

    public string? KissCode { get; }
}

/// <summary>
/// An SNTP client (RFC 4330, with RFC 5905's on-wire formulas): one 48-byte mode 3 request, offset and delay from
/// T1..T4. T4 is T1 plus the elapsed monotonic time, so a step of the wall clock during the exchange does not corrupt
/// the measurement. On Linux, T4 is the kernel's receive timestamp of the reply (SO_TIMESTAMPNS), immune to the
/// process's scheduling delay. Replies that do not echo our random transmit nonce are ignored (stale or spoofed).
/// </summary>
public sealed class SntpClient(TimeProvider time)
{
    private const int EIntr = 4;
    private static readonly TimeSpan ReceiveSlice = TimeSpan.FromMilliseconds(50);

    // Kernel timestamps are CLOCK_REALTIME, the system clock: they only mix with a TimeProvider that reads it too.
    private readonly bool _kernelTimestamps = ReferenceEquals(time, TimeProvider.System);

    public const int DefaultPort = 123;
    private const int PacketLength = 48;
    private const byte ClientRequest = (4 << 3) | 3; // LI 0, version 4, mode 3 (client)
    private const int ServerMode = 4;
    private const int LeapAlarm = 3;
    private const int MaxStratum = 15;

    /// <summary>Cancel <paramref name="cancellationToken"/> for a timeout; there is no answer otherwise.</summary>
    public async Task<SntpMeasurement> QueryAsync(IPEndPoint server, CancellationToken cancellationToken)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        var kernelTimestamps = _kernelTimestamps && KernelTimestamps.TryEnable(socket);
        if (kernelTimestamps)
        {
            // Stays a blocking socket (no async operation on it): the reply is read by recvmsg(2) directly, never by
            // the runtime's event loop, which would not know the datagram is gone.
            socket.Connect(server);
        }
        else
        {
            await socket.ConnectAsync(server, cancellationToken);
        }

        // The transmit timestamp is only echoed back as "originate": a random nonce matches replies as well as T1 would,
        // reveals nothing about our clock (NTP client data minimization), and lets T1 be read right before sending.
        var request = new byte[PacketLength];
        request[0] = ClientRequest;
        RandomNumberGenerator.Fill(request.AsSpan(40, 8));
        var t1 = time.GetUtcNow();
        var started = time.GetTimestamp();
        var sentAt = kernelTimestamps ? KernelTimestamps.RealtimeNow() : 0;
        if (kernelTimestamps)
        {
            socket.Send(request);
        }
        else
        {
            await socket.SendAsync(request, SocketFlags.None, cancellationToken);
        }

        var reply = new byte[512];
        while (true)
        {
            var (length, t4) = kernelTimestamps
                ? await Task.Run(() => ReceiveStamped(socket, reply, t1, sentAt, cancellationToken), cancellationToken)
                : (await socket.ReceiveAsync(reply, SocketFlags.None, cancellationToken), default(DateTimeOffset));
            if (!kernelTimestamps || t4 == default)
            {
                t4 = t1 + time.GetElapsedTime(started);
            }

            if (length < PacketLength || !reply.AsSpan(24, 8).SequenceEqual(request.AsSpan(40, 8)))
            {
                continue;
            }

            return Measure(reply, t1, t4, server);
        }
    }

    /// <summary>
    /// Reads the next datagram with the kernel's receive timestamp: T4 is when the packet arrived, not when a busy
    /// process got round to reading it (tens of milliseconds under load, all of it offset error). Blocks in short
    /// slices (<see cref="ReceiveSlice"/>) so that cancellation, the caller's timeout, is noticed. T4 is
    /// <c>default</c> when the packet carries no timestamp.
    /// </summary>
    private static (int Length, DateTimeOffset T4) ReceiveStamped(Socket socket, byte[] reply, DateTimeOffset t1, long sentAt, CancellationToken cancellationToken)
    {
        socket.ReceiveTimeout = (int)ReceiveSlice.TotalMilliseconds;
        Span<byte> address = stackalloc byte[KernelTimestamps.AddressBufferLength];
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var length = KernelTimestamps.Receive((int)socket.SafeHandle.DangerousGetHandle(), reply, address, dontWait: false, out var receivedAt, out var errno);
            if (length >= 0)
            {
                return (length, receivedAt == 0 ? default : t1 + TimeSpan.FromTicks((receivedAt - sentAt) / 100));
            }

            if (errno is not (KernelTimestamps.NothingQueued or EIntr))
            {
                throw new SocketException(errno);
            }
        }
    }

    private static SntpMeasurement Measure(byte[] reply, DateTimeOffset t1, DateTimeOffset t4, IPEndPoint server)
    {
        var mode = reply[0] & 0x7;
        var leap = reply[0] >> 6;
        int stratum = reply[1];
        if (mode != ServerMode)
        {
            throw new SntpException($"{server} sent mode {mode}, not a server reply (mode {ServerMode})");
        }

        if (stratum == 0)
        {
            var code = Encoding.ASCII.GetString(reply, 12, 4).TrimEnd('\0', ' ');
            throw new SntpException($"{server} sent a Kiss-o'-Death ({code}){KissMeaning(code)}", code);
        }

        if (leap == LeapAlarm)
        {
            throw new SntpException($"{server} says its own clock is not synchronized (leap indicator 3)");
        }

        if (stratum > MaxStratum)
        {
            throw new SntpException($"{server} sent stratum {stratum}, which is not a synchronized server");
        }

        if (NtpTimestamp.IsZero(reply.AsSpan(40, 8)))
        {
            throw new SntpException($"{server} sent no transmit timestamp");
        }

        var t2 = NtpTimestamp.Read(reply.AsSpan(32, 8));
        var t3 = NtpTimestamp.Read(reply.AsSpan(40, 8));
        var serverMinusLocal = ((t2 - t1) + (t3 - t4)) / 2;
        var delay = (t4 - t1) - (t3 - t2);
        return new SntpMeasurement(-serverMinusLocal, delay, stratum);
    }

    private static string KissMeaning(string code) => code switch
    {
        "RATE" => ": asked too often",
        "DENY" or "RSTR" => ": access denied",
        _ => "",
    };
}

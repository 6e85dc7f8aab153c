using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace IpsecExporter.Probes.Icmp;

/// <summary>Where the RTT of a reply comes from.</summary>
public enum IcmpTimestampSource
{
    /// <summary>
    /// The kernel's receive timestamp of the reply (SO_TIMESTAMPNS, taken when the packet reached the network stack)
    /// minus the time read right before <c>sendto</c>: what fping measures.
    /// </summary>
    Kernel,

    /// <summary>The monotonic clock when the receive thread got the reply: includes the exporter's scheduling delay.</summary>
    MonotonicClock,

    /// <summary>System.Net.NetworkInformation.Ping: whole milliseconds.</summary>
    SystemPing,
}

/// <summary>
/// Kernel receive timestamps on ICMP sockets: <c>SO_TIMESTAMPNS</c>, read from the control message of
/// <c>recvmsg(2)</c> (Socket.ReceiveMessageFrom exposes only IP_PKTINFO), on 64-bit Linux (the struct layouts here).
/// The kernel stamps with CLOCK_REALTIME, so the send time is read from the same clock (<see cref="RealtimeNow"/>).
/// </summary>
internal static unsafe partial class KernelTimestamps
{
    /// <summary>Room for sockaddr_in6 and more (sockaddr_storage).</summary>
    public const int AddressBufferLength = 128;

    /// <summary>EAGAIN: a non-blocking <see cref="Receive"/> found nothing queued, or a receive timeout passed.</summary>
    public const int NothingQueued = 11;

    private const int SolSocket = 1;
    private const int SoTimestampNs = 35; // SO_TIMESTAMPNS_OLD = SCM_TIMESTAMPNS: struct timespec on 64-bit
    private const int ClockRealtime = 0;
    private const int ShutRead = 0;
    private const int DontWait = 0x40; // MSG_DONTWAIT
    private const int ControlHeaderLength = 16; // struct cmsghdr on 64-bit: size_t len, int level, int type
    private const int ControlBufferLength = 64;
    private const long NanosecondsPerSecond = 1_000_000_000;

    /// <summary>The struct layouts here are those of 64-bit Linux; elsewhere the monotonic clock is used.</summary>
    public static bool Supported => OperatingSystem.IsLinux() && IntPtr.Size == 8;

    /// <summary>Asks the kernel to stamp every packet this socket receives; false when it refuses (or is not 64-bit Linux).</summary>
    public static bool TryEnable(Socket socket)
    {
        if (!Supported)
        {
            return false;
        }

        try
        {
            socket.SetRawSocketOption(SolSocket, SoTimestampNs, BitConverter.GetBytes(1));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>CLOCK_REALTIME in nanoseconds, the kernel's timestamp clock.</summary>
    public static long RealtimeNow()
    {
        TimeSpec now;
        _ = ClockGetTime(ClockRealtime, &now);
        return (now.Seconds * NanosecondsPerSecond) + now.Nanoseconds;
    }

    /// <summary>
    /// One <c>recvmsg</c> (blocking, or not with <paramref name="dontWait"/>: then EAGAIN when nothing is queued): the datagram into <paramref name="data"/>, the sender into
    /// <paramref name="address"/>, the kernel's receive time (CLOCK_REALTIME ns, 0 when the packet carries none) into
    /// <paramref name="receivedAt"/>. Returns the length read, or -1 with <paramref name="errno"/>.
    /// </summary>
    public static int Receive(int fd, Span<byte> data, Span<byte> address, bool dontWait, out long receivedAt, out int errno)
    {
        var control = stackalloc byte[ControlBufferLength];
        fixed (byte* dataPointer = data)
        fixed (byte* addressPointer = address)
        {
            var vector = new IoVector { Base = dataPointer, Length = (nuint)data.Length };
            var message = new MessageHeader
            {
                Name = addressPointer,
                NameLength = (uint)address.Length,
                Vectors = &vector,
                VectorCount = 1,
                Control = control,
                ControlLength = ControlBufferLength,
            };
            var length = ReceiveMessage(fd, &message, dontWait ? DontWait : 0);
            if (length < 0)
            {
                errno = Marshal.GetLastPInvokeError();
                receivedAt = 0;
                return -1;
            }

            errno = 0;
            receivedAt = ReadTimestamp(new ReadOnlySpan<byte>(control, (int)Math.Min(message.ControlLength, ControlBufferLength)));
            return (int)length;
        }
    }

    /// <summary>
    /// <c>sendto(2)</c> of <paramref name="packet"/> to <paramref name="destination"/>: 0, the errno, or -1 when the
    /// socket is already closed. Without the runtime's socket layer between the send time and the system call.
    /// </summary>
    public static int SendTo(SafeHandle socket, ReadOnlySpan<byte> packet, SocketAddress destination)
    {
        var added = false;
        try
        {
            // Holds the descriptor open (and its number unused by anyone else) during the call.
            socket.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
            return -1;
        }

        try
        {
            var address = destination.Buffer.Span[..destination.Size];
            fixed (byte* packetPointer = packet)
            fixed (byte* addressPointer = address)
            {
                var sent = SendToNative((int)socket.DangerousGetHandle(), packetPointer, (nuint)packet.Length, 0, addressPointer, (uint)address.Length);
                return sent < 0 ? Marshal.GetLastPInvokeError() : 0;
            }
        }
        finally
        {
            if (added)
            {
                socket.DangerousRelease();
            }
        }
    }

    /// <summary>Makes a <c>recvmsg</c> blocked on <paramref name="socket"/> return (0 bytes), so its thread can end before the socket is closed.</summary>
    public static void WakeReceiver(Socket socket) =>
        // Unconnected sockets answer ENOTCONN, but the kernel marks the socket shut down and wakes its readers all the same.
        _ = Shutdown((int)socket.SafeHandle.DangerousGetHandle(), ShutRead);

    /// <summary>The SCM_TIMESTAMPNS control message in <paramref name="control"/>, as CLOCK_REALTIME nanoseconds; 0 when absent.</summary>
    internal static long ReadTimestamp(ReadOnlySpan<byte> control)
    {
        var offset = 0;
        while (offset + ControlHeaderLength <= control.Length)
        {
            var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(control[offset..]);
            var level = BinaryPrimitives.ReadInt32LittleEndian(control[(offset + 8)..]);
            var type = BinaryPrimitives.ReadInt32LittleEndian(control[(offset + 12)..]);
            if (length < ControlHeaderLength || offset + length > control.Length)
            {
                return 0;
            }

            if (level == SolSocket && type == SoTimestampNs && length >= ControlHeaderLength + sizeof(TimeSpec))
            {
                var seconds = BinaryPrimitives.ReadInt64LittleEndian(control[(offset + ControlHeaderLength)..]);
                var nanoseconds = BinaryPrimitives.ReadInt64LittleEndian(control[(offset + ControlHeaderLength + 8)..]);
                return (seconds * NanosecondsPerSecond) + nanoseconds;
            }

            // CMSG_NXTHDR: the next header starts at the next multiple of sizeof(size_t).
            offset += (length + 7) & ~7;
        }

        return 0;
    }

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    private static partial nint ReceiveMessage(int fd, MessageHeader* message, int flags);

    [LibraryImport("libc", EntryPoint = "sendto", SetLastError = true)]
    private static partial nint SendToNative(int fd, byte* buffer, nuint length, int flags, byte* address, uint addressLength);

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, TimeSpec* time);

    [LibraryImport("libc", EntryPoint = "shutdown")]
    private static partial int Shutdown(int fd, int how);

    /// <summary>struct timespec (64-bit).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    /// <summary>struct iovec.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct IoVector
    {
        public byte* Base;
        public nuint Length;
    }

    /// <summary>struct msghdr (64-bit: the int after msg_name is padded to 8 bytes, as the C compiler lays it out).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct MessageHeader
    {
        public byte* Name;
        public uint NameLength;
        public IoVector* Vectors;
        public nuint VectorCount;
        public byte* Control;
        public nuint ControlLength;
        public int Flags;
    }
}

using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace IpsecExporter.Probes.Icmp;

/// <summary>Opens the engine's ICMP sockets: raw or datagram, per address family and source address.</summary>
internal static class IcmpSockets
{
    private const int SolSocket = 1;
    private const int SoAttachFilter = 26;
    private const int SolRaw = 255;
    private const int IcmpFilter = 1;
    private const int Icmp6Filter = 1;
    private const int ReceiveBufferBytes = 1 << 20;

    /// <summary>
    /// Opens a socket of <paramref name="kind"/> (<see cref="IcmpSocketKind.Raw"/> or
    /// <see cref="IcmpSocketKind.Datagram"/>) bound to <paramref name="source"/> (or to any address); a raw socket
    /// receives only echo replies carrying <paramref name="identifier"/>. A permission error is a
    /// <see cref="SocketException"/> with <see cref="SocketError.AccessDenied"/>; a source address that is not on this
    /// host is <see cref="SocketError.AddressNotAvailable"/>.
    /// </summary>
    public static Socket Open(IcmpSocketKind kind, AddressFamily family, IPAddress? source, ushort identifier, string? networkNamespace) =>
        networkNamespace is null
            ? OpenHere(kind, family, source, identifier)
            : NetworkNamespaceRunner.Run(networkNamespace, () => OpenHere(kind, family, source, identifier));

    private static Socket OpenHere(IcmpSocketKind kind, AddressFamily family, IPAddress? source, ushort identifier)
    {
        var protocol = family == AddressFamily.InterNetwork ? ProtocolType.Icmp : ProtocolType.IcmpV6;
        var socket = new Socket(family, kind == IcmpSocketKind.Raw ? SocketType.Raw : SocketType.Dgram, protocol);
        try
        {
            socket.ReceiveBufferSize = ReceiveBufferBytes;
            if (kind == IcmpSocketKind.Raw)
            {
                PassOnlyEchoReplies(socket, family);
                PassOnlyIdentifier(socket, family, identifier);
            }

            // Binding fixes the source address; a datagram socket also gets its echo id (the "port") here.
            var any = family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any;
            socket.Bind(new IPEndPoint(source ?? any, 0));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A raw ICMP socket receives a copy of every ICMP message of the host (our own echo requests on loopback,
    /// neighbour discovery...): let the kernel pass echo replies only, so the receive thread wakes for nothing else.
    /// </summary>
    private static void PassOnlyEchoReplies(Socket socket, AddressFamily family)
    {
        var replyType = IcmpPacket.ReplyType(family);
        if (family == AddressFamily.InterNetwork)
        {
            // ICMP_FILTER: a set bit blocks that type.
            socket.SetRawSocketOption(SolRaw, IcmpFilter, BitConverter.GetBytes(~(1u << replyType)));
        }
        else
        {
            // ICMP6_FILTER: 256 bits, a set bit blocks that type.
            var filter = new uint[8];
            Array.Fill(filter, uint.MaxValue);
            filter[replyType >> 5] &= ~(1u << (replyType & 31));
            var bytes = new byte[32];
            Buffer.BlockCopy(filter, 0, bytes, 0, bytes.Length);
            socket.SetRawSocketOption((int)ProtocolType.IcmpV6, Icmp6Filter, bytes);
        }
    }

    /// <summary>
    /// Every raw ICMP socket of the host gets a copy of every echo reply: a classic BPF filter (as iputils ping
    /// attaches) drops the replies to other sockets and programs in the kernel, before they wake the receive thread.
    /// </summary>
    private static unsafe void PassOnlyIdentifier(Socket socket, AddressFamily family, ushort identifier)
    {
        const ushort LoadIpv4HeaderLengthToX = 0xb1; // BPF_LDX|BPF_B|BPF_MSH: X = 4 * (packet[0] & 0x0f)
        const ushort LoadHalfWordAtXPlus = 0x48;     // BPF_LD|BPF_H|BPF_IND: A = packet[X + k]
        const ushort LoadHalfWordAt = 0x28;          // BPF_LD|BPF_H|BPF_ABS: A = packet[k]
        const ushort JumpIfEqual = 0x15;             // BPF_JMP|BPF_JEQ|BPF_K
        const ushort Return = 0x06;                  // BPF_RET|BPF_K: keep k bytes (0 drops)
        const int IdentifierOffset = 4;
        // Raw IPv4 sockets see the IP header first; raw ICMPv6 sockets see the ICMPv6 header.
        SocketFilter[] program = family == AddressFamily.InterNetwork
            ?
            [
                new(LoadIpv4HeaderLengthToX, 0, 0, 0),
                new(LoadHalfWordAtXPlus, 0, 0, IdentifierOffset),
                new(JumpIfEqual, 0, 1, identifier),
                new(Return, 0, 0, ushort.MaxValue),
                new(Return, 0, 0, 0),
            ]
            :
            [
                new(LoadHalfWordAt, 0, 0, IdentifierOffset),
                new(JumpIfEqual, 0, 1, identifier),
                new(Return, 0, 0, ushort.MaxValue),
                new(Return, 0, 0, 0),
            ];
        fixed (SocketFilter* instructions = program)
        {
            // The kernel copies the program during setsockopt.
            var filter = new SocketFilterProgram { Length = (ushort)program.Length, Instructions = instructions };
            socket.SetRawSocketOption(SolSocket, SoAttachFilter, new ReadOnlySpan<byte>(&filter, sizeof(SocketFilterProgram)));
        }
    }

    /// <summary>struct sock_filter.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct SocketFilter(ushort Code, byte JumpIfTrue, byte JumpIfFalse, uint K);

    /// <summary>struct sock_fprog.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct SocketFilterProgram
    {
        public ushort Length;
        public SocketFilter* Instructions;
    }
}

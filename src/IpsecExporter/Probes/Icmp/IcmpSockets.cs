using System.Net;
using System.Net.Sockets;

namespace IpsecExporter.Probes.Icmp;

/// <summary>Opens the engine's ICMP sockets: raw or datagram, per address family and source address.</summary>
internal static class IcmpSockets
{
    private const int SolRaw = 255;
    private const int IcmpFilter = 1;
    private const int Icmp6Filter = 1;
    private const int ReceiveBufferBytes = 1 << 20;

    /// <summary>
    /// Opens a socket of <paramref name="kind"/> (<see cref="IcmpSocketKind.Raw"/> or
    /// <see cref="IcmpSocketKind.Datagram"/>) bound to <paramref name="source"/> (or to any address). A permission
    /// error is a <see cref="SocketException"/> with <see cref="SocketError.AccessDenied"/>; a source address that is
    /// not on this host is <see cref="SocketError.AddressNotAvailable"/>.
    /// </summary>
    public static Socket Open(IcmpSocketKind kind, AddressFamily family, IPAddress? source, string? networkNamespace) =>
        networkNamespace is null
            ? OpenHere(kind, family, source)
            : NetworkNamespace.RunInside(networkNamespace, () => OpenHere(kind, family, source));

    private static Socket OpenHere(IcmpSocketKind kind, AddressFamily family, IPAddress? source)
    {
        var protocol = family == AddressFamily.InterNetwork ? ProtocolType.Icmp : ProtocolType.IcmpV6;
        var socket = new Socket(family, kind == IcmpSocketKind.Raw ? SocketType.Raw : SocketType.Dgram, protocol);
        try
        {
            socket.ReceiveBufferSize = ReceiveBufferBytes;
            if (kind == IcmpSocketKind.Raw)
            {
                PassOnlyEchoReplies(socket, family);
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
}

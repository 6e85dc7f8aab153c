using System.Buffers.Binary;
using System.Net.Sockets;

namespace IpsecExporter.Probes.Icmp;

/// <summary>An echo reply as read off the wire: the fields the engine matches on.</summary>
internal readonly record struct EchoReply(ushort Identifier, ushort Sequence, ulong Token, long Serial);

/// <summary>
/// ICMP/ICMPv6 echo packets. The payload carries the engine's random token and the request's serial number, so a
/// reply is matched to exactly one request even when the 16-bit sequence wraps or another program pings the same host.
/// </summary>
internal static class IcmpPacket
{
    public const int HeaderLength = 8;
    public const int Length = HeaderLength + sizeof(ulong) + sizeof(long);

    private const byte EchoRequestV4 = 8;
    private const byte EchoReplyV4 = 0;
    private const byte EchoRequestV6 = 128;
    private const byte EchoReplyV6 = 129;

    public static byte ReplyType(AddressFamily family) => family == AddressFamily.InterNetwork ? EchoReplyV4 : EchoReplyV6;

    /// <summary>
    /// Writes an echo request into <paramref name="packet"/> (<see cref="Length"/> bytes). The IPv4 checksum is
    /// computed here; for ICMPv6 and for datagram sockets the kernel fills it in (and datagram sockets replace the id).
    /// </summary>
    public static void WriteEchoRequest(Span<byte> packet, AddressFamily family, ushort identifier, ushort sequence, ulong token, long serial)
    {
        packet[0] = family == AddressFamily.InterNetwork ? EchoRequestV4 : EchoRequestV6;
        packet[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(packet[2..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(packet[4..], identifier);
        BinaryPrimitives.WriteUInt16BigEndian(packet[6..], sequence);
        BinaryPrimitives.WriteUInt64BigEndian(packet[8..], token);
        BinaryPrimitives.WriteInt64BigEndian(packet[16..], serial);
        if (family == AddressFamily.InterNetwork)
        {
            BinaryPrimitives.WriteUInt16BigEndian(packet[2..], Checksum(packet[..Length]));
        }
    }

    /// <summary>
    /// Reads an echo reply. Raw IPv4 sockets deliver the IP header first (<paramref name="withIpv4Header"/>);
    /// ICMPv6 and datagram sockets deliver the ICMP message alone.
    /// </summary>
    public static bool TryReadEchoReply(ReadOnlySpan<byte> received, AddressFamily family, bool withIpv4Header, out EchoReply reply)
    {
        reply = default;
        var message = received;
        if (withIpv4Header)
        {
            if (received.Length < 20 || received[0] >> 4 != 4)
            {
                return false;
            }

            var headerLength = (received[0] & 0x0F) * 4;
            if (received.Length < headerLength)
            {
                return false;
            }

            message = received[headerLength..];
        }

        if (message.Length < Length || message[0] != ReplyType(family) || message[1] != 0)
        {
            return false;
        }

        reply = new EchoReply(
            BinaryPrimitives.ReadUInt16BigEndian(message[4..]),
            BinaryPrimitives.ReadUInt16BigEndian(message[6..]),
            BinaryPrimitives.ReadUInt64BigEndian(message[8..]),
            BinaryPrimitives.ReadInt64BigEndian(message[16..]));
        return true;
    }

    /// <summary>The Internet checksum (RFC 1071) of <paramref name="data"/>.</summary>
    public static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        var i = 0;
        for (; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }

        if (i < data.Length)
        {
            sum += (uint)(data[i] << 8);
        }

        while (sum >> 16 != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }
}

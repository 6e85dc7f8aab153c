using System.Net.Sockets;
using IpsecExporter.Probes.Icmp;

namespace IpsecExporter.Tests.Probes.Icmp;

public sealed class IcmpPacketTests
{
    [Fact]
    public void An_IPv4_echo_request_carries_a_valid_checksum_and_the_fields_read_back()
    {
        var packet = new byte[IcmpPacket.Length];

        IcmpPacket.WriteEchoRequest(packet, AddressFamily.InterNetwork, 0xBEEF, 0x0102, 0x1122334455667788, 42);

        // The checksum of a packet with a correct checksum field is 0.
        Assert.Equal(0, IcmpPacket.Checksum(packet));
        Assert.Equal(new byte[] { 8, 0 }, packet[..2]);
        // Turn it into the reply the kernel would send back, behind a 20-byte IPv4 header.
        packet[0] = 0;
        var received = new byte[20 + packet.Length];
        received[0] = 0x45;
        packet.CopyTo(received, 20);
        Assert.True(IcmpPacket.TryReadEchoReply(received, AddressFamily.InterNetwork, withIpv4Header: true, out var reply));
        Assert.Equal(new EchoReply(0xBEEF, 0x0102, 0x1122334455667788, 42), reply);
    }

    [Fact]
    public void The_checksum_matches_the_RFC_1071_example()
    {
        // RFC 1071 section 3: the one's complement sum of 0001 f203 f4f5 f6f7 is ddf2, so the checksum is 220d.
        Assert.Equal(0x220d, IcmpPacket.Checksum([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]));
    }

    [Theory]
    [InlineData(new byte[] { 129, 0 }, AddressFamily.InterNetwork)]
    [InlineData(new byte[] { 0, 0 }, AddressFamily.InterNetworkV6)]
    [InlineData(new byte[] { 129, 1 }, AddressFamily.InterNetworkV6)]
    public void Other_messages_and_short_packets_are_not_echo_replies(byte[] typeAndCode, AddressFamily family)
    {
        var message = new byte[IcmpPacket.Length];
        typeAndCode.CopyTo(message, 0);

        Assert.False(IcmpPacket.TryReadEchoReply(message, family, withIpv4Header: false, out _));
        Assert.False(IcmpPacket.TryReadEchoReply(message.AsSpan(0, 12), family, withIpv4Header: false, out _));
    }
}

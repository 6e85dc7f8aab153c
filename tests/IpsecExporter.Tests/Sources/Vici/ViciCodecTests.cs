using IpsecExporter.Sources.Vici;

namespace IpsecExporter.Tests.Sources.Vici;

public sealed class ViciCodecTests
{
    /// <summary>The encoding example of strongSwan's vici README, byte for byte.</summary>
    private static readonly byte[] ReadmeExample =
    [
        3, 4, (byte)'k', (byte)'e', (byte)'y', (byte)'1', 0, 6, (byte)'v', (byte)'a', (byte)'l', (byte)'u', (byte)'e', (byte)'1',
        1, 8, (byte)'s', (byte)'e', (byte)'c', (byte)'t', (byte)'i', (byte)'o', (byte)'n', (byte)'1',
        1, 11, (byte)'s', (byte)'u', (byte)'b', (byte)'-', (byte)'s', (byte)'e', (byte)'c', (byte)'t', (byte)'i', (byte)'o', (byte)'n',
        3, 4, (byte)'k', (byte)'e', (byte)'y', (byte)'2', 0, 6, (byte)'v', (byte)'a', (byte)'l', (byte)'u', (byte)'e', (byte)'2',
        2,
        4, 5, (byte)'l', (byte)'i', (byte)'s', (byte)'t', (byte)'1',
        5, 0, 5, (byte)'i', (byte)'t', (byte)'e', (byte)'m', (byte)'1',
        5, 0, 5, (byte)'i', (byte)'t', (byte)'e', (byte)'m', (byte)'2',
        6,
        2,
    ];

    [Fact]
    public void The_readme_example_decodes_into_its_tree()
    {
        var message = ViciCodec.DecodeMessage(ReadmeExample);

        Assert.Equal("value1", message.Value("key1"));
        var section1 = Assert.IsType<ViciSection>(message.Section("section1"));
        Assert.Equal("value2", section1.Section("sub-section")?.Value("key2"));
        Assert.Equal(["item1", "item2"], section1.List("list1"));
    }

    [Fact]
    public void A_frame_decoded_in_place_reads_its_values_from_the_frame_and_shares_repeated_names()
    {
        var message = new ViciSection()
            .Add("bytes-in", "18446744073709551615")
            .Add("state", "INSTALLED")
            .Add("name", "n\u00e9t")
            .AddSection("child", new ViciSection().Add("state", "INSTALLED").Add("install-time", "-3"));
        var first = ViciCodec.EncodeFrame(new ViciPacket(ViciPacketType.Event, "list-sa", message));
        var second = ViciCodec.EncodeFrame(new ViciPacket(ViciPacketType.Event, "list-sa", message));

        var a = ViciCodec.DecodeFrame(first.AsMemory(4)).Message!;
        var b = ViciCodec.DecodeFrame(second.AsMemory(4)).Message!;

        Assert.Equal(message.Values, a.Values);
        Assert.Equal("n\u00e9t", a.Value("name"));
        Assert.True(a.TryGetUtf8("bytes-in", out var counter));
        Assert.Equal("18446744073709551615"u8.ToArray(), counter.ToArray());
        Assert.False(a.TryGetUtf8("bytes-out", out _));
        Assert.Equal("-3", a.Section("child")!.Value("install-time"));
        // The same key from two frames is one string, not one per element read.
        Assert.Same(a.Values[0].Name, b.Values[0].Name);
        Assert.Same(a.Section("child")!.Values[0].Name, b.Values[1].Name);
    }

    [Fact]
    public void Frames_decoded_into_reused_blocks_give_the_trees_of_frames_decoded_alone()
    {
        var blocks = new ViciSectionBlocks();
        // Enough entries and sections that the blocks grow while one frame is decoded.
        for (var frame = 0; frame < 3; frame++)
        {
            var children = new ViciSection();
            for (var i = 0; i < 100; i++)
            {
                children.AddSection($"net-{frame}-{i}", new ViciSection().Add("uniqueid", $"{i}").Add("state", "INSTALLED").AddList("local-ts", [$"10.{frame}.{i}.0/24"])
                    .AddSection("inner", new ViciSection().Add("bytes-in", $"{frame * i}")));
            }

            var message = new ViciSection().AddSection($"c{frame}", new ViciSection().Add("state", "ESTABLISHED").AddSection("child-sas", children));
            var encoded = ViciCodec.EncodeFrame(new ViciPacket(ViciPacketType.Event, "list-sa", message)).AsMemory(4);

            var reused = ViciCodec.DecodeFrame(encoded, blocks).Message!;
            var alone = ViciCodec.DecodeFrame(encoded).Message!;

            Assert.Equal(Describe(alone), Describe(reused));
            Assert.Equal(Describe(message), Describe(reused));
        }

        static string Describe(ViciSection section) =>
            string.Join(";", section.Values.Select(v => $"{v.Name}={v.Value}"))
            + "|" + string.Join(";", section.Lists.Select(l => $"{l.Name}=[{string.Join(",", l.Items)}]"))
            + "|" + string.Join(";", section.Sections.Select(s => $"{s.Name}{{{Describe(s.Section)}}}"))
            + (section.Section("child-sas") is { } children ? $"#{children.Sections.Count}" : "");
    }

    [Fact]
    public void A_request_frame_has_the_length_prefix_type_name_and_message()
    {
        var frame = ViciCodec.EncodeFrame(new ViciPacket(ViciPacketType.CmdRequest, "list-sas", new ViciSection().Add("noblock", "yes")));

        byte[] expected =
        [
            0, 0, 0, 24,
            0, 8, (byte)'l', (byte)'i', (byte)'s', (byte)'t', (byte)'-', (byte)'s', (byte)'a', (byte)'s',
            3, 7, (byte)'n', (byte)'o', (byte)'b', (byte)'l', (byte)'o', (byte)'c', (byte)'k', 0, 3, (byte)'y', (byte)'e', (byte)'s',
        ];
        Assert.Equal(expected, frame);
    }

    [Fact]
    public void Encoding_then_decoding_gives_the_same_tree()
    {
        var message = new ViciSection()
            .Add("up", "yes")
            .AddList("local-ts", ["10.1.0.0/24", "fd00::/64"])
            .AddSection("branch", new ViciSection().Add("state", "ESTABLISHED").AddSection("child-sas", new ViciSection().AddSection("net1-1", new ViciSection().Add("bytes-in", "84"))));

        var frame = ViciCodec.EncodeFrame(new ViciPacket(ViciPacketType.Event, "child-updown", message));
        var packet = ViciCodec.DecodePacket(frame.AsSpan(4));

        Assert.Equal(ViciPacketType.Event, packet.Type);
        Assert.Equal("child-updown", packet.Name);
        Assert.Equal("yes", packet.Message!.Value("up"));
        Assert.Equal(["10.1.0.0/24", "fd00::/64"], packet.Message.List("local-ts"));
        Assert.Equal("84", packet.Message.Section("branch")?.Section("child-sas")?.Section("net1-1")?.Value("bytes-in"));
    }

    [Theory]
    [InlineData(new byte[] { 1 }, ViciPacketType.CmdResponse, null)]
    [InlineData(new byte[] { 5 }, ViciPacketType.EventConfirm, null)]
    [InlineData(new byte[] { 3, 7, (byte)'l', (byte)'i', (byte)'s', (byte)'t', (byte)'-', (byte)'s', (byte)'a' }, ViciPacketType.EventRegister, "list-sa")]
    public void Packets_without_or_with_names_decode(byte[] data, ViciPacketType type, string? name)
    {
        var packet = ViciCodec.DecodePacket(data);

        Assert.Equal(type, packet.Type);
        Assert.Equal(name, packet.Name);
    }

    [Theory]
    [InlineData(new byte[0], "empty packet")]
    [InlineData(new byte[] { 9 }, "unknown packet type 9")]
    [InlineData(new byte[] { 7, 10, (byte)'a' }, "truncated packet name at offset 2")]
    [InlineData(new byte[] { 5, 0 }, "EventConfirm packet carries 1 unexpected byte(s)")]
    [InlineData(new byte[] { 1, 3, 1, (byte)'k' }, "truncated length of value of 'k' at offset 4")]
    [InlineData(new byte[] { 1, 3, 1, (byte)'k', 0, 9, (byte)'v' }, "truncated value of 'k' at offset 6: 9 byte(s) needed, 1 left")]
    [InlineData(new byte[] { 1, 1, 1, (byte)'s' }, "message ends with 1 unclosed section(s)")]
    [InlineData(new byte[] { 1, 2 }, "section end at offset 1 without an open section")]
    [InlineData(new byte[] { 1, 4, 1, (byte)'l', 3, 1, (byte)'k', 0, 0, 6 }, "element type 3 at offset 4 inside list 'l'")]
    [InlineData(new byte[] { 1, 4, 1, (byte)'l', 4, 1, (byte)'m', 6, 6 }, "element type 4 at offset 4 inside list 'l'")]
    [InlineData(new byte[] { 1, 5, 0, 0 }, "list item at offset 1 outside a list")]
    [InlineData(new byte[] { 1, 6 }, "list end at offset 1 without an open list")]
    [InlineData(new byte[] { 1, 4, 1, (byte)'l', 5, 0, 0 }, "message ends inside list 'l'")]
    [InlineData(new byte[] { 1, 8 }, "unknown message element type 8 at offset 1")]
    public void Malformed_packets_are_protocol_errors_that_say_what_and_where(byte[] data, string message)
    {
        var error = Assert.Throws<ViciProtocolException>(() => ViciCodec.DecodePacket(data));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Frames_over_512_KiB_are_refused_when_encoding()
    {
        var huge = new ViciSection();
        for (var i = 0; i < 9; i++)
        {
            huge.Add($"k{i}", new string('x', 60_000));
        }

        var error = Assert.Throws<ArgumentException>(() => ViciCodec.EncodeFrame(new ViciPacket(ViciPacketType.CmdRequest, "stats", huge)));
        Assert.Contains("exceeds the VICI limit of 524288", error.Message, StringComparison.Ordinal);
    }
}

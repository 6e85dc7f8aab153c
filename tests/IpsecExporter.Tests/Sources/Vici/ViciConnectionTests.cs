using IpsecExporter.Sources.Vici;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace IpsecExporter.Tests.Sources.Vici;

/// <summary>How the client copes with what a real charon never sends; the normal exchanges run against charon in ViciTestbedTests.</summary>
public sealed class ViciConnectionTests
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    [Theory]
    [InlineData("initiate")]
    [InlineData("terminate")]
    [InlineData("load-conn")]
    [InlineData("unload-conn")]
    [InlineData("rekey")]
    [InlineData("reload-settings")]
    public async Task Commands_that_change_the_daemon_are_refused_before_anything_is_sent(string command)
    {
        ScriptedViciServer? server = null;
        server = new ScriptedViciServer(async stream => await server!.ReadAsync(stream));
        await using var _ = server;
        await using var connection = await ViciConnection.ConnectAsync(server.Endpoint, TimeProvider.System, ReadTimeout, CancellationToken.None);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => connection.CallAsync(command, null, CancellationToken.None));

        Assert.Contains($"'{command}' is not read-only", error.Message, StringComparison.Ordinal);
        Assert.Empty(server.Received);
        Assert.False(connection.IsBroken);
    }

    [Fact]
    public async Task A_streamed_command_registers_collects_its_events_in_order_and_unregisters()
    {
        ScriptedViciServer? server = null;
        server = new ScriptedViciServer(async stream =>
        {
            Assert.Equal(ViciPacketType.EventRegister, (await server!.ReadAsync(stream))!.Type);
            await ScriptedViciServer.WriteAsync(stream, new ViciPacket(ViciPacketType.EventConfirm, null, null));
            Assert.Equal("list-sas", (await server.ReadAsync(stream))!.Name);
            await ScriptedViciServer.WriteAsync(stream, new ViciPacket(ViciPacketType.Event, "list-sa", new ViciSection().AddSection("a", new ViciSection())));
            await ScriptedViciServer.WriteAsync(stream, new ViciPacket(ViciPacketType.Event, "child-rekey", new ViciSection()));
            await ScriptedViciServer.WriteAsync(stream, new ViciPacket(ViciPacketType.Event, "list-sa", new ViciSection().AddSection("b", new ViciSection())));
            await ScriptedViciServer.WriteAsync(stream, new ViciPacket(ViciPacketType.CmdResponse, null, new ViciSection()));
            Assert.Equal(ViciPacketType.EventUnregister, (await server.ReadAsync(stream))!.Type);
            await ScriptedViciServer.WriteAsync(stream, new ViciPacket(ViciPacketType.EventConfirm, null, null));
            await server.ReadAsync(stream);
        });
        await using (server)
        {
            await using var connection = await ViciConnection.ConnectAsync(server.Endpoint, TimeProvider.System, ReadTimeout, CancellationToken.None);
            var unsolicited = new List<string?>();
            connection.UnsolicitedEvent += packet => unsolicited.Add(packet.Name);

            var events = await connection.CallStreamedAsync("list-sas", "list-sa", null, CancellationToken.None);

            Assert.Equal(["a", "b"], events.Select(e => e.Sections.Single().Name));
            Assert.Equal(["child-rekey"], unsolicited);
            Assert.Equal(
                [(ViciPacketType.EventRegister, "list-sa"), (ViciPacketType.CmdRequest, "list-sas"), (ViciPacketType.EventUnregister, "list-sa")],
                server.Received.Select(p => (p.Type, p.Name)));
            Assert.False(connection.IsBroken);
        }
    }

    [Fact]
    public async Task Events_handed_to_a_callback_share_one_buffer_but_an_unsolicited_event_keeps_its_own_copy()
    {
        ScriptedViciServer? server = null;
        server = new ScriptedViciServer(async stream =>
        {
            await server!.ReadAsync(stream);
            await ScriptedViciServer.WriteAsync(stream, new ViciPacket(ViciPacketType.EventConfirm, null, null));
            await server.ReadAsync(stream);
            await ScriptedViciServer.WriteAsync(stream, new ViciPacket(ViciPacketType.Event, "list-sa", new ViciSection().AddSection("a", new ViciSection().Add("state", "ESTABLISHED"))));
            await ScriptedViciServer.WriteAsync(stream, new ViciPacket(ViciPacketType.Event, "child-rekey", new ViciSection().Add("old", "c1000001")));
            // Longer than the frames before: it overwrites the whole of the reused buffer.
            await ScriptedViciServer.WriteAsync(stream, new ViciPacket(ViciPacketType.Event, "list-sa", new ViciSection().AddSection("b", new ViciSection().Add("state", new string('x', 200)))));
            await ScriptedViciServer.WriteAsync(stream, new ViciPacket(ViciPacketType.CmdResponse, null, new ViciSection()));
            await server.ReadAsync(stream);
            await ScriptedViciServer.WriteAsync(stream, new ViciPacket(ViciPacketType.EventConfirm, null, null));
            await server.ReadAsync(stream);
        });
        await using (server)
        {
            await using var connection = await ViciConnection.ConnectAsync(server.Endpoint, TimeProvider.System, ReadTimeout, CancellationToken.None);
            var unsolicited = new List<ViciPacket>();
            connection.UnsolicitedEvent += unsolicited.Add;
            var seen = new List<string?>();

            await connection.CallStreamedAsync("list-sas", "list-sa", null, message => seen.Add($"{message.Sections[0].Name}:{message.Sections[0].Section.Value("state")?.Length}"), CancellationToken.None);

            Assert.Equal(["a:11", "b:200"], seen);
            Assert.Equal("c1000001", Assert.Single(unsolicited).Message!.Value("old"));
            Assert.False(connection.IsBroken);
        }
    }

    [Fact]
    public async Task An_unknown_command_answer_is_a_command_error()
    {
        await using var server = Replying(ViciCodec.EncodeFrame(new ViciPacket(ViciPacketType.CmdUnknown, null, null)));
        await using var connection = await ViciConnection.ConnectAsync(server.Endpoint, TimeProvider.System, ReadTimeout, CancellationToken.None);

        var error = await Assert.ThrowsAsync<ViciCommandException>(() => connection.CallAsync("stats", null, CancellationToken.None));

        Assert.Equal("charon does not know the command 'stats'", error.Message);
    }

    [Fact]
    public async Task A_refused_event_registration_is_a_command_error()
    {
        await using var server = Replying(ViciCodec.EncodeFrame(new ViciPacket(ViciPacketType.EventUnknown, null, null)));
        await using var connection = await ViciConnection.ConnectAsync(server.Endpoint, TimeProvider.System, ReadTimeout, CancellationToken.None);

        var error = await Assert.ThrowsAsync<ViciCommandException>(() => connection.RegisterAsync("child-rekey", CancellationToken.None));

        Assert.Equal("charon refused registration for event 'child-rekey'", error.Message);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0x10, 0, 0 }, "frame of 1048576 bytes exceeds the VICI limit of 524288")]
    [InlineData(new byte[] { 0, 0, 0, 3, 1, 3, 5 }, "truncated key name at offset 3: 5 byte(s) needed, 0 left")]
    [InlineData(new byte[] { 0, 0, 0, 1, 42 }, "unknown packet type 42")]
    [InlineData(new byte[] { 0, 0, 0, 1, 5 }, "expected the response to 'stats', got EventConfirm")]
    public async Task A_malformed_or_unexpected_frame_is_a_protocol_error_and_breaks_only_that_connection(byte[] reply, string message)
    {
        await using var server = Replying(reply);
        await using var connection = await ViciConnection.ConnectAsync(server.Endpoint, TimeProvider.System, ReadTimeout, CancellationToken.None);

        var error = await Assert.ThrowsAsync<ViciProtocolException>(() => connection.CallAsync("stats", null, CancellationToken.None));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.True(connection.IsBroken);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => connection.CallAsync("stats", null, CancellationToken.None));
    }

    [Fact]
    public async Task Silence_ends_in_a_timeout_error_after_the_read_timeout()
    {
        var time = new FakeTimeProvider();
        var requested = new TaskCompletionSource();
        ScriptedViciServer? server = null;
        server = new ScriptedViciServer(async stream =>
        {
            await server!.ReadAsync(stream);
            requested.SetResult();
            await server.ReadAsync(stream);
        });
        await using (server)
        {
            await using var connection = await ViciConnection.ConnectAsync(server.Endpoint, time, ReadTimeout, CancellationToken.None);

            var call = connection.CallAsync("version", null, CancellationToken.None);
            await requested.Task;
            time.Advance(ReadTimeout);

            var error = await Assert.ThrowsAsync<ViciTimeoutException>(() => call);
            Assert.Equal("no reply from charon within 5s", error.Message);
            Assert.True(connection.IsBroken);
        }
    }

    [Fact]
    public async Task A_connection_closed_mid_frame_is_an_io_error()
    {
        await using var server = Replying([0, 0, 0, 40, 1, 3]);
        await using var connection = await ViciConnection.ConnectAsync(server.Endpoint, TimeProvider.System, ReadTimeout, CancellationToken.None);

        var error = await Assert.ThrowsAsync<IOException>(() => connection.CallAsync("stats", null, CancellationToken.None));

        Assert.Equal("charon closed the VICI connection", error.Message);
    }

    /// <summary>A server that reads one request, writes <paramref name="reply"/> as raw bytes and closes.</summary>
    private static ScriptedViciServer Replying(byte[] reply)
    {
        ScriptedViciServer? server = null;
        server = new ScriptedViciServer(async stream =>
        {
            await server!.ReadAsync(stream);
            await ScriptedViciServer.WriteRawAsync(stream, reply);
        });
        return server;
    }
}

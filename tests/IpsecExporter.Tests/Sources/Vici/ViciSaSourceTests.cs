using IpsecExporter.Configuration;
using IpsecExporter.Sources.Vici;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace IpsecExporter.Tests.Sources.Vici;

/// <summary>Failure handling of the VICI source; the normal path runs against real charons in ViciTestbedTests.</summary>
public sealed class ViciSaSourceTests
{
    [Fact]
    public async Task A_failed_connect_is_retried_only_after_the_backoff_and_reports_the_same_error_meanwhile()
    {
        var time = new FakeTimeProvider();
        var versionRequests = 0;
        ScriptedViciServer? server = null;
        // A daemon that hangs up on every connection (the event listener's too).
        server = new ScriptedViciServer(async stream =>
        {
            if (await server!.ReadAsync(stream) is { Name: "version" })
            {
                Interlocked.Increment(ref versionRequests);
            }
        });
        await using (server)
        {
            await using var source = new ViciSaSource(server.Endpoint, TimeSpan.FromSeconds(5), time, NullLogger<ViciSaSource>.Instance);

            var first = await Assert.ThrowsAsync<IOException>(() => source.CollectAsync(CancellationToken.None));
            var second = await Assert.ThrowsAsync<IOException>(() => source.CollectAsync(CancellationToken.None));
            Assert.Equal(1, versionRequests);
            time.Advance(ReconnectBackoff.Initial);
            await Assert.ThrowsAsync<IOException>(() => source.CollectAsync(CancellationToken.None));

            Assert.Equal($"cannot talk to charon at {server.Endpoint}: charon closed the VICI connection", first.Message);
            Assert.Equal(first.Message, second.Message);
            Assert.Equal(2, versionRequests);
        }
    }

    [Fact]
    public async Task A_malformed_answer_fails_only_that_collection_and_the_next_one_reconnects()
    {
        var garbageLeft = 1;
        ScriptedViciServer? server = null;
        server = new ScriptedViciServer(async stream =>
        {
            while (await server!.ReadAsync(stream) is { } request)
            {
                var reply = request.Type switch
                {
                    ViciPacketType.EventRegister or ViciPacketType.EventUnregister => new ViciPacket(ViciPacketType.EventConfirm, null, null),
                    _ when request.Name == "version" => new ViciPacket(ViciPacketType.CmdResponse, null, new ViciSection().Add("daemon", "charon").Add("version", "5.9.8")),
                    _ when request.Name == "list-sas" && Interlocked.Exchange(ref garbageLeft, 0) == 1 => null,
                    _ => new ViciPacket(ViciPacketType.CmdResponse, null, new ViciSection()),
                };
                if (reply is null)
                {
                    await ScriptedViciServer.WriteRawAsync(stream, [0, 0, 0, 2, 1, 2]);
                    continue;
                }

                await ScriptedViciServer.WriteAsync(stream, reply);
            }
        });
        await using (server)
        {
            await using var source = new ViciSaSource(server.Endpoint, TimeSpan.FromSeconds(5), TimeProvider.System, NullLogger<ViciSaSource>.Instance);

            var error = await Assert.ThrowsAsync<ViciProtocolException>(() => source.CollectAsync(CancellationToken.None));
            var snapshot = await source.CollectAsync(CancellationToken.None);

            Assert.Equal("section end at offset 1 without an open section", error.Message);
            Assert.Empty(snapshot.IkeSas);
            Assert.Equal("5.9.8", snapshot.Epoch?.Version);
            Assert.Equal(
                2,
                server.Received.Count(p => p.Name == "version"));
        }
    }

    [Theory]
    [InlineData("unix://relative/charon.vici", "'unix://relative/charon.vici' has no absolute socket path")]
    [InlineData("tcp://127.0.0.1", "'tcp://127.0.0.1' is not tcp://host:port with a port 1-65535")]
    [InlineData("tcp://127.0.0.1:70000", "'tcp://127.0.0.1:70000' is not tcp://host:port")]
    [InlineData("tcp://:4502", "'tcp://:4502' is not tcp://host:port")]
    [InlineData("http://127.0.0.1:4502", "unsupported VICI uri 'http://127.0.0.1:4502' (expected unix:///path/to/charon.vici or tcp://host:port)")]
    // A path or query may carry a token: the message quotes scheme and authority only.
    [InlineData("tcp://127.0.0.1:4502/TOKENZQX?k=TOKENZQX", "'tcp://127.0.0.1:4502/...' is not tcp://host:port")]
    [InlineData("tcp://[::1]:4502?k=TOKENZQX", "'tcp://[::1]:4502/...' is not tcp://host:port")]
    [InlineData("http://fw.example.net/api?key=TOKENZQX", "unsupported VICI uri 'http://fw.example.net/...' (expected")]
    public void An_invalid_uri_is_a_config_error_at_its_line_and_column(string uri, string message)
    {
        var loader = new ConfigLoader(TestSources.Registry());
        var yaml = $"""
            site: {"{"} name: hq {"}"}
            sources:
              - name: gw
                type: vici
                uri: "{uri}"
            """;

        var error = Assert.Single(Assert.Throws<ConfigException>(() => loader.Parse("config.yaml", yaml)).Errors);

        Assert.Equal((5, 10), ((int)error.Line, (int)error.Column));
        Assert.Contains($"sources[0].uri: {message}", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("TOKENZQX", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("unix:///var/run/charon.vici")]
    [InlineData("tcp://127.0.0.1:4502")]
    [InlineData("tcp://[::1]:4502")]
    [InlineData("tcp://gateway.example.net:4502")]
    public void Valid_uris_load(string uri)
    {
        var loader = new ConfigLoader(TestSources.Registry());

        var config = loader.Parse("config.yaml", $"site: {{ name: hq }}\nsources:\n  - {{ name: gw, type: vici, uri: \"{uri}\" }}\n");

        Assert.Equal(uri, Assert.IsType<ViciSourceOptions>(config.Sources[0].Options).Uri);
    }

    [Fact]
    public void Without_a_uri_the_default_socket_is_used_and_credentials_are_refused()
    {
        var loader = new ConfigLoader(TestSources.Registry());

        var config = loader.Parse("config.yaml", "site: { name: hq }\nsources:\n  - { name: gw, type: vici }\n");
        var error = Assert.Single(Assert.Throws<ConfigException>(() => loader.Parse("config.yaml", "site: { name: hq }\nsources:\n  - { name: gw, type: vici, token_file: /etc/token }\n")).Errors);

        Assert.Null(Assert.IsType<ViciSourceOptions>(config.Sources[0].Options).Uri);
        Assert.Equal("unix:///var/run/charon.vici", ViciSourceType.DefaultUri);
        Assert.Contains("sources[0].token_file: vici sources take no credentials", error.Message, StringComparison.Ordinal);
    }
}

using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using IpsecExporter.Sources.Vici;

namespace IpsecExporter.Tests.Support;

/// <summary>
/// One collection as <see cref="ScriptedViciServer.Charon"/> answers it: the CHILD SAs under IKE SA <c>site</c>, charon's
/// start time (<c>stats</c>), the IKE SA's SPIs, a fault that replaces the <c>list-sas</c> answer (given the
/// <c>list-sa</c> event charon would have sent), the IKE SA's unique id, and an older IKE SA of <c>site</c> listed
/// before it.
/// </summary>
public sealed record CharonPoll(
    ViciSection[] Children,
    string Since = "Dec 02 10:00:00 2026",
    string IkeSpi = "1",
    Func<Stream, ViciPacket, Task>? Fault = null,
    string IkeId = "1",
    ListedIke? Older = null);

/// <summary>
/// An IKE SA of <c>site</c> with unique id <paramref name="Id"/> (its SPIs derived from it, as for the current one of a
/// <see cref="CharonPoll"/> with the same id and SPI): one charon still lists after replacing it, <c>REKEYED</c> without
/// CHILD SAs (IKEv2 moved them) or <c>DELETING</c> with its own after a reauthentication.
/// </summary>
public sealed record ListedIke(string Id, string State, ViciSection[] Children);

/// <summary>
/// A VICI server on a real unix socket that answers as a test scripts it: for what charon never sends (malformed
/// frames, silence, a dropped connection). Everything charon does send is tested against a real charon.
/// </summary>
public sealed class ScriptedViciServer : IAsyncDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly Func<Stream, Task> _handler;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly List<Socket> _accepted = [];

    /// <param name="socketPath">Where to listen (default: a new temporary directory); removed again on dispose.</param>
    public ScriptedViciServer(Func<Stream, Task> handler, string? socketPath = null)
    {
        _handler = handler;
        var path = socketPath ?? Path.Combine(_directory.Path, "charon.vici");
        SocketPath = path;
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen();
        Endpoint = ViciEndpoint.Parse($"unix://{path}");
        _accepting = AcceptAsync();
    }

    public ViciEndpoint Endpoint { get; }

    public string SocketPath { get; }

    public int Connections { get; private set; }

    public List<ViciPacket> Received { get; } = [];

    /// <summary>A daemon that confirms every event registration and answers every command, with no SAs.</summary>
    public static ScriptedViciServer Cooperative()
    {
        ScriptedViciServer? server = null;
        server = new ScriptedViciServer(async stream =>
        {
            while (await server!.ReadAsync(stream) is { } request)
            {
                await WriteAsync(stream, request.Type switch
                {
                    ViciPacketType.EventRegister or ViciPacketType.EventUnregister => new ViciPacket(ViciPacketType.EventConfirm, null, null),
                    _ when request.Name == "version" => new ViciPacket(ViciPacketType.CmdResponse, null, new ViciSection().Add("daemon", "charon").Add("version", "5.9.8")),
                    _ => new ViciPacket(ViciPacketType.CmdResponse, null, new ViciSection()),
                });
            }
        });
        return server;
    }

    /// <summary>
    /// Answers like charon, with one IKE SA of connection <c>site</c> carrying the next scripted CHILD SAs per
    /// <c>list-sas</c>; confirms event registrations but never sends an event (as after a lost event connection).
    /// </summary>
    public static ScriptedViciServer Eventless(Queue<ViciSection[]> polls) => Charon(() =>
    {
        lock (polls)
        {
            return new CharonPoll(polls.Dequeue());
        }
    });

    /// <summary>
    /// A charon whose command connection answers each collection as <paramref name="nextPoll"/> says (asked at
    /// <c>stats</c>, the first command of a collection). A connection that starts with an event registration (the
    /// source's event listener) goes to <paramref name="eventConnection"/> when given, else its registrations are
    /// confirmed and no event is ever sent.
    /// </summary>
    public static ScriptedViciServer Charon(Func<CharonPoll> nextPoll, string? socketPath = null, Func<Stream, Task>? eventConnection = null)
    {
        ScriptedViciServer? server = null;
        server = new ScriptedViciServer(async stream =>
        {
            var poll = new CharonPoll([]);
            var lifeCycleRegistrations = 0;
            for (var request = await server!.ReadAsync(stream); request is not null; request = await server.ReadAsync(stream))
            {
                if (request.Type is ViciPacketType.EventRegister or ViciPacketType.EventUnregister)
                {
                    await WriteAsync(stream, new ViciPacket(ViciPacketType.EventConfirm, null, null));
                    if (ViciEventListener.Events.Contains(request.Name) && ++lifeCycleRegistrations == ViciEventListener.Events.Count && eventConnection is not null)
                    {
                        await eventConnection(stream);
                        return;
                    }

                    continue;
                }

                var answer = new ViciSection();
                switch (request.Name)
                {
                    case "version":
                        answer.Add("daemon", "charon").Add("version", "5.9.8");
                        break;
                    case "stats":
                        poll = nextPoll();
                        answer.AddSection("uptime", new ViciSection().Add("since", poll.Since));
                        break;
                    case "list-sas":
                        if (poll.Older is { } older)
                        {
                            await WriteAsync(stream, Listed(older.Id, older.State, older.Id, older.Children));
                        }

                        var listed = Listed(poll.IkeId, "ESTABLISHED", poll.IkeSpi, poll.Children);
                        if (poll.Fault is not null)
                        {
                            // Whatever the fault does, the connection ends with it.
                            await poll.Fault(stream, listed);
                            return;
                        }

                        await WriteAsync(stream, listed);
                        break;
                }

                await WriteAsync(stream, new ViciPacket(ViciPacketType.CmdResponse, null, answer));
            }
        }, socketPath);
        return server;
    }

    /// <summary>The <c>list-sa</c> event of one IKE SA of connection <c>site</c>.</summary>
    private static ViciPacket Listed(string uniqueId, string state, string spi, ViciSection[] children)
    {
        var childSas = new ViciSection();
        foreach (var child in children)
        {
            childSas.AddSection($"net1-{child.Value("uniqueid")}", child);
        }

        var ike = new ViciSection().Add("uniqueid", uniqueId).Add("state", state).Add("initiator-spi", $"i{spi}").Add("responder-spi", $"r{spi}")
            .Add("established", "600").AddSection("child-sas", childSas);
        return new ViciPacket(ViciPacketType.Event, "list-sa", new ViciSection().AddSection("site", ike));
    }

    /// <summary>A CHILD SA section of config <c>net1</c> as charon lists it, with the same bytes in both directions.</summary>
    public static ViciSection Child(
        string uniqueId,
        string state,
        ulong bytes,
        int installed,
        string local = "10.1.0.0/24",
        string remote = "10.2.0.0/24",
        string? useIn = null,
        string? spi = null)
    {
        var child = new ViciSection()
            .Add("name", "net1")
            .Add("uniqueid", uniqueId)
            .Add("state", state)
            .Add("spi-in", $"{spi ?? "c" + uniqueId}in")
            .Add("spi-out", $"{spi ?? "c" + uniqueId}out")
            .Add("bytes-in", bytes.ToString(CultureInfo.InvariantCulture))
            .Add("packets-in", (bytes / 100).ToString(CultureInfo.InvariantCulture))
            .Add("bytes-out", bytes.ToString(CultureInfo.InvariantCulture))
            .Add("packets-out", (bytes / 100).ToString(CultureInfo.InvariantCulture))
            .Add("install-time", installed.ToString(CultureInfo.InvariantCulture));
        if (useIn is not null)
        {
            child.Add("use-in", useIn);
        }

        return child.AddList("local-ts", [local]).AddList("remote-ts", [remote]);
    }

    /// <summary>The names of every packet of <paramref name="type"/> a client sent so far.</summary>
    public IReadOnlySet<string> Requested(ViciPacketType type)
    {
        lock (Received)
        {
            return Received.Where(p => p.Type == type).Select(p => p.Name ?? "").ToHashSet(StringComparer.Ordinal);
        }
    }

    public static async Task WriteRawAsync(Stream stream, byte[] data)
    {
        await stream.WriteAsync(data);
        await stream.FlushAsync();
    }

    public static Task WriteAsync(Stream stream, ViciPacket packet) => WriteRawAsync(stream, ViciCodec.EncodeFrame(packet));

    /// <summary>Reads one frame from the client; null when it closed the connection.</summary>
    public async Task<ViciPacket?> ReadAsync(Stream stream)
    {
        var header = new byte[4];
        if (await stream.ReadAtLeastAsync(header, 4, throwOnEndOfStream: false) < 4)
        {
            return null;
        }

        var data = new byte[BinaryPrimitives.ReadUInt32BigEndian(header)];
        await stream.ReadExactlyAsync(data);
        var packet = ViciCodec.DecodePacket(data);
        lock (Received)
        {
            Received.Add(packet);
        }

        return packet;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        File.Delete(SocketPath);
        // Like a daemon that stops: every open connection is closed too.
        lock (_accepted)
        {
            _accepted.ForEach(socket => socket.Dispose());
        }

        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
        _directory.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var socket = await _listener.AcceptAsync(_stop.Token);
            Connections++;
            lock (_accepted)
            {
                _accepted.Add(socket);
            }

            _ = Task.Run(async () =>
            {
                await using var stream = new NetworkStream(socket, ownsSocket: true);
                try
                {
                    await _handler(stream);
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException)
                {
                    // The client went away, or the server was stopped.
                }
            });
        }
    }
}

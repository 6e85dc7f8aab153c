using System.Buffers.Binary;
using System.Net.Sockets;
using IpsecExporter.Sources.Vici;

namespace IpsecExporter.Tests.Support;

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

    public ScriptedViciServer(Func<Stream, Task> handler)
    {
        _handler = handler;
        var path = Path.Combine(_directory.Path, "charon.vici");
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen();
        Endpoint = ViciEndpoint.Parse($"unix://{path}");
        _accepting = AcceptAsync();
    }

    public ViciEndpoint Endpoint { get; }

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
            _ = Task.Run(async () =>
            {
                await using var stream = new NetworkStream(socket, ownsSocket: true);
                try
                {
                    await _handler(stream);
                }
                catch (IOException)
                {
                    // The client went away.
                }
            });
        }
    }
}

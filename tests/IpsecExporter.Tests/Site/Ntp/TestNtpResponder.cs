using System.Net;
using System.Net.Sockets;
using System.Text;
using IpsecExporter.Site.Ntp;

namespace IpsecExporter.Tests.Site.Ntp;

/// <summary>
/// A small NTP server on 127.0.0.1 whose answers a test controls: correct replies from a clock shifted by a known
/// skew, Kiss-o'-Death packets, silence, or a flood of spoofed replies and garbage. Counts the requests it received.
/// </summary>
public sealed class TestNtpResponder : IDisposable
{
    private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly CancellationTokenSource _stop = new();
    private readonly TimeProvider _time;
    private readonly Task _loop;
    private int _requests;

    public TestNtpResponder(TimeProvider time)
    {
        _time = time;
        _loop = ServeAsync();
    }

    /// <summary>How far the server's clock is ahead of <see cref="TimeProvider"/>'s.</summary>
    public TimeSpan Skew { get; set; }

    /// <summary>When set, every reply is a Kiss-o'-Death with this code (RATE, DENY, RSTR).</summary>
    public string? KissCode { get; set; }

    /// <summary>When true, requests are counted but never answered.</summary>
    public bool Silent { get; set; }

    /// <summary>
    /// Before each reply, this many spoofed ones (a wrong originate timestamp, a clock an hour off) and as many short
    /// garbage datagrams: what a flood or an off-path attacker sends.
    /// </summary>
    public int Flood { get; set; }

    /// <summary>When true, only the flood is sent, never the true reply.</summary>
    public bool OnlyFlood { get; set; }

    public int Requests => Volatile.Read(ref _requests);

    public IPEndPoint EndPoint => (IPEndPoint)_udp.Client.LocalEndPoint!;

    public string Server => $"127.0.0.1:{EndPoint.Port}";

    public void Dispose()
    {
        _stop.Cancel();
        _udp.Dispose();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The loop ends with the socket; its exception is not the test's concern.
        }

        _stop.Dispose();
    }

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            UdpReceiveResult request;
            try
            {
                request = await _udp.ReceiveAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            var receivedAt = _time.GetUtcNow();
            Interlocked.Increment(ref _requests);
            if (Silent || request.Buffer.Length < 48)
            {
                continue;
            }

            for (var i = 0; i < Flood; i++)
            {
                var spoofed = Reply(request.Buffer, receivedAt, TimeSpan.FromHours(1));
                spoofed[24] ^= 0xFF;
                await _udp.SendAsync(spoofed, request.RemoteEndPoint, _stop.Token);
                await _udp.SendAsync(new byte[] { 0x24, (byte)i, 0, 0 }, request.RemoteEndPoint, _stop.Token);
            }

            if (!OnlyFlood)
            {
                await _udp.SendAsync(Reply(request.Buffer, receivedAt, TimeSpan.Zero), request.RemoteEndPoint, _stop.Token);
            }
        }
    }

    /// <summary>A reply received at <paramref name="receivedAt"/> (T2) and sent now (T3), as NTP's formula wants them.</summary>
    private byte[] Reply(byte[] request, DateTimeOffset receivedAt, TimeSpan lie)
    {
        var reply = new byte[48];
        var now = receivedAt + Skew + lie;
        request.AsSpan(40, 8).CopyTo(reply.AsSpan(24)); // originate = the client's transmit timestamp
        if (KissCode is { } code)
        {
            reply[0] = (3 << 6) | (4 << 3) | 4;
            reply[1] = 0;
            Encoding.ASCII.GetBytes(code.PadRight(4)[..4]).CopyTo(reply, 12);
            return reply;
        }

        reply[0] = (4 << 3) | 4; // LI 0, version 4, mode 4 (server)
        reply[1] = 2;
        reply[3] = 0xEC; // precision 2^-20 s
        new byte[] { 127, 0, 0, 1 }.CopyTo(reply, 12);
        NtpTimestamp.Write(reply.AsSpan(16), now - TimeSpan.FromSeconds(16));
        NtpTimestamp.Write(reply.AsSpan(32), now);
        NtpTimestamp.Write(reply.AsSpan(40), _time.GetUtcNow() + Skew + lie);
        return reply;
    }
}

using System.Net;
using IpsecExporter.Site.Ntp;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Site.Ntp;

/// <summary>
/// A real chronyd serving NTP on 127.0.0.1 and a free port from its own local clock (<c>local stratum 8</c>), with
/// <c>-x</c> so it never touches the system clock, and no command port (other tests' chronyds run alongside).
/// </summary>
public sealed class ChronyServer : IAsyncDisposable
{
    private readonly LocalDaemon _daemon = LocalDaemon.Create("chronyd");

    private ChronyServer()
    {
    }

    public int Port { get; private set; }

    public string Server => $"127.0.0.1:{Port}";

    public static async Task<ChronyServer> StartAsync()
    {
        var server = new ChronyServer();
        try
        {
            await server.StartDaemonAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => _daemon.DisposeAsync();

    private async Task StartDaemonAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            Port = FreePorts.Loopback();
            var config = _daemon.PathOf("chrony.conf");
            await File.WriteAllLinesAsync(config, [
                $"port {Port}",
                "cmdport 0",
                "bindaddress 127.0.0.1",
                "local stratum 8",
                "allow 127.0.0.1",
                $"pidfile {_daemon.PathOf("chronyd.pid")}",
                $"driftfile {_daemon.PathOf("drift")}",
            ]);
            try
            {
                await _daemon.StartAsync("chronyd", ["-d", "-x", "-u", "root", "-f", config], AnswersAsync, TimeSpan.FromSeconds(15));
                return;
            }
            catch (InvalidOperationException e) when (attempt < 3 && e.Message.Contains("in use", StringComparison.OrdinalIgnoreCase))
            {
                await _daemon.StopAsync();
            }
        }
    }

    private async Task<bool> AnswersAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        try
        {
            await new SntpClient(TimeProvider.System).QueryAsync(new IPEndPoint(IPAddress.Loopback, Port), timeout.Token);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or SntpException or System.Net.Sockets.SocketException)
        {
            return false;
        }
    }
}

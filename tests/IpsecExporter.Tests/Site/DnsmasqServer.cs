using DnsClient;
using IpsecExporter.Configuration;
using IpsecExporter.Site.Dns;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Site;

/// <summary>
/// A real dnsmasq on 127.0.0.1 and a free port, with only the records a test gives it (<c>--no-resolv --no-hosts</c>:
/// it asks nobody else). Names in <see cref="SetHostsAsync"/> change on SIGHUP; other records change by restarting.
/// </summary>
public sealed class DnsmasqServer : IAsyncDisposable
{
    private const string ReadyName = "dnsmasq-ready.test";
    private readonly LocalDaemon _daemon;

    private DnsmasqServer(LocalDaemon daemon)
    {
        _daemon = daemon;
    }

    public int Port { get; private set; }

    /// <summary>The server as written in the configuration.</summary>
    public string Server => $"127.0.0.1:{Port}";

    /// <param name="records">dnsmasq options such as <c>txt-record=name,"text"</c> or <c>host-record=name,address</c></param>
    /// <param name="hosts">initial content of the hosts file read at start and on SIGHUP</param>
    public static async Task<DnsmasqServer> StartAsync(IEnumerable<string> records, string hosts = "")
    {
        var server = new DnsmasqServer(LocalDaemon.Create("dnsmasq"));
        try
        {
            await File.WriteAllTextAsync(server._daemon.PathOf("hosts"), hosts);
            await server.RestartAsync(records);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops dnsmasq and starts it again with <paramref name="records"/> (on a new port if the old one was taken meanwhile).</summary>
    public async Task RestartAsync(IEnumerable<string> records)
    {
        await _daemon.StopAsync();
        var recordList = records.ToList();
        for (var attempt = 1; ; attempt++)
        {
            var port = Port == 0 || attempt > 1 ? FreePorts.Loopback() : Port;
            var config = _daemon.PathOf("dnsmasq.conf");
            await File.WriteAllLinesAsync(config, [
                $"port={port}",
                "listen-address=127.0.0.1",
                "bind-interfaces",
                "no-resolv",
                "no-hosts",
                "user=root",
                $"pid-file={_daemon.PathOf("dnsmasq.pid")}",
                $"addn-hosts={_daemon.PathOf("hosts")}",
                $"host-record={ReadyName},127.0.0.1",
                "log-facility=-",
                .. recordList,
            ]);
            try
            {
                Port = port;
                await _daemon.StartAsync("dnsmasq", ["--keep-in-foreground", $"--conf-file={config}"], () => AnswersAsync(ReadyName, "127.0.0.1"), TimeSpan.FromSeconds(10));
                return;
            }
            catch (InvalidOperationException e) when (attempt < 3 && e.Message.Contains("in use", StringComparison.OrdinalIgnoreCase))
            {
                await _daemon.StopAsync();
            }
        }
    }

    /// <summary>Replaces the hosts file and makes dnsmasq re-read it (SIGHUP), then waits until it serves <paramref name="expectName"/> as <paramref name="expectAddress"/>.</summary>
    public async Task SetHostsAsync(string hosts, string expectName, string expectAddress)
    {
        await File.WriteAllTextAsync(_daemon.PathOf("hosts"), hosts);
        await ExternalCommand.RunAsync("kill", "-HUP", _daemon.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));

        await Poll.UntilAsync(() => AnswersAsync(expectName, expectAddress), TimeSpan.FromSeconds(10), $"dnsmasq to serve {expectName} as {expectAddress}");
    }

    public ValueTask DisposeAsync() => _daemon.DisposeAsync();

    private async Task<bool> AnswersAsync(string name, string address)
    {
        try
        {
            var response = await DnsServerQuery.QueryAsync(new HostAndPort("127.0.0.1", Port), name, QueryType.A, TimeSpan.FromMilliseconds(500), CancellationToken.None);
            return response.Answers.ARecords().Any(r => r.Address.ToString() == address);
        }
        catch (DnsQueryException)
        {
            return false;
        }
    }
}

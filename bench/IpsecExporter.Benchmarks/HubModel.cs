using System.Globalization;
using System.Net;
using System.Text;
using IpsecExporter.Configuration;
using IpsecExporter.Metrics;
using IpsecExporter.Sources;
using IpsecExporter.Tunnels;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpsecExporter.Benchmarks;

/// <summary>
/// A hub's tunnel model: tunnel <c>t&lt;i&gt;</c> on connection <c>c&lt;i&gt;</c> with two network pairs (IPv4 and
/// IPv6, laid out as bench/vici-hub/server.cs lays them out), its tracker, and the snapshots a VICI source makes of it,
/// one IKE SA and two CHILD SAs per tunnel, whose counters grow by 100 packets of 84 bytes each way per poll.
/// </summary>
public sealed class HubModel : IDisposable
{
    private const ulong PacketBytes = 84;
    private static readonly IPAddress LocalHost = IPAddress.Parse("198.51.100.1");
    private static readonly IPAddress RemoteHost = IPAddress.Parse("198.51.100.2");
    private readonly int _tunnels;
    private ulong _packets;
    private DateTimeOffset _collectedAt = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public HubModel(int tunnels)
    {
        _tunnels = tunnels;
        var loader = new ConfigLoader(SaSourceRegistry.BuiltIn());
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, Config(tunnels));
            Store = new ConfigStore(loader.Load(path), loader, NullLogger<ConfigStore>.Instance);
        }
        finally
        {
            File.Delete(path);
        }

        Tracker = new TunnelTracker(Store, TimeProvider.System);
        Exposition = new MetricsExposition(Metrics, [Tracker]);
        Source = Store.Current.Sources[0];
    }

    public ExporterMetrics Metrics { get; } = new("bench");

    /// <summary>What <c>/metrics</c> renders: the exporter's own registry and the tunnel model's families.</summary>
    public MetricsExposition Exposition { get; }

    public ConfigStore Store { get; }

    public TunnelTracker Tracker { get; }

    public SourceConfig Source { get; }

    /// <summary>The next poll, 5 s after the previous one: the same SAs, every counter higher.</summary>
    public SaSnapshot NextSnapshot()
    {
        _packets += 100;
        _collectedAt += TimeSpan.FromSeconds(5);
        var counters = new SaCounters(_packets * PacketBytes, _packets * PacketBytes, _packets, _packets);
        var ikeSas = new List<IkeSa>(_tunnels);
        for (var i = 0; i < _tunnels; i++)
        {
            ikeSas.Add(new IkeSa($"c{i}", $"{i + 1}/i{i}/r{i}", IkeSaState.Established, "ESTABLISHED", LocalHost, RemoteHost, TimeSpan.FromMinutes(10), TimeSpan.FromHours(3), null,
                [Child("net", (2 * i) + 1, V4Local(i), V4Remote(i), counters), Child("net6", (2 * i) + 2, V6Local(i), V6Remote(i), counters)]));
        }

        return new SaSnapshot(_collectedAt, ikeSas);
    }

    /// <summary>Collects <paramref name="snapshot"/> as the source collector hands it over.</summary>
    public void Collect(SaSnapshot snapshot) => Tracker.OnCollected(Source, snapshot);

    public void Dispose() => Tracker.Dispose();

    private static ChildSa Child(string name, int uniqueId, string local, string remote, SaCounters counters) =>
        new(name, $"{uniqueId}/c{uniqueId:x7}/d{uniqueId:x7}", ChildSaState.Installed, "INSTALLED", [local], [remote], counters)
        {
            LastInAgo = TimeSpan.FromSeconds(1),
            LastOutAgo = TimeSpan.FromSeconds(1),
            InstalledAgo = TimeSpan.FromMinutes(10),
            RekeyIn = TimeSpan.FromMinutes(50),
            LifeIn = TimeSpan.FromMinutes(56),
            DhGroup = "CURVE_25519",
        };

    private static string Config(int tunnels)
    {
        var yaml = new StringBuilder("site: { name: hub }\nsources:\n  - { name: gw, type: vici }\ntunnels:\n");
        for (var i = 0; i < tunnels; i++)
        {
            yaml.Append(CultureInfo.InvariantCulture, $"  - name: t{i}\n    connection: c{i}\n    remote_gateway: {RemoteHost}\n    network_pairs:\n")
                .Append(CultureInfo.InvariantCulture, $"      - {{ local: {V4Local(i)}, remote: {V4Remote(i)} }}\n")
                .Append(CultureInfo.InvariantCulture, $"      - {{ local: \"{V6Local(i)}\", remote: \"{V6Remote(i)}\" }}\n");
        }

        return yaml.ToString();
    }

    private static string V4Local(int i) => $"10.{i / 256 % 256}.{i % 256}.0/24";

    private static string V4Remote(int i) => $"172.{16 + (i / 65536)}.{i / 256 % 256}.{i % 256}/32";

    private static string V6Local(int i) => $"fd00:{i:x}:1::/64";

    private static string V6Remote(int i) => $"fd00:{i:x}:2::/64";
}

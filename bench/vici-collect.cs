#:project ../src/IpsecExporter/IpsecExporter.csproj
// Measures the VICI source and the tunnel model (figures in docs/PERFORMANCE.md):
//   dotnet run bench/vici-collect.cs -- URI [COLLECTIONS]    collections against a real charon (e.g. a testbed's HQ)
//   dotnet run bench/vici-collect.cs -- model IKE_SAS         the tunnel model on a synthetic snapshot of that many IKE SAs,
//                                                              and the scrape-time rendering of its families
using System.Diagnostics;
using System.Globalization;
using System.Net;
using IpsecExporter.Configuration;
using IpsecExporter.Metrics;
using IpsecExporter.Sources;
using IpsecExporter.Sources.Vici;
using IpsecExporter.Tunnels;
using Microsoft.Extensions.Logging.Abstractions;

if (args[0] == "model")
{
    var ikeSas = int.Parse(args[1], CultureInfo.InvariantCulture);
    var yaml = "site: { name: hq }\nsources:\n  - { name: gw, type: vici }\ntunnels:\n" + string.Concat(Enumerable.Range(0, ikeSas).Select(i =>
        $"  - name: t{i}\n    connection: c{i}\n    remote_gateway: 198.51.100.2\n    network_pairs:\n      - {{ local: 10.{i / 250}.{i % 250}.0/24, remote: 10.200.{i % 250}.0/24 }}\n      - {{ local: fd00:{i}:1::/64, remote: \"fd00:{i}:2::/64\" }}\n"));
    var path = Path.GetTempFileName();
    File.WriteAllText(path, yaml);
    var loader = new ConfigLoader(SaSourceRegistry.BuiltIn());
    var metrics = new ExporterMetrics("bench");
    var store = new ConfigStore(loader.Load(path), loader, NullLogger<ConfigStore>.Instance);
    using var tracker = new TunnelTracker(store, TimeProvider.System);
    File.Delete(path);
    ulong traffic = 0;
    ChildSa Child(string name, string key, string local, string remote, string? dhGroup) =>
        new(name, key, ChildSaState.Installed, "INSTALLED", [local], [remote], new SaCounters(traffic, traffic, traffic / 84, traffic / 84))
        {
            LastInAgo = TimeSpan.Zero, LastOutAgo = TimeSpan.Zero, InstalledAgo = TimeSpan.FromSeconds(60), RekeyIn = TimeSpan.FromHours(5), LifeIn = TimeSpan.FromHours(6), DhGroup = dhGroup,
        };
    SaSnapshot Snapshot() => new(DateTimeOffset.UtcNow, Enumerable.Range(0, ikeSas).Select(i => new IkeSa($"c{i}", $"{i}/i{i}/r{i}", IkeSaState.Established, "ESTABLISHED", IPAddress.Loopback, IPAddress.Loopback, TimeSpan.FromSeconds(60), TimeSpan.FromHours(7), null,
        [
            Child("v4", $"{2 * i}/a{i}/b{i}", $"10.{i / 250}.{i % 250}.0/24", $"10.200.{i % 250}.0/24", "ECP_256"),
            Child("v6", $"{(2 * i) + 1}/c{i}/d{i}", $"fd00:{i}:1::/64", $"fd00:{i}:2::/64", null),
        ])).ToList());
    var source = store.Current.Sources[0];
    tracker.OnCollected(source, Snapshot());
    var times = new List<double>();
    for (var round = 0; round < 20; round++)
    {
        traffic += 8400;
        var snapshot = Snapshot();
        var watch = Stopwatch.StartNew();
        tracker.OnCollected(source, snapshot);
        times.Add(watch.Elapsed.TotalMilliseconds);
    }

    var exposition = new MetricsExposition(metrics, [tracker]);
    var renders = new List<double>();
    var text = "";
    for (var round = 0; round < 20; round++)
    {
        var watch = Stopwatch.StartNew();
        text = await exposition.RenderAsync();
        renders.Add(watch.Elapsed.TotalMilliseconds);
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tunnel model, {ikeSas} IKE SAs / {2 * ikeSas} CHILD SAs: median {Median(times):0.0} ms per snapshot, max {times.Max():0.0} ms; rendering its families: median {Median(renders):0.0} ms; /metrics text {text.Length / 1024} KiB"));
    return;
}

var endpoint = ViciEndpoint.Parse(args[0]);
var collections = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200;
await using var vici = new ViciSaSource(endpoint, TimeSpan.FromSeconds(5), TimeProvider.System, NullLogger<ViciSaSource>.Instance);
await vici.CollectAsync(CancellationToken.None);
var durations = new List<double>();
var childSas = 0;
for (var i = 0; i < collections; i++)
{
    var watch = Stopwatch.StartNew();
    var snapshot = await vici.CollectAsync(CancellationToken.None);
    durations.Add(watch.Elapsed.TotalMilliseconds);
    childSas = snapshot.IkeSas.Sum(s => s.ChildSas.Count);
}

// The list-sas exchange alone, decoded but not mapped: what `swanctl --list-sas --raw` does against the same server.
await using var raw = await ViciConnection.ConnectAsync(endpoint, TimeProvider.System, TimeSpan.FromSeconds(5), CancellationToken.None);
var listSas = new List<double>();
var mapping = new List<double>();
for (var i = 0; i < Math.Min(collections, 10); i++)
{
    var watch = Stopwatch.StartNew();
    var events = await raw.CallStreamedAsync("list-sas", "list-sa", new ViciSection().Add("noblock", "yes"), CancellationToken.None);
    listSas.Add(watch.Elapsed.TotalMilliseconds);
    watch.Restart();
    ViciSaMapper.MapListSas(events);
    mapping.Add(watch.Elapsed.TotalMilliseconds);
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"list-sas exchange alone (read and decoded): median {Median(listSas):0.00} ms; mapping to the model: median {Median(mapping):0.00} ms"));
durations.Sort();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"VICI collection (stats, list-sas, list-conns) of {childSas} CHILD SAs over {endpoint}: median {Median(durations):0.00} ms, p95 {durations[(int)(durations.Count * 0.95)]:0.00} ms, max {durations[^1]:0.00} ms ({collections} collections)"));

static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

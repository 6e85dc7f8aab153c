using System.Globalization;
using System.Net;
using IpsecExporter.Configuration;
using IpsecExporter.Metrics;
using IpsecExporter.Probes;
using IpsecExporter.Site.Gateways;
using IpsecExporter.Sources;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// The exporter's probe stack, registered exactly as the exporter registers it (AddProbes), probing
// TUNNELS x (1 gateway + INSIDE inside targets) loopback addresses at probes.interval 1s, with a /metrics-sized
// render every SCRAPE seconds (default 15) as a Prometheus scrape would cause. Prints the totals at the end: loss
// must be 0 on loopback.
// Usage: ProbeBench TUNNELS INSIDE SECONDS [SCRAPE]
var tunnelCount = int.Parse(args[0], CultureInfo.InvariantCulture);
var insidePerTunnel = int.Parse(args[1], CultureInfo.InvariantCulture);
var seconds = int.Parse(args[2], CultureInfo.InvariantCulture);
var scrapeInterval = TimeSpan.FromSeconds(args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 15);

var insideSource = IPAddress.Parse("127.0.0.1");
var pairs = new[] { new NetworkPair(IPNetwork.Parse("127.0.0.0/24"), IPNetwork.Parse("127.0.0.0/8")) };
var tunnels = Enumerable.Range(0, tunnelCount).Select(t => new TunnelConfig(
    $"t{t}",
    null,
    new PartnerConfig(null, null, null, null),
    "gw",
    $"t{t}",
    null,
    $"127.1.{t / 250}.{(t % 250) + 1}",
    pairs,
    insidePerTunnel == 0 ? null : new InsideConfig(insideSource, Enumerable.Range(0, insidePerTunnel)
        .Select(i => IPAddress.Parse($"127.2.{((t * insidePerTunnel) + i) / 250}.{(((t * insidePerTunnel) + i) % 250) + 1}")).ToList()),
    new ExpectConfig(null, null, null))).ToList();
var config = new ExporterConfig(
    "bench",
    new SiteConfig("bench", null, null, null, new PublicIpLookupConfig(PublicIpLookupMethod.None, null, null, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(5)), []),
    [],
    tunnels,
    new ProbesConfig(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)),
    new DiagnosisConfig(TimeSpan.FromMinutes(2)),
    null);

var builder = Host.CreateApplicationBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Information);
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton(new ExporterMetrics("bench"));
builder.Services.AddSingleton(new ConfigLoader(SaSourceRegistry.BuiltIn()));
builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<ConfigStore>(sp, config));
// The gateways are IP literals: the resolver knows them from the configuration, it never needs to run.
builder.Services.AddSingleton<IGatewayAddressProvider, RemoteGatewayResolver>();
builder.Services.AddProbes();
using var host = builder.Build();
await host.StartAsync();

var metrics = host.Services.GetRequiredService<ExporterMetrics>();
var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
var clock = System.Diagnostics.Stopwatch.StartNew();
var scrapeBytes = 0;
try
{
    while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
    {
        await Task.Delay(scrapeInterval, stopping);
        scrapeBytes = (await metrics.RenderAsync(stopping)).Length;
    }
}
catch (OperationCanceledException) when (stopping.IsCancellationRequested)
{
    // SIGINT/SIGTERM: report what was measured so far.
}

await host.StopAsync();
var results = host.Services.GetRequiredService<ProbeResults>();
var all = tunnels.SelectMany(t => results.GetTunnel(t.Name, TimeSpan.FromHours(1))).ToList();
var requests = all.Sum(r => r.Requests);
var responses = all.Sum(r => r.Responses);
// Probes still in flight at the stop are neither answered nor lost: count settled ones only.
var settled = all.Sum(r => r.Window.Sent);
var received = all.Sum(r => r.Window.Received);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"targets={all.Count} requests={requests} responses={responses} settled={settled} lost={settled - received} late={all.Sum(r => r.LateResponses)} duplicates={all.Sum(r => r.DuplicateResponses)} scrape_bytes={scrapeBytes}"));

using IpsecExporter.Configuration;
using IpsecExporter.Metrics;
using IpsecExporter.Sources;
using IpsecExporter.Tunnels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace IpsecExporter.Tests.Support;

/// <summary>A <see cref="TunnelTracker"/> on an isolated registry, with a configuration file a test can rewrite and reload.</summary>
public sealed class TrackerHarness : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly string _path;

    public TrackerHarness(string yaml)
    {
        _path = _directory.Write("config.yaml", yaml);
        var loader = new ConfigLoader(TestSources.Registry());
        Store = new ConfigStore(loader.Load(_path), loader, NullLogger<ConfigStore>.Instance);
        Tracker = new TunnelTracker(Store, Time);
    }

    /// <summary>One tunnel <c>t1</c> (connection <c>site</c>) with two IPv4 pairs, on a scripted source.</summary>
    public const string TwoPairConfig = """
        site: { name: hq }
        sources:
          - { name: gw, type: scripted }
        tunnels:
          - name: t1
            connection: site
            remote_gateway: 198.51.100.2
            network_pairs:
              - { local: 10.1.0.0/24, remote: 10.2.0.0/24 }
              - { local: 10.3.0.0/24, remote: 10.4.0.0/24 }
        """;

    public static DateTimeOffset Start { get; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public FakeTimeProvider Time { get; } = new(Start);

    public ExporterMetrics Metrics { get; } = new("test");

    public ConfigStore Store { get; }

    public TunnelTracker Tracker { get; }

    public SourceConfig Source(string name = "gw") => Store.Current.Sources.Single(s => s.Name == name);

    public void Collect(SaSnapshot? snapshot, string source = "gw") => Tracker.OnCollected(Source(source), snapshot);

    /// <summary>Rewrites the configuration file and reloads it; fails the test when the new file is invalid.</summary>
    public void Reload(string yaml)
    {
        _directory.Write("config.yaml", yaml);
        Assert.Empty(Store.Reload());
    }

    /// <summary>The whole exposition of the tracker (with the registry's process_* and dotnet_* families), as /metrics serves it.</summary>
    public Task<string> RenderAsync() => new MetricsExposition(Metrics, [Tracker]).RenderAsync();

    /// <summary>The metrics of the tunnel model (IKE and CHILD SA families), as a scrape renders them.</summary>
    public Task<string> RenderTunnelModelAsync() => Task.FromResult(MetricsText.Render(Tracker));

    public void Dispose()
    {
        Tracker.Dispose();
        _directory.Dispose();
    }
}

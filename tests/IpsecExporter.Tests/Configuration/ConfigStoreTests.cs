using IpsecExporter.Configuration;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace IpsecExporter.Tests.Configuration;

public sealed class ConfigStoreTests : IDisposable
{
    private const string Yaml = "site: { name: hq }\nsources: [ { name: gw, type: scripted } ]\n";

    private readonly TempDirectory _directory = new();

    [Fact]
    public void Reloads_reach_services_stage_by_stage_and_a_failing_handler_stops_no_other()
    {
        var path = _directory.Write("config.yaml", Yaml);
        var loader = new ConfigLoader(TestSources.Registry());
        var logger = new FakeLogger<ConfigStore>();
        var store = new ConfigStore(loader.Load(path), loader, logger);
        var calls = new List<string>();
        store.OnChanged(ConfigStage.Diagnosis, "diagnosis", (_, _) => calls.Add("diagnosis"));
        store.OnChanged(ConfigStage.Probes, "probes", (_, _) => throw new InvalidOperationException("probe engine gone"));
        store.OnChanged(ConfigStage.TunnelModel, "model", (_, _) => calls.Add("model"));
        var unsubscribed = store.OnChanged(ConfigStage.Sources, "sources", (_, _) => calls.Add("sources"));
        store.OnChanged(ConfigStage.Sources, "sources 2", (_, next) => calls.Add($"sources 2: {next.Site.Name}"));

        _directory.Write("config.yaml", Yaml.Replace("hq", "hq2", StringComparison.Ordinal));
        Assert.Empty(store.Reload());
        unsubscribed.Dispose();
        Assert.Empty(store.Reload());

        Assert.Equal(["model", "sources", "sources 2: hq2", "diagnosis", "model", "sources 2: hq2", "diagnosis"], calls);
        var errors = logger.Collector.GetSnapshot().Where(r => r.Level == LogLevel.Error).ToList();
        Assert.Equal(2, errors.Count);
        Assert.Equal("Applying the reloaded configuration to probes (Probes) failed; the other services got it", errors[0].Message);
        Assert.Equal("probe engine gone", errors[0].Exception?.Message);
    }

    public void Dispose() => _directory.Dispose();
}

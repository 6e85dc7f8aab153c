using IpsecExporter.Configuration;
using IpsecExporter.Metrics;
using IpsecExporter.Sources;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpsecExporter.Tests.Support;

/// <summary>
/// Configurations for tests, parsed from YAML by the real loader so defaults come from the one place. Sources may use
/// <c>type: config-only</c>: tunnels need a source, and these tests check everything but SA collection.
/// </summary>
public static class TestConfigs
{
    public static ConfigLoader Loader { get; } = new(new SaSourceRegistry([new ConfigOnlySourceFactory()]));

    public static ExporterConfig Parse(string yaml) => Loader.Parse("test.yaml", yaml);

    public static ConfigStore Store(string yaml, ExporterMetrics metrics) =>
        new(Parse(yaml), Loader, metrics, NullLogger<ConfigStore>.Instance);

    /// <summary>A store whose file can be rewritten and reloaded, as after SIGHUP.</summary>
    public static ConfigStore FileStore(string path, string yaml, ExporterMetrics metrics)
    {
        File.WriteAllText(path, yaml);
        return new ConfigStore(Loader.Load(path), Loader, metrics, NullLogger<ConfigStore>.Instance);
    }

    private sealed class ConfigOnlySourceFactory : ISaSourceFactory
    {
        public string Type => "config-only";

        public IEnumerable<(string Key, string Message)> Validate(SourceConfig config) => [];

        public ISaSource Create(SourceConfig config, IServiceProvider services) =>
            throw new NotSupportedException("config-only sources exist for configuration tests and are never collected");
    }
}

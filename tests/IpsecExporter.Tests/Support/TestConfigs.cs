using IpsecExporter.Configuration;
using IpsecExporter.Sources;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpsecExporter.Tests.Support;

/// <summary>
/// Configurations for tests, parsed from YAML by the real loader so defaults come from the one place. Sources may use
/// <c>type: no-sas</c>, a gateway without any SA: tunnels need a source, and these tests check everything but SAs.
/// </summary>
public static class TestConfigs
{
    public static SaSourceRegistry Registry { get; } = new([new NoSasSourceType()]);

    public static ConfigLoader Loader { get; } = new(Registry);

    public static ExporterConfig Parse(string yaml) => Loader.Parse("test.yaml", yaml);

    public static ConfigStore Store(string yaml) =>
        new(Parse(yaml), Loader, NullLogger<ConfigStore>.Instance);

    /// <summary>A store whose file can be rewritten and reloaded, as after SIGHUP.</summary>
    public static ConfigStore FileStore(string path, string yaml)
    {
        File.WriteAllText(path, yaml);
        return new ConfigStore(Loader.Load(path), Loader, NullLogger<ConfigStore>.Instance);
    }

    private sealed class NoSasSourceType : SaSourceType<TestSourceOptions>
    {
        public override string Type => "no-sas";

        public override IReadOnlyCollection<string> OptionKeys { get; } = [];

        public override TestSourceOptions Parse(YamlMap map, ConfigErrors errors) => new("");

        public override ISaSource Create(SourceConfig config, TestSourceOptions options, IServiceProvider services) => new NoSasSource(services.GetRequiredService<TimeProvider>());
    }

    private sealed class NoSasSource(TimeProvider time) : ISaSource
    {
        public Task<SaSnapshot> CollectAsync(CancellationToken cancellationToken) => Task.FromResult(new SaSnapshot(time.GetUtcNow(), []));

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

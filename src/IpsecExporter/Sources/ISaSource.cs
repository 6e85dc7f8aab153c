using IpsecExporter.Configuration;

namespace IpsecExporter.Sources;

/// <summary>
/// A place SA state is read from (a strongSwan VICI socket, a firewall's HTTP API). One instance per configured
/// source; the <see cref="SourceCollector"/> calls it on the source's interval and records the self-metrics, so an
/// implementation only reads and translates. Throwing marks this one collection as failed.
/// </summary>
public interface ISaSource : IAsyncDisposable
{
    Task<SaSnapshot> CollectAsync(CancellationToken cancellationToken);
}

/// <summary>Creates and validates one <c>type</c> of source; registered in <see cref="SaSourceRegistry"/>.</summary>
public interface ISaSourceFactory
{
    /// <summary>The YAML <c>type</c> value this factory answers to.</summary>
    string Type { get; }

    /// <summary>Type-specific checks of a parsed source entry: the config key at fault and the message.</summary>
    IEnumerable<(string Key, string Message)> Validate(SourceConfig config);

    ISaSource Create(SourceConfig config, IServiceProvider services);
}

using IpsecExporter.Configuration;

namespace IpsecExporter.Sources;

/// <summary>
/// A place SA state is read from (a strongSwan VICI socket, a firewall's HTTP API). One instance per configured
/// source; the <see cref="SourceCollector"/> calls it on the source's interval and records the self-metrics, so an
/// implementation only reads and translates (docs/SOURCES.md). Throwing marks this one collection as failed.
/// </summary>
public interface ISaSource : IAsyncDisposable
{
    Task<SaSnapshot> CollectAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A source that also listens to an event stream (VICI's SA life-cycle events): the collector exports whether it is
/// connected as <c>ipsec_source_events_connected</c>, since a lost stream silently degrades rekey accounting to polling.
/// </summary>
public interface IEventStreamSource
{
    bool EventsConnected { get; }
}

/// <summary>
/// The options of one source entry beyond the generic <c>name</c>, <c>type</c>, <c>interval</c> and <c>timeout</c>;
/// each source type has its own sealed record.
/// </summary>
public abstract record SourceOptions
{
    /// <summary>
    /// What the source reads (a socket path, an API URL): the tracker keeps what it counted per endpoint, so renaming
    /// a source on reload does not count its SAs again. Canonical: two spellings of the same endpoint (a symlinked
    /// socket directory, a host name's case, an explicit default port) give the same text. Never carries a secret.
    /// </summary>
    public abstract string Endpoint { get; }
}

/// <summary>
/// One <c>type</c> of source: parses and validates its options and creates sources. Register with
/// <see cref="SaSourceServiceCollectionExtensions.AddSaSource{T}"/>; derive from <see cref="SaSourceType{TOptions}"/>.
/// </summary>
internal interface ISaSourceType
{
    /// <summary>The YAML <c>type</c> value this type answers to.</summary>
    string Type { get; }

    /// <summary>The keys this type accepts besides the generic ones.</summary>
    IReadOnlyCollection<string> OptionKeys { get; }

    /// <summary>
    /// Keys this type refuses, with the reason shown instead of "unknown key"; a reason given here also replaces the
    /// generic one for an inline secret (so it can name this type's own <c>*_file</c> key).
    /// </summary>
    IReadOnlyDictionary<string, string> RefusedKeys { get; }

    /// <summary>Reads this type's options from a source entry; problems go to <paramref name="errors"/> at their node.</summary>
    SourceOptions ParseOptions(YamlMap map, ConfigErrors errors);

    ISaSource Create(SourceConfig config, IServiceProvider services);
}

/// <summary>A source type with options of type <typeparamref name="TOptions"/>.</summary>
internal abstract class SaSourceType<TOptions> : ISaSourceType
    where TOptions : SourceOptions
{
    public abstract string Type { get; }

    public abstract IReadOnlyCollection<string> OptionKeys { get; }

    public virtual IReadOnlyDictionary<string, string> RefusedKeys { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public abstract TOptions Parse(YamlMap map, ConfigErrors errors);

    public abstract ISaSource Create(SourceConfig config, TOptions options, IServiceProvider services);

    SourceOptions ISaSourceType.ParseOptions(YamlMap map, ConfigErrors errors) => Parse(map, errors);

    ISaSource ISaSourceType.Create(SourceConfig config, IServiceProvider services) => Create(config, (TOptions)config.Options, services);
}

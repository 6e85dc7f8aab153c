using IpsecExporter.Configuration;
using IpsecExporter.Sources;
using IpsecExporter.Sources.Http;
using Microsoft.Extensions.DependencyInjection;

namespace IpsecExporter.Tests.Support;

/// <summary>A source whose next results a test scripts: a snapshot, an exception, or a hang until cancelled.</summary>
public sealed class ScriptedSource : ISaSource
{
    private readonly Queue<Func<CancellationToken, Task<SaSnapshot>>> _script = new();

    public int Collections { get; private set; }

    public bool Disposed { get; private set; }

    public Func<CancellationToken, Task<SaSnapshot>> Default { get; set; } = _ => throw new InvalidOperationException("no scripted result");

    public void Enqueue(SaSnapshot snapshot) => _script.Enqueue(_ => Task.FromResult(snapshot));

    public void EnqueueFailure(string message) => _script.Enqueue(_ => throw new IOException(message));

    public void EnqueueFailure(Exception exception) => _script.Enqueue(_ => throw exception);

    public void EnqueueHang() => _script.Enqueue(async token =>
    {
        await Task.Delay(Timeout.Infinite, token);
        throw new InvalidOperationException("unreachable");
    });

    public Task<SaSnapshot> CollectAsync(CancellationToken cancellationToken)
    {
        Collections++;
        var next = _script.Count > 0 ? _script.Dequeue() : Default;
        return next(cancellationToken);
    }

    public ValueTask DisposeAsync()
    {
        Disposed = true;
        return ValueTask.CompletedTask;
    }
}

/// <summary>The options of a test source type: an optional <c>endpoint</c> (default: empty, shared by all).</summary>
public sealed record TestSourceOptions(string Endpoint) : SourceOptions
{
    public override string Endpoint { get; } = Endpoint;
}

/// <summary>Hands out <see cref="ScriptedSource"/>s by source name, for type <c>scripted</c>.</summary>
internal sealed class ScriptedSourceType(string type = "scripted") : SaSourceType<TestSourceOptions>
{
    public Dictionary<string, ScriptedSource> Created { get; } = new();

    public override string Type => type;

    public override IReadOnlyCollection<string> OptionKeys { get; } = ["endpoint"];

    public override TestSourceOptions Parse(YamlMap map, ConfigErrors errors) => new(map.String("endpoint") ?? "");

    public override ISaSource Create(SourceConfig config, TestSourceOptions options, IServiceProvider services)
    {
        var source = new ScriptedSource();
        Created[config.Name] = source;
        return source;
    }
}

/// <summary>Options of the <c>http-test</c> type: the shared HTTP pieces every vendor source parses the same way.</summary>
public sealed record HttpTestSourceOptions(HttpEndpoint? Api, SecretReference? Token) : SourceOptions
{
    public override string Endpoint => Api?.Url.ToString() ?? "";
}

/// <summary>
/// A stand-in for the vendor API sources in config tests: <c>url</c>, <c>tls</c> and a required <c>token_file</c> /
/// <c>token_env</c>, parsed by the shared <see cref="HttpEndpoint"/> and <see cref="SecretReference"/>.
/// </summary>
internal sealed class HttpTestSourceType : SaSourceType<HttpTestSourceOptions>
{
    public override string Type => "http-test";

    public override IReadOnlyCollection<string> OptionKeys { get; } = [.. HttpEndpoint.Keys, "token_file", "token_env"];

    public override HttpTestSourceOptions Parse(YamlMap map, ConfigErrors errors) =>
        new(HttpEndpoint.Parse(map, errors), SecretReference.Parse(map, "token", errors, required: true));

    public override ISaSource Create(SourceConfig config, HttpTestSourceOptions options, IServiceProvider services) =>
        throw new NotSupportedException("http-test sources are for configuration tests only");
}

internal static class TestSources
{
    /// <summary>The build's source types plus <c>scripted</c>.</summary>
    public static SaSourceRegistry Registry(ScriptedSourceType? scripted = null) =>
        new ServiceCollection().AddSaSourceTypes().AddSingleton<ISaSourceType>(scripted ?? new ScriptedSourceType()).AddSingleton<ISaSourceType, HttpTestSourceType>()
            .BuildServiceProvider().GetRequiredService<SaSourceRegistry>();
}

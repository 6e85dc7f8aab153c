using IpsecExporter.Configuration;
using IpsecExporter.Sources;

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

/// <summary>Hands out <see cref="ScriptedSource"/>s by source name, for type <c>scripted</c>.</summary>
public sealed class ScriptedSourceFactory(string type = "scripted") : ISaSourceFactory
{
    public Dictionary<string, ScriptedSource> Created { get; } = new();

    public string Type => type;

    public IEnumerable<(string Key, string Message)> Validate(SourceConfig config) => [];

    public ISaSource Create(SourceConfig config, IServiceProvider services)
    {
        var source = new ScriptedSource();
        Created[config.Name] = source;
        return source;
    }
}

public static class TestSources
{
    /// <summary>The build's source types plus <c>scripted</c>.</summary>
    public static SaSourceRegistry Registry(ScriptedSourceFactory? scripted = null) =>
        new([.. SaSourceRegistry.CreateDefault().Factories, scripted ?? new ScriptedSourceFactory()]);
}

namespace IpsecExporter.Tests.Support;

/// <summary>A network namespace with a unique name, deleted on disposal (with everything inside it).</summary>
public sealed class NetworkNamespace : IAsyncDisposable
{
    private NetworkNamespace(string name)
    {
        Name = name;
    }

    public string Name { get; }

    public static async Task<NetworkNamespace> CreateAsync()
    {
        var ns = new NetworkNamespace($"ipxt-{Guid.NewGuid():N}"[..15]);
        await ExternalCommand.RunAsync("ip", "netns", "add", ns.Name);
        return ns;
    }

    /// <summary><c>ip -n NAME ARGS</c>.</summary>
    public Task<string> IpAsync(params string[] arguments) => ExternalCommand.RunAsync("ip", ["-n", Name, .. arguments]);

    /// <summary>Runs a command inside the namespace.</summary>
    public Task<string> ExecAsync(params string[] command) => ExternalCommand.RunAsync("ip", ["netns", "exec", Name, .. command]);

    public async ValueTask DisposeAsync() => await ExternalCommand.RunAsync("ip", "netns", "delete", Name);
}

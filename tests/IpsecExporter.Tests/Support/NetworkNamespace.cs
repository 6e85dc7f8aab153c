namespace IpsecExporter.Tests.Support;

/// <summary>
/// A network namespace with a unique name (tests run in parallel, and other developers' tests on the same machine)
/// and loopback up, deleted on disposal with everything inside it (veth ends, addresses, nftables rules).
/// </summary>
public sealed class NetworkNamespace : IAsyncDisposable
{
    private NetworkNamespace(string name)
    {
        Name = name;
    }

    public string Name { get; }

    /// <summary>The path setns(2) takes, as <c>IcmpProbeOptions.NetworkNamespace</c> does.</summary>
    public string Path => $"/run/netns/{Name}";

    public static async Task<NetworkNamespace> CreateAsync()
    {
        var ns = new NetworkNamespace($"ipxt-{Guid.NewGuid():N}"[..15]);
        await ExternalCommand.RunAsync("ip", "netns", "add", ns.Name);
        try
        {
            await ns.IpAsync("link", "set", "lo", "up");
        }
        catch
        {
            await ns.DisposeAsync();
            throw;
        }

        return ns;
    }

    /// <summary>Joins two namespaces with a veth pair, named <paramref name="device"/> on both sides and up.</summary>
    public static async Task ConnectAsync(NetworkNamespace left, NetworkNamespace right, string device = "veth0")
    {
        await ExternalCommand.RunAsync("ip", "link", "add", device, "netns", left.Name, "type", "veth", "peer", "name", device, "netns", right.Name);
        await left.IpAsync("link", "set", device, "up");
        await right.IpAsync("link", "set", device, "up");
    }

    /// <summary><c>ip -n NAME ARGS</c>.</summary>
    public Task<string> IpAsync(params string[] arguments) => ExternalCommand.RunAsync("ip", ["-n", Name, .. arguments]);

    /// <summary>Adds an address; an IPv6 one without duplicate address detection, so that it is usable at once.</summary>
    public Task<string> AddAddressAsync(string device, string cidr) =>
        IpAsync(cidr.Contains(':', StringComparison.Ordinal) ? ["addr", "add", cidr, "dev", device, "nodad"] : ["addr", "add", cidr, "dev", device]);

    /// <summary>Runs a command inside the namespace.</summary>
    public Task<string> ExecAsync(params string[] command) => ExternalCommand.RunAsync("ip", ["netns", "exec", Name, .. command]);

    /// <summary>Applies an nftables ruleset (<c>nft -f</c> syntax) inside the namespace.</summary>
    public async Task NftAsync(string ruleset)
    {
        var result = await ExternalCommand.RunWithInputAsync(ruleset, "ip", "netns", "exec", Name, "nft", "-f", "-");
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"nft -f in {Name} exited with {result.ExitCode}: {result.Stderr}");
        }
    }

    public async ValueTask DisposeAsync() => await ExternalCommand.RunAsync("ip", "netns", "delete", Name);
}

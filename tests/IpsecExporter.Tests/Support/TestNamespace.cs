namespace IpsecExporter.Tests.Support;

/// <summary>
/// A network namespace of one test, named uniquely (tests run in parallel, and other developers' tests run on the same
/// machine), with loopback up. Disposing deletes it and everything in it (veth ends, addresses, nftables rules).
/// </summary>
public sealed class TestNamespace : IDisposable
{
    private TestNamespace(string name)
    {
        Name = name;
    }

    public string Name { get; }

    /// <summary>The path that setns(2) and <c>IcmpProbeOptions.NetworkNamespace</c> take.</summary>
    public string Path => $"/run/netns/{Name}";

    public static TestNamespace Create(string role)
    {
        var ns = new TestNamespace($"t{role}-{Guid.NewGuid().ToString("N")[..8]}");
        SystemCommand.Run("ip", "netns", "add", ns.Name);
        try
        {
            ns.Ip("link", "set", "lo", "up");
        }
        catch
        {
            ns.Dispose();
            throw;
        }

        return ns;
    }

    /// <summary>Joins two namespaces with a veth pair named <paramref name="name"/> on both sides.</summary>
    public static void Connect(TestNamespace left, TestNamespace right, string name = "veth0")
    {
        SystemCommand.Run("ip", "link", "add", name, "netns", left.Name, "type", "veth", "peer", "name", name, "netns", right.Name);
        left.Ip("link", "set", name, "up");
        right.Ip("link", "set", name, "up");
    }

    /// <summary>Runs <c>ip -n NAME ...</c>.</summary>
    public string Ip(params string[] arguments) => SystemCommand.Run("ip", ["-n", Name, .. arguments]);

    /// <summary>Runs a command inside the namespace (<c>ip netns exec NAME ...</c>).</summary>
    public string Exec(params string[] command) => SystemCommand.Run("ip", ["netns", "exec", Name, .. command]);

    /// <summary>Adds an IPv6 address without duplicate address detection, so it is usable at once.</summary>
    public void AddAddress(string device, string cidr) =>
        Ip(cidr.Contains(':', StringComparison.Ordinal) ? ["addr", "add", cidr, "dev", device, "nodad"] : ["addr", "add", cidr, "dev", device]);

    /// <summary>Applies an nftables ruleset (nft -f syntax) inside the namespace.</summary>
    public void Nft(string ruleset)
    {
        var file = System.IO.Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, ruleset);
            Exec("nft", "-f", file);
        }
        finally
        {
            File.Delete(file);
        }
    }

    public void Dispose() => SystemCommand.TryRun("ip", "netns", "del", Name);
}

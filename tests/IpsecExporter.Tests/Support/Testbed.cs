namespace IpsecExporter.Tests.Support;

/// <summary>
/// A real testbed (testbed/testbed.sh): two strongSwan charons in their own network namespaces with a tunnel between
/// them. The name is random so parallel tests and other developers' testbeds never collide; the script allocates a
/// free subnet index. Dispose tears it down, also after a failed test.
/// </summary>
public sealed class Testbed : IAsyncDisposable
{
    private Testbed(string name, IReadOnlyDictionary<string, string> summary)
    {
        Name = name;
        Summary = summary;
    }

    public string Name { get; }

    /// <summary>The key=value summary printed by <c>up</c> (hq_vici, pair_net1, ...).</summary>
    public IReadOnlyDictionary<string, string> Summary { get; }

    public int Index => int.Parse(Summary["index"], System.Globalization.CultureInfo.InvariantCulture);

    public string HqVici => Summary["hq_vici"];

    public static string Script { get; } = Repository.Path("testbed", "testbed.sh");

    public static async Task<Testbed> UpAsync(params string[] options)
    {
        var name = $"vt{Guid.NewGuid():N}"[..10];
        try
        {
            var output = await RunScriptAsync(["up", "--name", name, .. options]);
            var summary = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split('=', 2))
                .Where(parts => parts.Length == 2)
                .ToDictionary(parts => parts[0], parts => parts[1]);
            return new Testbed(name, summary);
        }
        catch
        {
            await RunScriptAsync(["down", "--name", name]);
            throw;
        }
    }

    /// <summary>Runs a verb on this testbed; throws with the script's output when it fails.</summary>
    public Task<string> RunAsync(string verb, params string[] options) => RunScriptAsync([verb, "--name", Name, .. options]);

    /// <summary>Pings through the tunnel from HQ's inside address; returns whether every echo was answered.</summary>
    public async Task<bool> PingAsync(string target, int count = 4)
    {
        var (code, _, _) = await ExecAsync(["ping", "--name", Name, "--target", target, "--count", count.ToString(System.Globalization.CultureInfo.InvariantCulture), "--interval", "0.1"]);
        return code == 0;
    }

    public async ValueTask DisposeAsync() => await RunScriptAsync(["down", "--name", Name]);

    /// <summary>Runs the script; returns its stdout, or throws with stdout and stderr when it fails.</summary>
    private static async Task<string> RunScriptAsync(string[] args)
    {
        var (code, stdout, stderr) = await ExecAsync(args);
        return code == 0 ? stdout : throw new InvalidOperationException($"testbed.sh {string.Join(' ', args)} exited {code}:\n{stdout}{stderr}");
    }

    private static async Task<(int Code, string Stdout, string Stderr)> ExecAsync(string[] args)
    {
        var result = await ExternalCommand.RunWithInputAsync(null, "bash", [Script, .. args]);
        return (result.ExitCode, result.Stdout, result.Stderr);
    }
}

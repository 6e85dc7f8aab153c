namespace IpsecExporter.Tests.Support;

/// <summary>The real promtool from Debian's prometheus package.</summary>
public static class Promtool
{
    /// <summary>Exit code and everything promtool printed (stdout then stderr).</summary>
    public static async Task<(int Code, string Output)> RunAsync(string stdin, params string[] args)
    {
        var result = await ExternalCommand.RunWithInputAsync(stdin, "promtool", args);
        return (result.ExitCode, result.Stdout + result.Stderr);
    }
}

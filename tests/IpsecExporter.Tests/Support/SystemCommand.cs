using System.Diagnostics;

namespace IpsecExporter.Tests.Support;

/// <summary>Runs a system command (ip, nft, sysctl) for test setup; a non-zero exit fails with its stderr.</summary>
public static class SystemCommand
{
    public static string Run(string file, params string[] arguments)
    {
        var (exitCode, stdout, stderr) = TryRun(file, arguments);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {exitCode}: {stderr.Trim()}");
        }

        return stdout;
    }

    public static (int ExitCode, string Stdout, string Stderr) TryRun(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr);
    }
}

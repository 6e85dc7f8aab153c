using System.Diagnostics;

namespace IpsecExporter.Tests.Support;

public sealed record CommandResult(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs a short command (ip, kill, promtool) to completion.</summary>
public static class ExternalCommand
{
    /// <summary>Returns stdout; a non-zero exit throws with stderr.</summary>
    public static async Task<string> RunAsync(string executable, params string[] arguments)
    {
        var result = await RunWithInputAsync(null, executable, arguments);
        return result.ExitCode == 0
            ? result.Stdout
            : throw new InvalidOperationException($"{executable} {string.Join(' ', arguments)} exited with {result.ExitCode}: {result.Stderr}");
    }

    /// <summary>Feeds <paramref name="input"/> (if any) on stdin and returns everything, whatever the exit code.</summary>
    public static async Task<CommandResult> RunWithInputAsync(string? input, string executable, params string[] arguments)
    {
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = input is not null,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {executable}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }

        await process.WaitForExitAsync();
        return new CommandResult(process.ExitCode, await stdout, await stderr);
    }
}

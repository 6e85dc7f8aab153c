using System.Diagnostics;

namespace IpsecExporter.Tests.Support;

/// <summary>Debian's real headless Chromium, confined to loopback: every other host name fails to resolve.</summary>
public static class Chromium
{
    public static async Task<string> RunAsync(Uri page, params string[] extraArgs)
    {
        using var profile = new TempDirectory();
        var info = new ProcessStartInfo("chromium")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
            "--disable-background-networking", "--disable-component-update", "--disable-extensions",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", $"--user-data-dir={profile.Path}",
        }.Concat(extraArgs).Append(page.ToString()))
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"chromium exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}

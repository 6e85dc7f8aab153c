using System.Diagnostics;
using System.Text;

namespace IpsecExporter.Tests.Support;

/// <summary>
/// A real daemon (dnsmasq, chronyd) run in the foreground by a test, in its own temporary directory, with its output
/// kept for failure messages. Disposal kills exactly the process started here and deletes the directory.
/// </summary>
public sealed class LocalDaemon : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private Process? _process;

    private LocalDaemon(string name)
    {
        Name = name;
        Directory = Path.Combine(Path.GetTempPath(), $"ipsec-exporter-test-{name}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Name { get; }

    /// <summary>A private directory for the daemon's configuration, pid file and state.</summary>
    public string Directory { get; }

    public int Pid => _process?.Id ?? throw new InvalidOperationException($"{Name} is not running");

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static LocalDaemon Create(string name) => new(name);

    public string PathOf(string file) => Path.Combine(Directory, file);

    /// <summary>Starts <paramref name="executable"/> and waits until <paramref name="ready"/> holds (or the process exits).</summary>
    public async Task StartAsync(string executable, IEnumerable<string> arguments, Func<Task<bool>> ready, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {executable}");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        await Poll.UntilAsync(
            async () => process.HasExited ? throw new InvalidOperationException($"{Name} exited with {process.ExitCode}:\n{Output}") : await ready(),
            timeout,
            $"{Name} to become ready; output so far:\n{Output}");
    }

    /// <summary>Stops the running process (before a restart with new configuration).</summary>
    public async Task StopAsync()
    {
        if (_process is null)
        {
            return;
        }

        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}

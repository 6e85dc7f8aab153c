using System.Diagnostics;
using System.Text;

namespace IpsecExporter.Tests.Support;

/// <summary>The real exporter binary as a child process on a free loopback port: what a user runs.</summary>
public sealed class ExporterProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ExporterProcess(Process process, string host, int port)
    {
        _process = process;
        Port = port;
        BaseAddress = new Uri($"http://{host}:{port}/");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Port { get; }

    public Uri BaseAddress { get; }

    public int Pid => _process.Id;

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

    public static ExporterProcess Start(params string[] args) => StartIn(null, "127.0.0.1", FreePorts.Loopback(), args);

    /// <summary>Runs the exporter inside network namespace <paramref name="netns"/> (where the gateway is), listening on <paramref name="host"/>.</summary>
    public static ExporterProcess StartIn(string? netns, string host, int port, params string[] args)
    {
        var info = new ProcessStartInfo(netns is null ? "dotnet" : "ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (netns is not null)
        {
            foreach (var arg in new[] { "netns", "exec", netns, "dotnet" })
            {
                info.ArgumentList.Add(arg);
            }
        }

        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ipsec-exporter.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.ArgumentList.Add("--listen");
        info.ArgumentList.Add($"{host}:{port}");
        return new ExporterProcess(Process.Start(info)!, host, port);
    }

    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}

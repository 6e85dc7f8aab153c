using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace IpsecExporter.Tests.Support;

/// <summary>Debian's real headless Chromium, confined to loopback: every other host name fails to resolve.</summary>
public static class Chromium
{
    /// <summary>Headless, no background traffic (the machine's network is closed), only 127.0.0.1 resolvable.</summary>
    internal static readonly string[] Flags =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
        "--disable-background-networking", "--disable-component-update", "--disable-extensions",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ];

    public static async Task<string> RunAsync(Uri page, params string[] extraArgs)
    {
        using var profile = new TempDirectory();
        using var process = Process.Start(StartInfo(profile, extraArgs.Append(page.ToString())))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"chromium exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }

    internal static ProcessStartInfo StartInfo(TempDirectory profile, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("chromium")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in Flags.Append($"--user-data-dir={profile.Path}").Concat(args))
        {
            info.ArgumentList.Add(arg);
        }

        return info;
    }
}

/// <summary>
/// A page held open in headless Chromium and driven over the DevTools protocol: evaluate script in it (clicks,
/// scrolling, DOM reads) and take screenshots, while the page keeps running its own timers.
/// </summary>
public sealed partial class ChromiumPage : IAsyncDisposable
{
    private readonly TempDirectory _profile = new();
    private readonly ClientWebSocket _socket = new();
    private Process? _process;
    private int _nextId;

    private ChromiumPage()
    {
    }

    public static async Task<ChromiumPage> OpenAsync(Uri page, int width, int height)
    {
        var session = new ChromiumPage();
        try
        {
            await session.StartAsync(page, width, height);
            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    /// <summary>Evaluates <paramref name="expression"/> in the page (promises awaited) and returns its JSON value.</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (result["exceptionDetails"] is { } exception)
        {
            throw new InvalidOperationException($"script failed: {exception.ToJsonString()}");
        }

        return result["result"]!["value"]?.DeepClone();
    }

    public async Task ScreenshotAsync(string path)
    {
        var result = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        await File.WriteAllBytesAsync(path, Convert.FromBase64String((string)result["data"]!));
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        _profile.Dispose();
    }

    private async Task StartAsync(Uri page, int width, int height)
    {
        _process = Process.Start(Chromium.StartInfo(_profile, ["--remote-debugging-port=0", $"--window-size={width},{height}", page.ToString()]))!;
        _ = _process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string? line;
        Match listening;
        do
        {
            line = await _process.StandardError.ReadLineAsync(timeout.Token) ?? throw new InvalidOperationException("chromium exited before DevTools listened");
            listening = DevToolsListening().Match(line);
        }
        while (!listening.Success);

        _ = _process.StandardError.ReadToEndAsync();
        using var http = new HttpClient();
        var targets = await http.GetFromJsonAsync<JsonArray>($"http://127.0.0.1:{listening.Groups["port"].Value}/json/list", timeout.Token);
        var target = targets!.First(t => (string?)t!["type"] == "page")!;
        await _socket.ConnectAsync(new Uri((string)target["webSocketDebuggerUrl"]!), timeout.Token);
    }

    private async Task<JsonNode> SendAsync(string method, JsonObject parameters)
    {
        var id = Interlocked.Increment(ref _nextId);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var request = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(request.ToJsonString()), WebSocketMessageType.Text, true, timeout.Token);
        var buffer = new byte[1 << 16];
        while (true)
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult received;
            do
            {
                received = await _socket.ReceiveAsync(buffer, timeout.Token);
                message.Write(buffer, 0, received.Count);
            }
            while (!received.EndOfMessage);

            // Events (no id) and answers to other requests are skipped.
            var reply = JsonNode.Parse(message.ToArray())!;
            if ((int?)reply["id"] == id)
            {
                return reply["error"] is { } error ? throw new InvalidOperationException($"{method}: {error.ToJsonString()}") : reply["result"]!;
            }
        }
    }

    [GeneratedRegex(@"DevTools listening on ws://127\.0\.0\.1:(?<port>\d+)/")]
    private static partial Regex DevToolsListening();
}

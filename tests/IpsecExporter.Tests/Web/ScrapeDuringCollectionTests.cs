using IpsecExporter.Configuration;
using IpsecExporter.Sources;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Web;

/// <summary>Scrapes never wait on a collection: they render what the last finished round published.</summary>
public sealed class ScrapeDuringCollectionTests : IDisposable
{
    private const string Config = """
        site: { name: hq }
        sources: [ { name: gw, type: scripted, interval: 100ms, timeout: 1m } ]
        tunnels:
          - name: t1
            connection: c1
            remote_gateway: 127.0.0.1
            network_pairs: [ { local: 10.1.0.0/24, remote: 10.2.0.0/24 } ]
        """;

    private static readonly string[] Published = ["ipsec_source_up{", "ipsec_source_collect_duration_seconds{", "ipsec_source_last_success_timestamp_seconds{", "ipsec_child_sa_received_bytes_total{", "ipsec_ike_sa_established{"];

    private readonly TempDirectory _directory = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    [Fact]
    public async Task A_scrape_while_a_collection_is_blocked_answers_at_once_with_the_last_published_state()
    {
        var scripted = new ScriptedSourceType();
        var registry = TestSources.Registry(scripted);
        var path = _directory.Write("ipsec.yaml", Config);
        var (app, baseAddress) = await InProcessExporter.StartAsync(new ConfigLoader(registry).Load(path), registry);
        await using var running = app;
        var metrics = new Uri(baseAddress, "metrics");
        await Poll.UntilAsync(() => scripted.Created.ContainsKey("gw"), TimeSpan.FromSeconds(10));
        var source = scripted.Created["gw"];
        source.Default = _ => Task.FromResult(Snapshot(4200));
        var text = "";
        await Poll.UntilAsync(
            async () =>
            {
                text = await _http.GetStringAsync(metrics);
                return text.Contains("ipsec_child_sa_received_bytes_total{tunnel=\"t1\",local_ts=\"10.1.0.0/24\",remote_ts=\"10.2.0.0/24\"} 4200\n", StringComparison.Ordinal)
                    && text.Contains("ipsec_source_up{source=\"gw\"} 1\n", StringComparison.Ordinal);
            },
            TimeSpan.FromSeconds(15),
            () => text);

        // The next collection hangs inside the source until released.
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource<SaSnapshot>(TaskCreationOptions.RunContinuationsAsynchronously);
        source.Default = token =>
        {
            entered.TrySetResult();
            return release.Task.WaitAsync(token);
        };
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var blockedRound = source.Collections;
        var before = PublishedLines(await _http.GetStringAsync(metrics));
        Assert.Equal(Published.Length, before.Count);

        for (var scrape = 0; scrape < 3; scrape++)
        {
            var started = TimeProvider.System.GetTimestamp();
            var during = await _http.GetStringAsync(metrics);
            var took = TimeProvider.System.GetElapsedTime(started);

            Assert.Equal(blockedRound, source.Collections);
            Assert.True(took < TimeSpan.FromSeconds(2), $"scrape took {took}");
            Assert.Equal(before, PublishedLines(during));
        }

        release.SetResult(Snapshot(8400));
        source.Default = _ => Task.FromResult(Snapshot(8400));
        await Poll.UntilAsync(
            async () => (text = await _http.GetStringAsync(metrics)).Contains("ipsec_child_sa_received_bytes_total{tunnel=\"t1\",local_ts=\"10.1.0.0/24\",remote_ts=\"10.2.0.0/24\"} 8400\n", StringComparison.Ordinal),
            TimeSpan.FromSeconds(15),
            () => text);
        await app.StopAsync();
    }

    public void Dispose()
    {
        _http.Dispose();
        _directory.Dispose();
    }

    private static SaSnapshot Snapshot(ulong bytes) =>
        Sas.Snapshot(DateTimeOffset.UtcNow, Sas.Ike("c1", "1", "ESTABLISHED", Sas.Child("1", bytesIn: bytes, bytesOut: bytes)));

    /// <summary>The lines of the source's and the tunnel's state as the last finished round left them.</summary>
    private static List<string> PublishedLines(string text) =>
        [.. text.Split('\n').Where(line => Published.Any(p => line.StartsWith(p, StringComparison.Ordinal)))];
}

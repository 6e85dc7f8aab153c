using System.Net;
using IpsecExporter.Configuration;
using IpsecExporter.Probes;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace IpsecExporter.Tests.Probes;

public sealed class ProbeResultsTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
    private readonly TempDirectory _directory = new();
    private readonly ProbeResults _results;

    public ProbeResultsTests()
    {
        var loader = new ConfigLoader(TestSources.Registry());
        var path = _directory.Write("ipsec.yaml", "site: { name: hq }\ndiagnosis: { window: 1m }\n");
        _results = new ProbeResults(new ConfigStore(loader.Load(path), loader, NullLogger<ConfigStore>.Instance), _time);
    }

    [Fact]
    public void The_window_counts_only_probes_settled_within_it_and_totals_count_everything()
    {
        var history = _results.Track("t", ProbeRole.Inside, "10.2.0.1", "10.2.0.1", 16);
        var target = IPAddress.Parse("10.2.0.1");
        var source = IPAddress.Parse("10.1.0.1");
        // Two minutes of one probe every 10 s: replies of 1..6 ms in the first minute, every other one lost in the second.
        for (var i = 0; i < 12; i++)
        {
            history.RecordRequest(target, source);
            history.RecordSettled(_time.GetUtcNow(), i < 6 || i % 2 == 0 ? TimeSpan.FromMilliseconds(1 + (i % 6)) : null, null);
            _time.Advance(TimeSpan.FromSeconds(10));
        }

        history.RecordLate();
        history.RecordDuplicate();

        var result = _results.Get("t", target)!;
        Assert.Equal((12L, 9L, 1L, 1L), (result.Requests, result.Responses, result.LateResponses, result.DuplicateResponses));
        Assert.Equal((target, source), (result.Address, result.Source));
        // Default window: diagnosis.window (1m) covers the last six probes, i = 6..11.
        Assert.Equal(new ProbeWindow(TimeSpan.FromMinutes(1), 6, 3, 0.5, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(3), TimeSpan.FromMilliseconds(5)), result.Window);
        Assert.Equal(TimeSpan.FromMilliseconds(5), result.LastRoundTrip);
        var quiet = _results.Get("t", target, TimeSpan.FromSeconds(5))!.Window;
        Assert.Equal((0, 0, (double?)null, (TimeSpan?)null), (quiet.Sent, quiet.Received, quiet.Loss, quiet.RttAverage));
    }

    [Fact]
    public void The_ring_keeps_the_newest_outcomes_also_when_it_is_resized()
    {
        var history = _results.Track("t", ProbeRole.Gateway, "", "gw.example.net", 16);
        for (var i = 0; i < 20; i++)
        {
            history.RecordRequest(IPAddress.Loopback, null);
            history.RecordSettled(_time.GetUtcNow(), i < 17 ? null : TimeSpan.FromMilliseconds(2), i < 17 ? "Network is unreachable" : null);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        var full = _results.Get("t", window: TimeSpan.FromHours(1))!;
        Assert.Equal((20L, 3L, 16, 3, "gw.example.net", (string?)null), (full.Requests, full.Responses, full.Window.Sent, full.Window.Received, full.Target, full.LastError));

        _results.Track("t", ProbeRole.Gateway, "", "gw.example.net", 4);

        var shrunk = _results.Get("t", window: TimeSpan.FromHours(1))!.Window;
        Assert.Equal((4, 3, 0.25), (shrunk.Sent, shrunk.Received, shrunk.Loss));
    }

    [Fact]
    public void Unknown_and_forgotten_targets_have_no_results()
    {
        _results.Track("t", ProbeRole.Inside, "10.2.0.1", "10.2.0.1", 16);
        _results.Forget("t", ProbeRole.Inside, "10.2.0.1");

        Assert.Null(_results.Get("t", IPAddress.Parse("10.2.0.1")));
        Assert.Null(_results.Get("other"));
        Assert.Empty(_results.GetTunnel("t"));
    }

    public void Dispose() => _directory.Dispose();
}

using System.Net;
using IpsecExporter.Site.Ntp;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace IpsecExporter.Tests.Site.Ntp;

public sealed class SntpClientTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    [Fact]
    [Trait("Needs", "daemon")]
    public async Task Chrony_on_loopback_shares_our_clock()
    {
        await using var chrony = await ChronyServer.StartAsync();
        using var timeout = new CancellationTokenSource(Timeout);

        var measurement = await new SntpClient(TimeProvider.System).QueryAsync(new IPEndPoint(IPAddress.Loopback, chrony.Port), timeout.Token);

        output.WriteLine($"chrony on loopback: offset {measurement.Offset.TotalMilliseconds:0.000} ms, delay {measurement.Delay.TotalMilliseconds:0.000} ms");
        // chronyd serves this host's own clock: the offset is the measurement's error, far below a millisecond here.
        Assert.InRange(measurement.Offset.TotalSeconds, -0.005, 0.005);
        Assert.InRange(measurement.Delay.TotalSeconds, 0, 0.05);
        Assert.Equal(8, measurement.Stratum); // chrony.conf: local stratum 8
    }

    [Theory]
    [InlineData(2.5)]
    [InlineData(-0.75)]
    [InlineData(3600)]
    public async Task Offset_is_local_minus_server_within_5ms(double serverAheadSeconds)
    {
        using var responder = new TestNtpResponder(TimeProvider.System) { Skew = TimeSpan.FromSeconds(serverAheadSeconds) };
        using var timeout = new CancellationTokenSource(Timeout);
        var client = new SntpClient(TimeProvider.System);
        // Like NTP's clock filter, keep the exchange with the shortest delay: a loaded machine (JIT on the first
        // exchange, a busy CI core) makes single exchanges asymmetric, and asymmetry is the only source of error.
        var measurement = await client.QueryAsync(responder.EndPoint, timeout.Token);
        for (var i = 0; i < 8; i++)
        {
            var next = await client.QueryAsync(responder.EndPoint, timeout.Token);
            measurement = next.Delay < measurement.Delay ? next : measurement;
        }

        // A server ahead of us means our clock is behind: a negative offset.
        Assert.InRange(measurement.Offset.TotalSeconds, -serverAheadSeconds - 0.005, -serverAheadSeconds + 0.005);
    }

    [Fact]
    public async Task Offset_and_delay_follow_the_on_wire_formulas_exactly_on_a_fake_clock()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        using var responder = new TestNtpResponder(time) { Skew = TimeSpan.FromMilliseconds(-1234.5) };
        using var timeout = new CancellationTokenSource(Timeout);

        var measurement = await new SntpClient(time).QueryAsync(responder.EndPoint, timeout.Token);

        // The fake clock stands still: T1 = T4, T2 = T3 = T1 - 1.2345 s, so the offset is exactly +1.2345 s.
        Assert.Equal(TimeSpan.FromMilliseconds(1234.5), measurement.Offset);
        Assert.Equal(TimeSpan.Zero, measurement.Delay);
    }

    [Theory]
    [InlineData("RATE")]
    [InlineData("DENY")]
    [InlineData("RSTR")]
    public async Task Kiss_of_death_is_reported_with_its_code(string code)
    {
        using var responder = new TestNtpResponder(TimeProvider.System) { KissCode = code };
        using var timeout = new CancellationTokenSource(Timeout);

        var error = await Assert.ThrowsAsync<SntpException>(() => new SntpClient(TimeProvider.System).QueryAsync(responder.EndPoint, timeout.Token));

        Assert.Equal(code, error.KissCode);
        Assert.Contains($"Kiss-o'-Death ({code})", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_flood_of_spoofed_replies_and_garbage_is_ignored_and_the_true_reply_decides()
    {
        // 200 datagrams before the reply: as many as a socket's default receive buffer holds without dropping the reply.
        using var responder = new TestNtpResponder(TimeProvider.System) { Skew = TimeSpan.FromSeconds(2), Flood = 100 };
        using var timeout = new CancellationTokenSource(Timeout);

        var measurement = await new SntpClient(TimeProvider.System).QueryAsync(responder.EndPoint, timeout.Token);

        // The spoofed replies claim a clock an hour ahead: one of them taken would show. (The flood delays the true
        // reply, so the offset is only as good as a loaded exchange; the clock filter of ClockMonitor takes care of that.)
        Assert.InRange(measurement.Offset.TotalSeconds, -3, -1);
    }

    [Fact]
    public async Task Replies_that_never_echo_our_request_are_no_answer()
    {
        using var responder = new TestNtpResponder(TimeProvider.System) { Flood = 50, OnlyFlood = true };
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new SntpClient(TimeProvider.System).QueryAsync(responder.EndPoint, timeout.Token));
    }

    [Fact]
    public async Task No_answer_ends_with_the_callers_timeout()
    {
        using var responder = new TestNtpResponder(TimeProvider.System) { Silent = true };
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new SntpClient(TimeProvider.System).QueryAsync(responder.EndPoint, timeout.Token));
        Assert.Equal(1, responder.Requests);
    }

    [Theory]
    [InlineData("1968-01-20T03:14:08Z")]
    [InlineData("1999-12-31T23:59:59.9999999Z")]
    [InlineData("2026-11-29T13:16:00.1234567Z")]
    [InlineData("2036-02-07T06:28:15.5Z")]
    [InlineData("2036-02-07T06:28:16Z")]
    [InlineData("2040-06-01T00:00:00.25Z")]
    [InlineData("2104-02-26T09:42:23Z")]
    public void Ntp_timestamps_round_trip_from_1968_to_2104_across_the_2036_era_wrap(string text)
    {
        var time = DateTimeOffset.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        var buffer = new byte[8];

        NtpTimestamp.Write(buffer, time);

        // 2^-32 s resolution: within one 100 ns tick.
        Assert.InRange((NtpTimestamp.Read(buffer) - time).Ticks, -1, 1);
    }
}

using System.Net;
using System.Net.Sockets;
using IpsecExporter.Probes;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace IpsecExporter.Tests.Probes;

public sealed class DnsGatewayAddressProviderTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly FakeLogger<DnsGatewayAddressProvider> _logger = new();

    [Fact]
    public async Task An_address_literal_is_returned_as_it_is_without_resolving()
    {
        using var provider = new DnsGatewayAddressProvider((_, _) => throw new InvalidOperationException("must not resolve"), _time, _logger);

        var task = provider.GetAddressAsync("2001:db8::7", CancellationToken.None);

        Assert.True(task.IsCompletedSuccessfully);
        Assert.Equal(new GatewayAddress(IPAddress.Parse("2001:db8::7"), null), await task);
    }

    [Fact]
    public async Task The_system_resolver_resolves_localhost_from_etc_hosts()
    {
        using var provider = new DnsGatewayAddressProvider(TimeProvider.System, _logger);

        var resolved = await provider.GetAddressAsync("localhost", CancellationToken.None);

        Assert.Null(resolved.Error);
        Assert.True(IPAddress.IsLoopback(resolved.Address!), $"{resolved.Address} is not a loopback address");
    }

    [Fact]
    public async Task A_known_answer_is_returned_at_once_and_refreshed_in_the_background()
    {
        var answer = IPAddress.Parse("127.0.0.5");
        var lookups = 0;
        using var provider = new DnsGatewayAddressProvider((_, _) => { lookups++; return Task.FromResult(new[] { answer }); }, _time, _logger);

        Assert.Equal(answer, (await provider.GetAddressAsync("gw.example.net", CancellationToken.None)).Address);
        var cached = provider.GetAddressAsync("GW.example.net", CancellationToken.None);
        Assert.True(cached.IsCompletedSuccessfully);
        Assert.Equal(1, lookups);

        answer = IPAddress.Parse("127.0.0.6");
        _time.Advance(DnsGatewayAddressProvider.RefreshInterval);
        var stale = provider.GetAddressAsync("gw.example.net", CancellationToken.None);
        Assert.True(stale.IsCompletedSuccessfully);
        Assert.Equal(IPAddress.Parse("127.0.0.5"), (await stale).Address);

        await Poll.UntilAsync(async () => answer.Equals((await provider.GetAddressAsync("gw.example.net", CancellationToken.None)).Address), TimeSpan.FromSeconds(5));
        Assert.Equal(2, lookups);
        Assert.Contains(_logger.Collector.GetSnapshot(), r => r.Message == "Remote gateway gw.example.net moved from 127.0.0.5 to 127.0.0.6");
    }

    [Fact]
    public async Task A_failing_name_reports_why_keeps_the_last_address_and_is_retried_sooner()
    {
        var fail = false;
        var lookups = 0;
        using var provider = new DnsGatewayAddressProvider(
            (_, _) =>
            {
                lookups++;
                return fail ? Task.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound)) : Task.FromResult(new[] { IPAddress.Loopback });
            },
            _time,
            _logger);
        await provider.GetAddressAsync("gw.example.net", CancellationToken.None);

        fail = true;
        _time.Advance(DnsGatewayAddressProvider.RefreshInterval);
        await provider.GetAddressAsync("gw.example.net", CancellationToken.None);
        await Poll.UntilAsync(async () => (await provider.GetAddressAsync("gw.example.net", CancellationToken.None)).Error is not null, TimeSpan.FromSeconds(5));

        var failed = await provider.GetAddressAsync("gw.example.net", CancellationToken.None);
        Assert.Equal(IPAddress.Loopback, failed.Address);
        Assert.StartsWith("cannot resolve gw.example.net: ", failed.Error, StringComparison.Ordinal);
        _time.Advance(DnsGatewayAddressProvider.RetryInterval);
        await provider.GetAddressAsync("gw.example.net", CancellationToken.None);
        await Poll.UntilAsync(() => lookups == 3, TimeSpan.FromSeconds(5));
        var warning = Assert.Single(_logger.Collector.GetSnapshot(), r => r.Level == LogLevel.Warning);
        Assert.StartsWith("Cannot resolve remote gateway gw.example.net: ", warning.Message, StringComparison.Ordinal);
        Assert.EndsWith("; probing the last known address 127.0.0.1 until it resolves", warning.Message, StringComparison.Ordinal);
    }
}

using System.Net;
using IpsecExporter.Configuration;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Configuration;

/// <summary>The configuration keys of the site checks: parsed values and defaults (their invalid fixtures are in <see cref="ConfigValidationTests"/>).</summary>
public sealed class SiteConfigValidationTests
{
    private static string Fixture(string name) => Fixtures.Path("config", name);

    [Fact]
    public void Every_site_check_key_is_read()
    {
        var config = TestConfigs.Loader.Load(Fixture("valid-site-checks.yaml"));

        var lookup = config.Site.PublicIpLookup;
        Assert.Equal(PublicIpLookupMethod.Dns, lookup.Method);
        Assert.Equal(DnsPublicIpQuery.OpenDnsA, lookup.Query);
        Assert.Equal("[::1]:5353", lookup.Server);
        Assert.Equal(TimeSpan.FromMinutes(2), lookup.Interval);
        Assert.Equal(TimeSpan.FromSeconds(3), lookup.Timeout);
        Assert.Equal(PublicIpLookupMethod.Http, lookup.CrossCheck?.Method);
        Assert.Equal(new Uri("https://ip.example.net/json"), lookup.CrossCheck?.Url);
        Assert.Equal(TimeSpan.FromMinutes(2), lookup.CrossCheck?.Interval);
        Assert.Equal(TimeSpan.FromSeconds(3), lookup.CrossCheck?.Timeout);
        Assert.Equal(IPAddress.Parse("203.0.113.10"), config.Site.PublicIp);
        Assert.Equal(["127.0.0.1", "ntp.example.net:1123"], config.Site.NtpServers);
        Assert.Equal(TimeSpan.FromMinutes(5), config.Site.NtpInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(500), config.Site.NtpTimeout);
        Assert.Equal(new RemoteGatewayResolutionConfig(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(2), "127.0.0.1:5353"), config.RemoteGatewayResolution);
        Assert.Equal(new BestPracticesConfig(TimeSpan.FromHours(4), TimeSpan.FromHours(3), 0.05m, TimeSpan.FromMilliseconds(250), TimeSpan.FromMinutes(1)), config.BestPractices);
    }

    [Fact]
    public void Defaults_apply_when_keys_are_absent()
    {
        var config = TestConfigs.Parse("""
            site:
              name: hq
              public_ip_lookup: { method: dns }
            """);

        Assert.Equal(DnsPublicIpQuery.GoogleTxt, config.Site.PublicIpLookup.Query);
        Assert.Equal("ns1.google.com", config.Site.PublicIpLookup.Server);
        Assert.Null(config.Site.PublicIpLookup.CrossCheck);
        Assert.Equal(TimeSpan.FromMinutes(1), config.Site.NtpInterval);
        Assert.Equal(TimeSpan.FromSeconds(2), config.Site.NtpTimeout);
        Assert.Equal(new RemoteGatewayResolutionConfig(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(5), null), config.RemoteGatewayResolution);
        Assert.Equal(
            new BestPracticesConfig(TimeSpan.FromHours(8), new TimeSpan(5, 20, 0), 0.10m, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30)),
            config.BestPractices);
    }

    [Fact]
    public void OpenDns_query_defaults_to_the_OpenDns_resolver()
    {
        var config = TestConfigs.Parse("""
            site:
              name: hq
              public_ip_lookup: { method: dns, query: opendns-a }
            """);

        Assert.Equal("resolver1.opendns.com", config.Site.PublicIpLookup.Server);
    }

    [Theory]
    [InlineData("10%", "0.1")]
    [InlineData("0%", "0")]
    [InlineData("0.25", "0.25")]
    [InlineData("100%", "1")]
    public void Tolerance_is_a_percentage_or_a_fraction(string text, string expected)
    {
        var config = TestConfigs.Parse($"""
            site: {"{"} name: hq {"}"}
            best_practices: {"{"} two_thirds_tolerance: "{text}" {"}"}
            """);

        Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), config.BestPractices.TwoThirdsTolerance);
    }

    [Theory]
    [InlineData("ntp.example.net", "ntp.example.net", null)]
    [InlineData("ntp.example.net:1123", "ntp.example.net", 1123)]
    [InlineData("192.0.2.1", "192.0.2.1", null)]
    [InlineData("192.0.2.1:123", "192.0.2.1", 123)]
    [InlineData("2001:db8::1", "2001:db8::1", null)]
    [InlineData("[2001:db8::1]:123", "2001:db8::1", 123)]
    public void Host_and_port_parse(string text, string host, int? port)
    {
        Assert.True(HostAndPort.TryParse(text, out var parsed));
        Assert.Equal(new HostAndPort(host, port), parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("host:0")]
    [InlineData("host:65536")]
    [InlineData("host:abc")]
    [InlineData("two words")]
    [InlineData(":53")]
    public void Host_and_port_rejects(string text) => Assert.False(HostAndPort.TryParse(text, out _));
}

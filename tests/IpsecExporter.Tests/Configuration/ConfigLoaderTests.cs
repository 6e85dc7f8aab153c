using System.Net;
using IpsecExporter.Configuration;
using IpsecExporter.Sources.Vici;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Configuration;

public sealed class ConfigLoaderTests
{
    private readonly ConfigLoader _loader = new(TestSources.Registry());

    [Fact]
    public void A_full_file_maps_every_field()
    {
        var config = _loader.Load(Fixtures.Path("config", "valid-full.yaml"));

        Assert.Equal("hq", config.Site.Name);
        Assert.Equal("HQ, rack B4", config.Site.Location);
        Assert.Equal(IPAddress.Parse("203.0.113.10"), config.Site.PublicIp);
        Assert.Equal(PublicIpLookupMethod.Dns, config.Site.PublicIpLookup.Method);
        Assert.Equal(["127.0.0.1", "ntp.example.net:123"], config.Site.NtpServers);
        var source = Assert.Single(config.Sources);
        Assert.Equal(("gw", "vici", "unix:///var/run/charon.vici"), (source.Name, source.Type, Assert.IsType<ViciSourceOptions>(source.Options).Uri));
        var tunnel = Assert.Single(config.Tunnels);
        Assert.Equal("hq-branch-b", tunnel.Name);
        Assert.Equal("site", tunnel.Connection);
        Assert.Equal("branch-b.example.net", tunnel.RemoteGateway);
        Assert.Equal("noc@example.net", tunnel.Partner.Contact);
        Assert.Equal(["10.1.0.0/24", "fd00:1::/64"], tunnel.NetworkPairs.Select(p => p.LocalText));
        Assert.Equal(["10.2.0.0/24", "fd00:2::/64"], tunnel.NetworkPairs.Select(p => p.RemoteText));
        Assert.Equal(IPAddress.Parse("10.1.0.1"), tunnel.Inside!.Source);
        Assert.Equal(2, tunnel.Inside.Targets.Count);
        Assert.Equal(new ExpectConfig(true, TimeSpan.FromHours(8), new TimeSpan(5, 20, 0)), tunnel.Expect);
        Assert.Equal(new Uri("https://grafana.example.net"), config.GrafanaUrl);
    }

    [Fact]
    public void Defaults_are_applied_for_everything_left_out()
    {
        var config = _loader.Load(Fixtures.Path("config", "valid-minimal.yaml"));

        var source = Assert.Single(config.Sources);
        Assert.Equal(ConfigLoader.DefaultSourceInterval, source.Interval);
        Assert.Equal(ConfigLoader.DefaultSourceTimeout, source.Timeout);
        Assert.Equal(new ViciSourceOptions(null), source.Options);
        var tunnel = Assert.Single(config.Tunnels);
        Assert.Equal("gw", tunnel.Source);
        Assert.Equal("branch", tunnel.Connection);
        Assert.Null(tunnel.Inside);
        Assert.Equal(new ExpectConfig(null, null, null), tunnel.Expect);
        Assert.Equal(new ProbesConfig(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)), config.Probes);
        Assert.Equal(TimeSpan.FromMinutes(2), config.Diagnosis.Window);
        Assert.Equal(PublicIpLookupMethod.None, config.Site.PublicIpLookup.Method);
        Assert.Empty(config.Site.NtpServers);
        Assert.Null(config.GrafanaUrl);
    }

    [Fact]
    public void Rtt_buckets_are_configurable_and_shape_the_probe_histograms()
    {
        var config = _loader.Parse("config.yaml", "site: { name: hq }\nsources: [ { name: gw, type: vici } ]\nprobes: { rtt_buckets: [0.0005, 0.005, 0.05, 0.5] }\n");
        var buckets = new IpsecExporter.Metrics.ExporterMetrics("test", rttBuckets: config.Probes.RttBuckets).RttBuckets;
        var counts = new long[buckets.Bounds.Count + 1];
        counts[buckets.IndexOf(0.003)]++;
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        var writer = new IpsecExporter.Metrics.MetricsWriter(output, IpsecExporter.Metrics.MetricsFormat.PrometheusText);
        writer.Family(IpsecExporter.Metrics.MetricFamilies.GatewayPingRtt);
        writer.Histogram(IpsecExporter.Metrics.MetricFamilies.GatewayLabels.Values("t1"), buckets, counts, 0.003);
        writer.End();

        var text = System.Text.Encoding.UTF8.GetString(output.WrittenSpan);

        Assert.Equal([0.0005, 0.005, 0.05, 0.5], config.Probes.RttBuckets);
        Assert.Equal(
            ["le=\"0.0005\"} 0", "le=\"0.005\"} 1", "le=\"0.05\"} 1", "le=\"0.5\"} 1", "le=\"+Inf\"} 1"],
            text.Split('\n').Where(l => l.StartsWith("ipsec_gateway_ping_rtt_seconds_bucket", StringComparison.Ordinal)).Select(l => l[(l.IndexOf("le=", StringComparison.Ordinal))..]));
        Assert.Same(IpsecExporter.Metrics.ExporterMetrics.DefaultRttBuckets, _loader.Parse("config.yaml", "site: { name: hq }\nsources: [ { name: gw, type: vici } ]\n").Probes.RttBuckets);
    }

    [Fact]
    public void The_shipped_example_config_is_valid()
    {
        var path = Repository.Path("config.example.yaml");

        var config = _loader.Load(path);

        Assert.NotEmpty(config.Tunnels);
    }

    [Fact]
    public void An_invalid_url_is_quoted_without_its_path_or_query_which_may_carry_a_token()
    {
        var yaml = File.ReadAllText(Fixtures.Path("config", "valid-full.yaml")).Replace(
            "grafana_url: https://grafana.example.net", "grafana_url: \"https://grafana.example.net:99999/d/x?auth_token=TOKENZQX\"", StringComparison.Ordinal);

        var error = Assert.Single(Assert.Throws<ConfigException>(() => _loader.Parse("config.yaml", yaml)).Errors);

        Assert.EndsWith("grafana_url: invalid URL 'https://grafana.example.net:99999/...' (expected http:// or https://)", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://grafana.example.net", "https://grafana.example.net/d/ipsec-exporter-tunnel/ipsec-tunnel?var-tunnel=hq-branch-b")]
    [InlineData("https://ops.example.net/grafana", "https://ops.example.net/grafana/d/ipsec-exporter-tunnel/ipsec-tunnel?var-tunnel=hq-branch-b")]
    [InlineData("https://ops.example.net/grafana/", "https://ops.example.net/grafana/d/ipsec-exporter-tunnel/ipsec-tunnel?var-tunnel=hq-branch-b")]
    public void Dashboard_links_keep_the_grafana_path(string grafana, string expected)
    {
        var config = _loader.Load(Fixtures.Path("config", "valid-full.yaml")) with { GrafanaUrl = new Uri(grafana) };

        Assert.Equal(expected, config.DashboardUrl("hq-branch-b")!.ToString());
    }

    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("500ms", 500)]
    [InlineData("5h20m", 19_200_000)]
    [InlineData("1d", 86_400_000)]
    [InlineData("1m30s", 90_000)]
    [InlineData("8h", 28_800_000)]
    public void Durations_parse_like_prometheus(string text, long milliseconds)
    {
        Assert.True(DurationParser.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
        Assert.Equal(text, DurationParser.Format(value));
    }

    [Theory]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("5 s")]
    [InlineData("-5s")]
    [InlineData("1.5h")]
    [InlineData("5m1h")]
    public void Malformed_durations_are_rejected(string text) => Assert.False(DurationParser.TryParse(text, out _));

    // Each unit on its own overflows a TimeSpan (the long overloads throw ArgumentOutOfRangeException, which once
    // escaped check-config as a crash with exit 134), and so does a sum of parts that each fit.
    [Theory]
    [InlineData("99999999999999999999d")]
    [InlineData("9223372036854775807ms")]
    [InlineData("9223372036854775807s")]
    [InlineData("9223372036854775807m")]
    [InlineData("9223372036854775807h")]
    [InlineData("9223372036854775807d")]
    [InlineData("10675199d23h59m59s999ms")]
    public void Durations_too_long_for_a_TimeSpan_are_rejected(string text) => Assert.False(DurationParser.TryParse(text, out _));
}

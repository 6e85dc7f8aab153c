using IpsecExporter.Configuration;
using IpsecExporter.Sources;
using IpsecExporter.Sources.FortiGate;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Sources.FortiGate;

/// <summary>The <c>fortigate</c> source's options through the loader <c>check-config</c> uses: one fixture per rule.</summary>
public sealed class FortiGateConfigTests
{
    private readonly ConfigLoader _loader = new(TestSources.Registry());

    [Theory]
    [InlineData("invalid-fortigate-url-missing.yaml", 4, 5, "sources[0]: missing required key 'url'")]
    [InlineData("invalid-fortigate-inline-secret.yaml", 7, 5, "sources[0].api_token: inline secrets are not allowed: put the token in a file and set token_file")]
    [InlineData("invalid-fortigate-unknown-key.yaml", 8, 5, "sources[0]: unknown key 'vdoms' (expected one of: name, type, interval, timeout, url, tls, token_file, token_env, vdom)")]
    [InlineData("invalid-fortigate-vdom.yaml", 8, 11, "sources[0].vdom: 'root customer' is not a VDOM name (letters, digits, '_', '-', '.'), nor * for every VDOM")]
    public void Each_rule_reports_file_line_column_and_message(string fixture, int line, int column, string message)
    {
        var path = Fixtures.Path("config", fixture);

        // An inline secret also lacks its *_file/*_env, reported too: the rule's own error is the one asserted.
        var error = Assert.Single(Assert.Throws<ConfigException>(() => _loader.Load(path)).Errors, e => e.Message.Contains(message, StringComparison.Ordinal));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.StartsWith($"{path}:{line}:{column}: ", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t-t0ken-value", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_valid_entry_gives_typed_options_with_the_default_vdom()
    {
        using var directory = new TempDirectory();
        var path = directory.Write("config.yaml", """
            site: { name: hq }
            sources:
              - { name: fw, type: fortigate, url: "https://fw.example.net/", token_env: FW_TOKEN }
            """);

        var options = Assert.IsType<FortiGateSourceOptions>(Assert.Single(_loader.Load(path).Sources).Options);

        Assert.Equal("root", options.Vdom);
        Assert.Equal(new Uri("https://fw.example.net/"), options.Api!.Url);
        Assert.Equal("environment variable FW_TOKEN", options.Token!.ToString());
        Assert.Equal("https://fw.example.net/#vdom=root", options.Endpoint);
    }

    [Theory]
    [InlineData("10.1.0.0/255.255.255.0", "10.1.0.0/24")]
    [InlineData("10.1.0.7/255.255.255.0", "10.1.0.0/24")]
    [InlineData("0.0.0.0/0.0.0.0", "0.0.0.0/0")]
    [InlineData("10.1.0.0-10.1.0.255", "10.1.0.0/24")]
    [InlineData("10.1.0.0-10.1.1.255", "10.1.0.0/23")]
    [InlineData("10.1.0.1-10.1.0.255", "10.1.0.1..10.1.0.255")]
    [InlineData("10.1.0.0-10.1.0.5", "10.1.0.0..10.1.0.5")]
    [InlineData("192.0.2.9", "192.0.2.9/32")]
    [InlineData("fd00:1::/64", "fd00:1::/64")]
    [InlineData("10.1.0.0/16", "10.1.0.0/16")]
    [InlineData("fd00:1::-fd00:1::ffff", "fd00:1::/112")]
    public void Masks_and_ranges_become_cidr_when_they_are_one_block(string fortiOs, string selector)
    {
        Assert.Equal(selector, SelectorText.Parse(fortiOs));
    }

    [Theory]
    [InlineData("10.1.0.0/255.0.255.0")]
    [InlineData("10.1.0.9-10.1.0.1")]
    [InlineData("10.1.0.0-fd00::1")]
    [InlineData("10.1.0.0/33")]
    [InlineData("all")]
    public void Anything_else_is_not_a_selector(string fortiOs)
    {
        Assert.Null(SelectorText.Parse(fortiOs));
    }
}

using System.Net;
using IpsecExporter.Tunnels;

namespace IpsecExporter.Tests.Tunnels;

public sealed class TrafficSelectorTests
{
    [Theory]
    [InlineData("10.1.0.0/24", "10.1.0.0", "10.1.0.255")]
    [InlineData("10.1.0.0/24[tcp/443]", "10.1.0.0", "10.1.0.255")]
    [InlineData("0.0.0.0/0", "0.0.0.0", "255.255.255.255")]
    [InlineData("10.1.0.7/32", "10.1.0.7", "10.1.0.7")]
    [InlineData("10.1.0.7", "10.1.0.7", "10.1.0.7")]
    [InlineData("10.1.0.5..10.1.0.9", "10.1.0.5", "10.1.0.9")]
    [InlineData("fd00:1:1::/64", "fd00:1:1::", "fd00:1:1:0:ffff:ffff:ffff:ffff")]
    [InlineData("::/0[udp]", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")]
    public void Strongswan_selector_texts_parse_into_address_ranges(string text, string first, string last)
    {
        Assert.True(TrafficSelector.TryParse(text, out var selector));

        Assert.Equal(new TrafficSelector(IPAddress.Parse(first), IPAddress.Parse(last)), selector);
    }

    [Theory]
    [InlineData("dynamic")]
    [InlineData("10.1.0.9..10.1.0.5")]
    [InlineData("10.1.0.1..fd00::1")]
    [InlineData("10.1.0.0/33")]
    [InlineData("")]
    public void Anything_else_is_not_a_selector(string text)
    {
        Assert.False(TrafficSelector.TryParse(text, out _));
    }

    [Theory]
    [InlineData("10.1.0.0/24", "10.1.0.0/24", true)]
    [InlineData("10.1.0.0/16", "10.1.5.0/24", true)]
    [InlineData("10.1.5.0/25", "10.1.5.0/24", true)]
    [InlineData("10.1.0.250..10.1.1.5", "10.1.1.0/24", true)]
    [InlineData("10.1.0.0/24", "10.1.1.0/24", false)]
    [InlineData("0.0.0.0/0", "fd00::/64", false)]
    [InlineData("fd00:1::/48", "fd00:1:0:5::/64", true)]
    public void Ranges_overlap_when_they_share_an_address_of_the_same_family(string a, string b, bool overlaps)
    {
        Assert.True(TrafficSelector.TryParse(a, out var first));
        Assert.True(TrafficSelector.TryParse(b, out var second));

        Assert.Equal(overlaps, first!.Overlaps(second!));
        Assert.Equal(overlaps, second!.Overlaps(first));
    }
}

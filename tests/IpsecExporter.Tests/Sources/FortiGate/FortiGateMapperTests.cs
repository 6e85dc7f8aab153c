using System.Text.Json;
using IpsecExporter.Sources.FortiGate;

namespace IpsecExporter.Tests.Sources.FortiGate;

/// <summary>Shapes the golden answers do not hold; each one a crasher the vendor payload fuzzing found.</summary>
public sealed class FortiGateMapperTests
{
    [Theory]
    [InlineData("\"11279\"")]
    [InlineData("null")]
    [InlineData("1e309")]
    [InlineData("{}")]
    public void An_expire_that_is_not_a_whole_number_is_an_unknown_lifetime(string expire)
    {
        using var answer = JsonDocument.Parse($$"""
            {"status": "success", "vdom": "root", "results": [{"name": "to-branch", "proxyid": [{
              "p2name": "p2a", "status": "up", "expire": {{expire}}, "incoming_bytes": 10, "outgoing_bytes": 20,
              "proxy_src": [{"subnet": "10.20.1.0/255.255.255.0"}], "proxy_dst": [{"subnet": "10.30.1.0/255.255.255.0"}]}]}]}
            """);

        var child = new FortiGateMapper().Map(answer.RootElement, qualifyByVdom: false).Single().ChildSas.Single();

        Assert.Null(child.LifeIn);
        Assert.Equal((10UL, 20UL), (child.Counters.ReceivedBytes!.Value, child.Counters.SentBytes!.Value));
    }
}

using IpsecExporter.Tests.Sources.Http;

namespace IpsecExporter.Tests.Sources.FortiGate;

/// <summary>
/// Recorded-shape FortiOS answers → the <c>fortigate</c> source on a mock → tunnel model → metrics text. The answer
/// shape (a result object per VDOM with <c>results[]</c> of phase-1 tunnels, each with <c>proxyid[]</c> entries carrying
/// <c>proxy_src</c>/<c>proxy_dst</c> subnets as <c>a.b.c.d/m.m.m.m</c>, <c>status</c>, <c>p2name</c>, <c>p2serial</c>,
/// <c>expire</c>, <c>incoming_bytes</c>/<c>outgoing_bytes</c>, and the tunnel's <c>rgwy</c>; an array of such objects for
/// <c>vdom=*</c>) follows bluecmd/fortigate_exporter testdata/ipsec.jsonnet (recorded from <c>api/v2/monitor/vpn/ipsec?vdom=*</c>)
/// and Fortinet's FortiOS 7.2 REST API reference for <c>monitor/vpn/ipsec</c>; ranges <c>a.b.c.d-e.f.g.h</c> are how
/// FortiOS writes address-range selectors, dial-up instances are named <c>PARENT_N</c> with type <c>dialup</c>.
/// </summary>
public sealed class FortiGateGoldenTests : IDisposable
{
    private const string Variable = "IPSEC_TEST_FORTIGATE_GOLDEN_TOKEN";
    private const string Token = "golden-fortigate-token";

    public FortiGateGoldenTests() => Environment.SetEnvironmentVariable(Variable, Token);

    public void Dispose() => Environment.SetEnvironmentVariable(Variable, null);

    [Theory]
    [InlineData("healthy")]
    [InlineData("counter-reset")]
    [InlineData("all-vdoms")]
    [Trait("Needs", "daemon")]
    public async Task Recorded_answers_give_the_expected_metrics(string scenario)
    {
        var rendered = await VendorGolden.RenderAsync(
            "fortigate",
            scenario,
            (mock, files) => mock.ServeFile("/api/v2/monitor/vpn/ipsec", Assert.Single(files)),
            new Dictionary<string, string> { ["token"] = Variable });

        Assert.Equal(VendorGolden.Expected("fortigate", scenario), rendered);
    }
}

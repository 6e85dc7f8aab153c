using IpsecExporter.Tests.Sources.Http;
using IpsecExporter.Tests.Support;
using WireMock;

namespace IpsecExporter.Tests.Sources.FortiGate;

/// <summary>The shared vendor failure modes (<see cref="VendorSourceFailureModes"/>) for the <c>fortigate</c> source.</summary>
public sealed class FortiGateFailureModeTests : VendorSourceFailureModes
{
    protected override string Options => $"type: fortigate, token_env: {Secret("token")}, vdom: root";

    protected override IReadOnlyDictionary<string, string> HealthyAnswers { get; } = new Dictionary<string, string>
    {
        ["/api/v2/monitor/vpn/ipsec"] = File.ReadAllText(Fixtures.Path("fortigate", "healthy", "01.json")),
    };

    protected override void AssertAuthenticated(IRequestMessage request)
    {
        Assert.Equal($"Bearer {Planted("token")}", Assert.Single(request.Headers!["Authorization"]));
        Assert.Equal("root", Assert.Single(request.Query!["vdom"]));
        Assert.Equal("GET", request.Method);
    }
}

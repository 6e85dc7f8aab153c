using System.Text;
using IpsecExporter.Tests.Sources.Http;
using IpsecExporter.Tests.Support;
using WireMock;

namespace IpsecExporter.Tests.Sources.MikroTik;

/// <summary>The shared vendor failure modes (<see cref="VendorSourceFailureModes"/>) for the <c>mikrotik</c> source.</summary>
public sealed class MikroTikFailureModeTests : VendorSourceFailureModes
{
    protected override string Options => $"type: mikrotik, username: monitor, password_env: {Secret("password")}";

    protected override IReadOnlyDictionary<string, string> HealthyAnswers { get; } = MikroTikGoldenTests.Answers(Directory.GetFiles(Fixtures.Path("mikrotik", "healthy"), "01.*.json"));

    protected override string ExpectedError(ApiFailure failure) => failure switch
    {
        ApiFailure.TruncatedBody or ApiFailure.HtmlInsteadOfData => "is not RouterOS JSON",
        _ => base.ExpectedError(failure),
    };

    protected override void AssertAuthenticated(IRequestMessage request)
    {
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"monitor:{Planted("password")}"));
        Assert.Equal($"Basic {basic}", Assert.Single(request.Headers!["Authorization"]));
        Assert.Equal("GET", request.Method);
        // Every request names its properties, and never the SA keys.
        // WireMock hands the comma-separated value over as its items.
        var properties = request.Query![".proplist"].SelectMany(v => v.Split(',')).ToList();
        Assert.Contains(".id", properties);
        Assert.DoesNotContain(properties, p => p.Contains("key", StringComparison.Ordinal));
    }
}

/// <summary>
/// Recorded-shape RouterOS 7 answers (Fixtures/mikrotik, shapes described there and in
/// <see cref="IpsecExporter.Sources.MikroTik.MikroTikSaMapper"/>) → the <c>mikrotik</c> source on a mock → tunnel model
/// → metrics text.
/// </summary>
public sealed class MikroTikGoldenTests : IDisposable
{
    private const string Variable = "IPSEC_TEST_MIKROTIK_GOLDEN_PASSWORD";

    public MikroTikGoldenTests() => Environment.SetEnvironmentVariable(Variable, "golden-mikrotik-password");

    public void Dispose() => Environment.SetEnvironmentVariable(Variable, null);

    [Theory]
    [InlineData("healthy")]
    [InlineData("ignored-proplist")]
    [Trait("Needs", "daemon")]
    public async Task Recorded_answers_give_the_expected_metrics(string scenario)
    {
        var rendered = await VendorGolden.RenderAsync(
            "mikrotik",
            scenario,
            Answers,
            new Dictionary<string, string> { ["password"] = Variable });

        Assert.Equal(VendorGolden.Expected("mikrotik", scenario), rendered);
        Assert.DoesNotContain("5EC12E7", rendered, StringComparison.Ordinal);
    }

    /// <summary>The REST path of each step file: <c>NN.active-peers.json</c> → <c>/rest/ip/ipsec/active-peers</c>, and so on.</summary>
    public static Dictionary<string, string> Answers(IEnumerable<string> files) => files.ToDictionary(
        file => Path.GetFileNameWithoutExtension(file)[3..] switch
        {
            "policies" => "/rest/ip/ipsec/policy",
            var menu => $"/rest/ip/ipsec/{menu}",
        },
        File.ReadAllText);
}

using IpsecExporter.Sources.PanOs;
using IpsecExporter.Tests.Sources.Http;
using IpsecExporter.Tests.Support;
using WireMock;

namespace IpsecExporter.Tests.Sources.PanOs;

/// <summary>The shared vendor failure modes (<see cref="VendorSourceFailureModes"/>) for the <c>panos</c> source.</summary>
public sealed class PanOsFailureModeTests : VendorSourceFailureModes
{
    protected override string Options => $"type: panos, token_env: {Secret("token")}";

    protected override IReadOnlyDictionary<string, string> HealthyAnswers { get; } = PanOsGoldenTests.Answers(Fixtures.Path("panos", "healthy"), "01");

    protected override string ContentType => "application/xml";

    protected override string ExpectedError(ApiFailure failure) => failure switch
    {
        ApiFailure.TruncatedBody or ApiFailure.HtmlInsteadOfData => "is not PAN-OS XML",
        _ => base.ExpectedError(failure),
    };

    protected override void AssertAuthenticated(IRequestMessage request)
    {
        Assert.Equal(Planted("token"), Assert.Single(request.Headers!["X-PAN-KEY"]));
        // The key travels in the header only: never in the URL, where proxies and access logs keep it.
        Assert.DoesNotContain(Planted("token"), request.Url, StringComparison.Ordinal);
        Assert.Equal("op", Assert.Single(request.Query!["type"]));
        Assert.Equal("GET", request.Method);
    }
}

/// <summary>
/// Recorded-shape PAN-OS answers (Fixtures/panos, shapes cited in each file and in <see cref="PanOsSaMapper"/>) → the
/// <c>panos</c> source on a mock → tunnel model → metrics text.
/// </summary>
public sealed class PanOsGoldenTests : IDisposable
{
    private const string Variable = "IPSEC_TEST_PANOS_GOLDEN_KEY";

    public PanOsGoldenTests() => Environment.SetEnvironmentVariable(Variable, "golden-panos-key");

    public void Dispose() => Environment.SetEnvironmentVariable(Variable, null);

    [Theory]
    [InlineData("healthy")]
    [InlineData("counter-reset")]
    [Trait("Needs", "daemon")]
    public async Task Recorded_answers_give_the_expected_metrics(string scenario)
    {
        var rendered = await VendorGolden.RenderAsync(
            "panos",
            scenario,
            (mock, files) =>
            {
                foreach (var (path, body) in Answers(files))
                {
                    mock.Serve(path, body, "application/xml");
                }
            },
            new Dictionary<string, string> { ["token"] = Variable });

        Assert.Equal(VendorGolden.Expected("panos", scenario), rendered);
    }

    /// <summary>The mock paths of a step's files: <c>NN.ipsec-sa.xml</c>, <c>NN.flow.xml</c>, <c>NN.flow-tunnel-N.xml</c>.</summary>
    public static Dictionary<string, string> Answers(string directory, string step) =>
        Answers(Directory.GetFiles(directory, $"{step}.*.xml"));

    public static Dictionary<string, string> Answers(IEnumerable<string> files) => files.ToDictionary(
        file => Path.GetFileNameWithoutExtension(file)[3..] switch
        {
            "ipsec-sa" => $"/api/?cmd={PanOsSaSource.IpsecSaCommand}",
            "flow" => $"/api/?cmd={PanOsSaSource.FlowCommand}",
            var name when name.StartsWith("flow-tunnel-", StringComparison.Ordinal) => $"/api/?cmd={PanOsSaSource.FlowDetailCommand(int.Parse(name["flow-tunnel-".Length..], System.Globalization.CultureInfo.InvariantCulture))}",
            var name => throw new InvalidOperationException($"no PAN-OS command for fixture {name}"),
        },
        File.ReadAllText);
}

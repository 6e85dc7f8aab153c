using System.Text;
using IpsecExporter.Sources.OpnSense;
using IpsecExporter.Tests.Sources.Http;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.Logging;
using WireMock;

namespace IpsecExporter.Tests.Sources.OpnSense;

/// <summary>The shared vendor failure modes (<see cref="VendorSourceFailureModes"/>) for the <c>opnsense</c> source.</summary>
public sealed class OpnSenseFailureModeTests : VendorSourceFailureModes
{
    protected override string Options => $"type: opnsense, api_key_env: {Secret("api_key")}, api_secret_env: {Secret("api_secret")}";

    protected override IReadOnlyDictionary<string, string> HealthyAnswers { get; } = OpnSenseGoldenTests.Answers(Directory.GetFiles(Fixtures.Path("opnsense", "healthy"), "01.*.json"));

    protected override void AssertAuthenticated(IRequestMessage request)
    {
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Planted("api_key")}:{Planted("api_secret")}"));
        Assert.Equal($"Basic {basic}", Assert.Single(request.Headers!["Authorization"]));
        // Only search_phase2 is a POST: OPNsense reads the phase-1 id from the POST data alone.
        if (request.AbsolutePath.EndsWith("/search_phase2", StringComparison.Ordinal))
        {
            Assert.Equal("POST", request.Method);
            Assert.StartsWith("application/json", Assert.Single(request.Headers!["Content-Type"]), StringComparison.Ordinal);
            Assert.Contains("\"id\":", request.Body, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal("GET", request.Method);
        }
    }
}

/// <summary>
/// Recorded-shape OPNsense answers (Fixtures/opnsense, shapes cited in its README.md and in
/// <see cref="OpnSenseSaMapper"/>) → the <c>opnsense</c> source on a mock → tunnel model → metrics text.
/// </summary>
public sealed class OpnSenseGoldenTests : IDisposable
{
    private const string KeyVariable = "IPSEC_TEST_OPNSENSE_GOLDEN_KEY";
    private const string SecretVariable = "IPSEC_TEST_OPNSENSE_GOLDEN_SECRET";

    public OpnSenseGoldenTests()
    {
        Environment.SetEnvironmentVariable(KeyVariable, "golden-opnsense-key");
        Environment.SetEnvironmentVariable(SecretVariable, "golden-opnsense-secret");
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(KeyVariable, null);
        Environment.SetEnvironmentVariable(SecretVariable, null);
    }

    [Theory]
    [InlineData("healthy")]
    [InlineData("rekey")]
    [Trait("Needs", "daemon")]
    public async Task Recorded_answers_give_the_expected_metrics(string scenario)
    {
        var rendered = await VendorGolden.RenderAsync(
            "opnsense",
            scenario,
            Answers,
            new Dictionary<string, string> { ["api_key"] = KeyVariable, ["api_secret"] = SecretVariable });

        Assert.Equal(VendorGolden.Expected("opnsense", scenario), rendered);
    }

    /// <summary>
    /// The mock paths of a step's files: <c>NN.status.json</c>, <c>NN.phase1.json</c>, and <c>NN.phase2.ID.json</c> for
    /// the <c>search_phase2</c> POST whose body asks for phase 1 <c>ID</c>.
    /// </summary>
    public static Dictionary<string, string> Answers(IEnumerable<string> files) => files.ToDictionary(
        file => Path.GetFileNameWithoutExtension(file)[3..] switch
        {
            "status" => $"/{OpnSenseSaSource.StatusPath}",
            "phase1" => $"/{OpnSenseSaSource.Phase1Path}",
            var name when name.StartsWith("phase2.", StringComparison.Ordinal) => $"/{OpnSenseSaSource.Phase2Path} {{\"id\":\"{name["phase2.".Length..]}\"}}",
            var name => throw new InvalidOperationException($"no OPNsense call for fixture {name}"),
        },
        File.ReadAllText);
}

/// <summary>What only OPNsense has: a service status that tells "IPsec stopped" from "no tunnels".</summary>
public sealed class OpnSenseServiceStatusTests : IDisposable
{
    private const string EmptySearch = """{"total":0,"rowCount":0,"current":1,"rows":[]}""";

    private readonly VendorApiMock _mock = VendorApiMock.StartHttp();
    private readonly VendorSourceRun _run;

    public OpnSenseServiceStatusTests()
    {
        Environment.SetEnvironmentVariable("IPSEC_TEST_OPNSENSE_STATUS_KEY", "status-key");
        Environment.SetEnvironmentVariable("IPSEC_TEST_OPNSENSE_STATUS_SECRET", "status-secret");
        _run = new VendorSourceRun($"url: \"{_mock.Url}\", type: opnsense, api_key_env: IPSEC_TEST_OPNSENSE_STATUS_KEY, api_secret_env: IPSEC_TEST_OPNSENSE_STATUS_SECRET");
    }

    public void Dispose()
    {
        _run.Dispose();
        _mock.Dispose();
        Environment.SetEnvironmentVariable("IPSEC_TEST_OPNSENSE_STATUS_KEY", null);
        Environment.SetEnvironmentVariable("IPSEC_TEST_OPNSENSE_STATUS_SECRET", null);
    }

    [Fact]
    public async Task A_running_service_without_sessions_is_up_with_no_tunnels()
    {
        Serve("running");

        await _run.CollectAsync();

        Assert.True(_run.Vendor.Up, _run.Vendor.LastError);
        Assert.Empty(_run.VendorSnapshot!.IkeSas);
        Assert.Empty(_run.VendorSnapshot.Connections!);
    }

    [Theory]
    [InlineData("stopped")]
    [InlineData("disabled")]
    public async Task A_service_that_does_not_run_takes_the_source_down_although_the_search_answers_empty(string status)
    {
        // A stopped charon makes list_status.py print no JSON, which the search turns into an empty list.
        Serve(status);

        await _run.CollectAsync();
        await _run.CollectAsync();

        Assert.False(_run.Vendor.Up);
        // Besides the warning about plain http:// when the source starts.
        var failed = Assert.Single(_run.Logs.GetSnapshot(), r => r.Level >= LogLevel.Warning && !r.Message.Contains("plain http://", StringComparison.Ordinal));
        Assert.Contains($"OPNsense reports the IPsec service as '{status}' (api/ipsec/service/status)", failed.Message, StringComparison.Ordinal);
        Assert.Null(failed.Exception);
        Assert.Contains("ipsec_source_up{source=\"fw\"} 0", await _run.RenderAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(_mock.Requests, r => r.AbsolutePath.Contains("/sessions/", StringComparison.Ordinal));
    }

    private void Serve(string status)
    {
        _mock.Serve($"/{OpnSenseSaSource.StatusPath}", $$$"""{"status":"{{{status}}}","widget":{"caption_stop":"stop service"}}""");
        _mock.Serve($"/{OpnSenseSaSource.Phase1Path}", EmptySearch);
        _mock.Serve($"/{OpnSenseSaSource.Phase2Path}", EmptySearch);
    }
}

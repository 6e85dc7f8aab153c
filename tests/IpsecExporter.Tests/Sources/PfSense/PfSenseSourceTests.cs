using System.Text.Json;
using IpsecExporter.Sources;
using IpsecExporter.Sources.PfSense;
using IpsecExporter.Tests.Sources.Http;
using IpsecExporter.Tests.Support;
using Microsoft.Extensions.Logging;
using WireMock;

namespace IpsecExporter.Tests.Sources.PfSense;

/// <summary>The shared vendor failure modes (<see cref="VendorSourceFailureModes"/>) for the <c>pfsense</c> source.</summary>
public sealed class PfSenseFailureModeTests : VendorSourceFailureModes
{
    protected override string Options => $"type: pfsense, token_env: {Secret("token")}";

    protected override IReadOnlyDictionary<string, string> HealthyAnswers { get; } = PfSenseGoldenTests.Answers(Directory.GetFiles(Fixtures.Path("pfsense", "healthy"), "01.*.json"));

    protected override void AssertAuthenticated(IRequestMessage request)
    {
        Assert.Equal(Planted("token"), Assert.Single(request.Headers!["X-API-Key"]));
        // The key travels in its header only: no basic auth, nothing in the URL.
        Assert.False(request.Headers.ContainsKey("Authorization"));
        Assert.DoesNotContain(Planted("token"), request.Url, StringComparison.Ordinal);
        Assert.Equal("GET", request.Method);
    }
}

/// <summary>
/// Recorded-shape pfSense REST API v2 answers (Fixtures/pfsense, shapes cited in its README.md and in
/// <see cref="PfSenseSaMapper"/>) → the <c>pfsense</c> source on a mock → tunnel model → metrics text.
/// </summary>
public sealed class PfSenseGoldenTests : IDisposable
{
    private const string Variable = "IPSEC_TEST_PFSENSE_GOLDEN_KEY";

    public PfSenseGoldenTests() => Environment.SetEnvironmentVariable(Variable, "golden-pfsense-key");

    public void Dispose() => Environment.SetEnvironmentVariable(Variable, null);

    [Theory]
    [InlineData("healthy")]
    [InlineData("rekey")]
    [Trait("Needs", "daemon")]
    public async Task Recorded_answers_give_the_expected_metrics(string scenario)
    {
        var rendered = await VendorGolden.RenderAsync(
            "pfsense",
            scenario,
            Answers,
            new Dictionary<string, string> { ["token"] = Variable });

        Assert.Equal(VendorGolden.Expected("pfsense", scenario), rendered);
    }

    /// <summary>The mock paths of a step's files: <c>NN.services.json</c> and <c>NN.sas.json</c>.</summary>
    public static Dictionary<string, string> Answers(IEnumerable<string> files) => files.ToDictionary(
        file => Path.GetFileNameWithoutExtension(file)[3..] switch
        {
            "services" => "/api/v2/status/services",
            "sas" => $"/{PfSenseSaSource.SasPath}",
            var name => throw new InvalidOperationException($"no pfSense call for fixture {name}"),
        },
        File.ReadAllText);
}

/// <summary>What the golden scenarios do not pin down: the service check, the envelope, pfSense's zeros.</summary>
public sealed class PfSenseSourceTests : IDisposable
{
    private const string Variable = "IPSEC_TEST_PFSENSE_SOURCE_KEY";
    private const string NoSas = """{"code":200,"status":"ok","response_id":"SUCCESS","message":"","data":[]}""";

    private readonly VendorApiMock _mock = VendorApiMock.StartHttp();
    private readonly VendorSourceRun _run;

    public PfSenseSourceTests()
    {
        Environment.SetEnvironmentVariable(Variable, "source-key");
        _run = new VendorSourceRun($"url: \"{_mock.Url}\", type: pfsense, token_env: {Variable}");
    }

    public void Dispose()
    {
        _run.Dispose();
        _mock.Dispose();
        Environment.SetEnvironmentVariable(Variable, null);
    }

    [Fact]
    public async Task A_running_service_without_sas_is_up_with_no_tunnels()
    {
        Serve(Services("""{"name":"ipsec","description":"IPsec VPN","enabled":true,"status":true}"""));

        await _run.CollectAsync();

        Assert.True(_run.Vendor.Up, _run.Vendor.LastError);
        Assert.Empty(_run.VendorSnapshot!.IkeSas);
    }

    [Theory]
    [InlineData("""{"name":"ipsec","description":"IPsec VPN","enabled":true,"status":false}""", "pfSense reports the 'ipsec' service as not running")]
    [InlineData("""{"name":"unbound","description":"DNS Resolver","enabled":true,"status":true}""", "pfSense lists no 'ipsec' service")]
    public async Task A_stopped_or_disabled_ipsec_service_takes_the_source_down_although_the_sa_list_is_empty(string service, string error)
    {
        // Without charon, ipsec_list_sa() returns nothing and the SA list is empty.
        Serve(Services(service));

        await _run.CollectAsync();
        await _run.CollectAsync();

        Assert.False(_run.Vendor.Up);
        // Besides the warning about plain http:// when the source starts.
        var failed = Assert.Single(_run.Logs.GetSnapshot(), r => r.Level >= LogLevel.Warning && !r.Message.Contains("plain http://", StringComparison.Ordinal));
        Assert.Contains(error, failed.Message, StringComparison.Ordinal);
        Assert.Null(failed.Exception);
        Assert.DoesNotContain(_mock.Requests, r => r.AbsolutePath.EndsWith("/ipsec/sas", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_error_envelope_is_a_source_error_with_pfsense_code_and_message()
    {
        Serve(Services("""{"name":"ipsec","description":"IPsec VPN","enabled":true,"status":true}"""));
        _mock.Serve($"/{PfSenseSaSource.SasPath}", """{"code":200,"status":"error","response_id":"MODEL_INTERNAL_ERROR","message":"ipsec_list_sa() failed","data":[]}""");

        await _run.CollectAsync();

        Assert.False(_run.Vendor.Up);
        Assert.Contains("pfSense answered api/v2/status/ipsec/sas with status 'error' (MODEL_INTERNAL_ERROR: ipsec_list_sa() failed)", _run.Vendor.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public void Zeros_the_model_writes_for_absent_values_are_absent_and_empty_strings_are_no_dh_group()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Fixtures.Path("pfsense", "healthy", "01.sas.json")));

        var ikes = PfSenseSaMapper.Map(document.RootElement);

        var idle = ikes.Single(i => i.Connection == "con2").ChildSas.Single(c => c.LocalTs.SequenceEqual(["10.5.1.0/24"]));
        Assert.Null(idle.LastInAgo);
        Assert.Null(idle.LastOutAgo);
        Assert.Null(idle.DhGroup);
        var branch = ikes.Single(i => i.Connection == "con1");
        Assert.Equal("3/8d1e6a4b2c3f5e07/5a6b7c8d9e0f1a2b", branch.Key);
        Assert.Equal(IkeSaState.Established, branch.State);
        Assert.Equal(TimeSpan.FromSeconds(1), branch.ChildSas.Single().LastInAgo);
        Assert.Equal("MODP_2048", branch.ChildSas.Single().DhGroup);
    }

    private static string Services(string entry) => $$"""{"code":200,"status":"ok","response_id":"SUCCESS","message":"","data":[{{entry}}]}""";

    private void Serve(string services)
    {
        _mock.Serve("/api/v2/status/services", services);
        _mock.Serve($"/{PfSenseSaSource.SasPath}", NoSas);
    }
}

using System.Net.Http.Json;
using System.Text.Json.Nodes;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Monitoring;

/// <summary>
/// The inhibitions of deploy/alertmanager/alertmanager.yml, evaluated by a real Alertmanager running that very file:
/// a cause and a symptom are posted together and Alertmanager's own API says which one it mutes. One fault, one page.
/// </summary>
[Trait("Needs", "daemon")]
public sealed class AlertmanagerInhibitionTests : IAsyncLifetime
{
    private const string Instance = "gw1.example.net:9478";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly HttpClient _http = new();
    private LocalDaemon? _alertmanager;
    private Uri _api = null!;

    public static TheoryData<string, string, string, string, bool> Pairs => new()
    {
        // cause, its labels, symptom, its labels, inhibited?
        { "IpsecPhase1Down", "tunnel=hq-b", "IpsecPhase2Missing", "tunnel=hq-b,local_ts=10.1.0.0/24,remote_ts=10.2.0.0/24", true },
        { "IpsecPhase1Down", "tunnel=hq-b", "IpsecTunnelAsymmetricTraffic", "tunnel=hq-b,local_ts=10.1.0.0/24,remote_ts=10.2.0.0/24", true },
        { "IpsecPhase1Down", "tunnel=hq-b", "IpsecInsideUnreachable", "tunnel=hq-b,local_ts=10.1.0.0/24,remote_ts=10.2.0.0/24", true },
        { "IpsecPhase1Down", "tunnel=hq-b", "IpsecInsideUnreachable", "tunnel=hq-c,local_ts=10.1.0.0/24,remote_ts=10.3.0.0/24", false },
        { "IpsecPhase1Down", "tunnel=hq-b", "IpsecGatewayUnreachable", "tunnel=hq-b", false },
        { "IpsecTunnelAsymmetricTraffic", "tunnel=hq-b,local_ts=10.1.1.0/24,remote_ts=10.2.1.0/24", "IpsecInsideUnreachable", "tunnel=hq-b,local_ts=10.1.1.0/24,remote_ts=10.2.1.0/24", true },
        { "IpsecTunnelAsymmetricTraffic", "tunnel=hq-b,local_ts=10.1.1.0/24,remote_ts=10.2.1.0/24", "IpsecInsideUnreachable", "tunnel=hq-b,local_ts=10.1.0.0/24,remote_ts=10.2.0.0/24", false },
        { "IpsecPhase2Missing", "tunnel=hq-b,local_ts=10.1.1.0/24,remote_ts=10.2.1.0/24", "IpsecInsideUnreachable", "tunnel=hq-b,local_ts=10.1.1.0/24,remote_ts=10.2.1.0/24", true },
        { "IpsecPhase2Missing", "tunnel=hq-b,local_ts=10.1.1.0/24,remote_ts=10.2.1.0/24", "IpsecInsideUnreachable", "tunnel=hq-b,local_ts=10.1.0.0/24,remote_ts=10.2.0.0/24", false },
        { "IpsecSourceDown", "source=gw", "IpsecPhase1Down", "tunnel=hq-b,source=gw", true },
        { "IpsecSourceDown", "source=gw", "IpsecTunnelAsymmetricTraffic", "tunnel=hq-b,source=gw,local_ts=10.1.0.0/24,remote_ts=10.2.0.0/24", true },
        { "IpsecSourceDown", "source=gw", "IpsecPhase1Down", "tunnel=hq-c,source=fw1", false },
        { "IpsecSourceDown", "source=gw", "IpsecGatewayUnreachable", "tunnel=hq-b,source=gw", false },
    };

    public async Task InitializeAsync()
    {
        var port = FreePorts.Loopback();
        _api = new Uri($"http://127.0.0.1:{port}/api/v2/");
        _alertmanager = LocalDaemon.Create("alertmanager");
        await _alertmanager.StartAsync("prometheus-alertmanager", [
            $"--config.file={Repository.Path("deploy", "alertmanager", "alertmanager.yml")}", $"--storage.path={_alertmanager.PathOf("data")}",
            $"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
        ], async () =>
        {
            try
            {
                return (await _http.GetAsync(new Uri(_api, "status"))).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, Deadline);
    }

    public async Task DisposeAsync()
    {
        if (_alertmanager is not null)
        {
            await _alertmanager.DisposeAsync();
        }

        _http.Dispose();
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public async Task A_cause_mutes_its_own_symptoms_and_nothing_else(string cause, string causeLabels, string symptom, string symptomLabels, bool inhibited)
    {
        var run = Guid.NewGuid().ToString("N");
        await PostAsync(cause, causeLabels, run, "cause");
        await PostAsync(symptom, symptomLabels, run, "symptom");

        // Alertmanager decides inhibition when it lists the alerts: wait until both are known, then read the verdict.
        JsonArray alerts = [];
        await Poll.UntilAsync(async () =>
        {
            alerts = (await _http.GetFromJsonAsync<JsonArray>(new Uri(_api, $"alerts?filter=run%3D%22{run}%22")))!;
            return alerts.Count == 2;
        }, Deadline, () => alerts.ToJsonString());

        var byRole = alerts.ToDictionary(a => (string)a!["labels"]!["role"]!, a => a!["status"]!);
        Assert.Empty(byRole["cause"]["inhibitedBy"]!.AsArray());
        Assert.Equal(inhibited, byRole["symptom"]["inhibitedBy"]!.AsArray().Count > 0);
        Assert.Equal(inhibited ? "suppressed" : "active", (string?)byRole["symptom"]["state"]);
    }

    /// <summary>Posts one firing alert; <paramref name="run"/> keeps the cases apart, <paramref name="role"/> names it
    /// in the verdict (neither label is one an inhibit rule looks at).</summary>
    private async Task PostAsync(string alertname, string labels, string run, string role)
    {
        var labelSet = new JsonObject
        {
            ["alertname"] = alertname,
            ["instance"] = Instance,
            ["job"] = "ipsec-exporter",
            ["severity"] = "critical",
            ["run"] = run,
            ["role"] = role,
        };
        foreach (var label in labels.Split(','))
        {
            var equals = label.IndexOf('=', StringComparison.Ordinal);
            labelSet[label[..equals]] = label[(equals + 1)..];
        }

        var response = await _http.PostAsJsonAsync(new Uri(_api, "alerts"), new JsonArray(new JsonObject { ["labels"] = labelSet }));
        response.EnsureSuccessStatusCode();
    }
}

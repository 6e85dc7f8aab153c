using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using IpsecExporter.Tests.Support;
using Xunit.Abstractions;

namespace IpsecExporter.Tests.Monitoring;

/// <summary>
/// The user's scenario end to end: the exporter on the HQ gateway (inside the testbed's HQ namespace, pinging through
/// the tunnel), real Prometheus scraping it every second with our rules (time-compressed by scripts/shorten-rules.py),
/// real Alertmanager with the inhibitions of deploy/alertmanager routing to a webhook receiver in this test. One
/// direction of ESP is dropped: the pair's inside targets go silent with it, and the fault must page once, as
/// IpsecInsideUnreachable (critical) with the traffic evidence and the labels and annotations a partner report needs,
/// never a second time as IpsecTunnelAsymmetricTraffic, and resolve once traffic flows both ways again. Every dashboard
/// query must return data from that Prometheus.
/// </summary>
[Trait("Needs", "root")][Trait("Needs", "daemon")]
public sealed class AlertingEndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(150);
    private readonly TempDirectory _directory = new();
    private readonly List<IAsyncDisposable> _cleanup = [];
    private readonly WebhookReceiver _receiver = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private Testbed _testbed = null!;
    private ExporterProcess _exporter = null!;
    private string _link = null!;
    private int _prometheusPort;

    public async Task InitializeAsync()
    {
        _testbed = await Testbed.UpAsync();
        var n = _testbed.Index;
        var hq = _testbed.Summary["ns_hq"];

        // A link from the host to the HQ gateway so Prometheus (on the host) can scrape the exporter running there.
        _link = $"{_testbed.Name}-e";
        await ExternalCommand.RunAsync("ip", "link", "add", _link + "0", "type", "veth", "peer", "name", _link + "1", "netns", hq);
        await ExternalCommand.RunAsync("ip", "addr", "add", $"169.254.{n}.1/30", "dev", _link + "0");
        await ExternalCommand.RunAsync("ip", "link", "set", _link + "0", "up");
        await ExternalCommand.RunAsync("ip", "-n", hq, "addr", "add", $"169.254.{n}.2/30", "dev", _link + "1");
        await ExternalCommand.RunAsync("ip", "-n", hq, "link", "set", _link + "1", "up");
        var hostSide = $"169.254.{n}.1";
        // Like a real gateway, HQ reaches "the internet" through its public interface (only the branch is there).
        await ExternalCommand.RunAsync("ip", "-n", hq, "route", "add", "default", "via", _testbed.Summary["br_public"]);

        // This site's public IP comes from a real DNS server and the clock from a real NTP server, both on the link.
        var dnsPort = FreePorts.Loopback();
        var dnsmasq = LocalDaemon.Create("dnsmasq");
        _cleanup.Add(dnsmasq);
        await File.WriteAllLinesAsync(dnsmasq.PathOf("dnsmasq.conf"), [
            $"port={dnsPort}", $"listen-address={hostSide}", "bind-interfaces", "no-resolv", "no-hosts", "user=root",
            $"pid-file={dnsmasq.PathOf("dnsmasq.pid")}", $"txt-record=o-o.myaddr.l.google.com,\"{_testbed.Summary["hq_public"]}\"", "log-facility=-",
        ]);
        await dnsmasq.StartAsync("dnsmasq", ["--keep-in-foreground", $"--conf-file={dnsmasq.PathOf("dnsmasq.conf")}"], () => Task.FromResult(true), TimeSpan.FromSeconds(5));
        var ntpPort = FreePorts.Loopback();
        var chrony = LocalDaemon.Create("chronyd");
        _cleanup.Add(chrony);
        await File.WriteAllLinesAsync(chrony.PathOf("chrony.conf"), [
            $"port {ntpPort}", "cmdport 0", $"bindaddress {hostSide}", "local stratum 8", $"allow {hostSide}/30",
            $"pidfile {chrony.PathOf("chronyd.pid")}", $"driftfile {chrony.PathOf("drift")}",
        ]);
        await chrony.StartAsync("chronyd", ["-d", "-x", "-u", "root", "-f", chrony.PathOf("chrony.conf")], () => Task.FromResult(true), TimeSpan.FromSeconds(5));

        var pair = _testbed.Summary["pair_net1"].Split('>');
        var config = _directory.Write("ipsec.yaml", $$"""
            site:
              name: hq
              location: "HQ, rack B4"
              equipment: "strongSwan 5.9.8 (testbed)"
              public_ip: {{_testbed.Summary["hq_public"]}}
              public_ip_lookup: { method: dns, server: "{{hostSide}}:{{dnsPort}}", interval: 5s }
              ntp_servers: ["{{hostSide}}:{{ntpPort}}"]
              ntp_interval: 15s
            sources:
              - { name: gw, type: vici, uri: "{{_testbed.HqVici}}", interval: 1s }
            tunnels:
              - name: branch
                description: "HQ to Branch (testbed)"
                partner: { name: "Branch IT", contact: "noc@branch.example" }
                connection: {{_testbed.Summary["hq_ike"]}}
                local_gateway: {{_testbed.Summary["hq_public"]}}
                remote_gateway: {{_testbed.Summary["br_public"]}}
                network_pairs:
                  - { local: {{pair[0]}}, remote: {{pair[1]}} }
                inside: { source: {{_testbed.Summary["pair_net1_source"]}}, targets: [{{_testbed.Summary["pair_net1_targets"]}}] }
                expect: { pfs: true, ike_rekey: 8h, child_rekey: 5h20m }
            probes: { interval: 1s, timeout: 1s }
            diagnosis: { window: 30s }
            """);
        var exporterPort = FreePorts.Loopback();
        _exporter = ExporterProcess.StartIn(hq, $"169.254.{n}.2", exporterPort, "--config", config);
        await Poll.UntilAsync(async () => (await _http.GetAsync(new Uri(_exporter.BaseAddress, "readyz"))).IsSuccessStatusCode, Deadline, () => _exporter.Output);

        // Alertmanager routes everything to the webhook quickly; Prometheus scrapes and evaluates every second.
        _receiver.Start();
        var alertmanagerPort = FreePorts.Loopback();
        var alertmanager = LocalDaemon.Create("alertmanager");
        _cleanup.Add(alertmanager);
        await File.WriteAllTextAsync(alertmanager.PathOf("alertmanager.yml"), $$"""
            route:
              receiver: test
              group_by: [alertname, tunnel, local_ts]
              group_wait: 1s
              group_interval: 1s
              repeat_interval: 1h
            receivers:
              - name: test
                webhook_configs:
                  - url: {{_receiver.Url}}
                    send_resolved: true
            {{InhibitRules()}}
            """);
        await alertmanager.StartAsync("prometheus-alertmanager", [
            $"--config.file={alertmanager.PathOf("alertmanager.yml")}", $"--storage.path={alertmanager.PathOf("data")}",
            $"--web.listen-address=127.0.0.1:{alertmanagerPort}", "--cluster.listen-address=",
        ], () => Ready($"http://127.0.0.1:{alertmanagerPort}/-/ready"), TimeSpan.FromSeconds(30));

        var rules = Path.Combine(_directory.Path, "rules.short.yaml");
        await ExternalCommand.RunAsync("python3", Repository.Path("scripts", "shorten-rules.py"), Repository.Path("alerts", "ipsec-exporter.rules.yaml"), rules);
        _prometheusPort = FreePorts.Loopback();
        var prometheus = LocalDaemon.Create("prometheus");
        _cleanup.Add(prometheus);
        await File.WriteAllTextAsync(prometheus.PathOf("prometheus.yml"), $$"""
            global: { scrape_interval: 1s, evaluation_interval: 1s }
            rule_files: [ "{{rules}}" ]
            alerting:
              alertmanagers: [ { static_configs: [ { targets: [ "127.0.0.1:{{alertmanagerPort}}" ] } ] } ]
            scrape_configs:
              - job_name: ipsec-exporter
                static_configs: [ { targets: [ "169.254.{{n}}.2:{{exporterPort}}" ] } ]
            """);
        await prometheus.StartAsync("prometheus", [
            $"--config.file={prometheus.PathOf("prometheus.yml")}", $"--storage.tsdb.path={prometheus.PathOf("data")}",
            $"--web.listen-address=127.0.0.1:{_prometheusPort}",
        ], () => Ready($"http://127.0.0.1:{_prometheusPort}/-/ready"), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task One_way_traffic_pages_once_with_the_partner_facts_and_resolves_and_every_dashboard_query_has_data()
    {
        var pair = _testbed.Summary["pair_net1"].Split('>');
        // The exporter's own inside probes are the traffic: both directions must be seen growing first.
        await Poll.UntilAsync(
            async () => await Query($"tunnel_pair:ipsec_child_sa_received_packets:rate5m{{tunnel=\"branch\",local_ts=\"{pair[0]}\"}} > 0") > 0,
            Deadline,
            () => _exporter.Output);

        await Poll.UntilAsync(async () => await Query(Status("healthy")) == 1, Deadline, () => _exporter.Output);

        await _testbed.RunAsync("drop-direction", "--side", "hq");
        await Poll.UntilAsync(async () => await Query(Status("desynchronized")) == 1, Deadline, () => _exporter.Output);

        await Poll.UntilAsync(() => _receiver.Find("firing", Page) is not null, Deadline, () => $"no firing {Page}; received: {_receiver.Dump()}");
        var firing = _receiver.Find("firing", Page)!;
        var labels = firing["labels"]!;
        output.WriteLine(firing.ToJsonString());
        Assert.Equal("critical", (string?)labels["severity"]);
        Assert.Equal("branch", (string?)labels["tunnel"]);
        Assert.Equal((pair[0], pair[1]), ((string?)labels["local_ts"], (string?)labels["remote_ts"]));
        Assert.Equal("HQ, rack B4", (string?)labels["location"]);
        Assert.Equal(_testbed.Summary["hq_public"], (string?)labels["local_gateway"]);
        Assert.Equal(_testbed.Summary["br_public"], (string?)labels["remote_gateway"]);
        var annotations = firing["annotations"]!;
        Assert.EndsWith($"docs/runbooks/{Page}.md", (string?)annotations["runbook_url"], StringComparison.Ordinal);
        Assert.Equal($"http://169.254.{_testbed.Index}.2:{_exporter.Port}/tunnels/branch/report", (string?)annotations["report_url"]);
        Assert.Contains("sent without received means one side is desynchronized", (string?)annotations["description"], StringComparison.Ordinal);

        // One fault, one page: once nothing has been received for longer than the asymmetric-traffic alert's window and
        // `for:` (shortened: 20 s each), that alert would be firing on its own; it is neither in Prometheus nor sent.
        var received = $"tunnel_pair:ipsec_child_sa_received_packets:rate5m{{tunnel=\"branch\",local_ts=\"{pair[0]}\"}}";
        await Poll.UntilAsync(
            async () => await Query($"max_over_time({received}[45s]) == 0 and count_over_time({received}[45s]) > 40") == 1,
            Deadline,
            () => _exporter.Output);
        Assert.Equal(0, await Query("ALERTS{alertname=\"IpsecTunnelAsymmetricTraffic\"}"));
        Assert.Equal([Page], _receiver.FiringAlertNames());

        // The exporter's own verdict agrees, and the report it links to names both gateways.
        var report = await _http.GetStringAsync(new Uri(_exporter.BaseAddress, "tunnels/branch/report?format=text"));
        Assert.Contains("Verdict: DESYNCHRONIZED", report, StringComparison.Ordinal);
        Assert.Contains(_testbed.Summary["br_public"], report, StringComparison.Ordinal);

        await AssertEveryDashboardQueryHasDataAsync();

        await _testbed.RunAsync("restore");
        await Poll.UntilAsync(async () => await Query(Status("healthy")) == 1, Deadline, () => _exporter.Output);
        await Poll.UntilAsync(() => _receiver.Find("resolved", Page) is not null, Deadline, () => $"not resolved; received: {_receiver.Dump()}");
        var healthyAgain = await _http.GetStringAsync(new Uri(_exporter.BaseAddress, "tunnels/branch/report?format=text"));
        Assert.Contains("Verdict: HEALTHY", healthyAgain, StringComparison.Ordinal);
        // Silent inside targets may make it "down" for a moment before the one-way counters say "desynchronized".
        Assert.Contains("healthy -> ", healthyAgain, StringComparison.Ordinal);
        Assert.Contains("-> desynchronized", healthyAgain, StringComparison.Ordinal);
        Assert.Contains("desynchronized -> healthy", healthyAgain, StringComparison.Ordinal);
    }

    /// <summary>The one page a desynchronized pair with silent inside targets gives.</summary>
    private const string Page = "IpsecInsideUnreachable";

    /// <summary>The inhibitions the bundle ships (deploy/alertmanager/alertmanager.yml), for this test's Alertmanager.</summary>
    private static string InhibitRules()
    {
        var deployed = File.ReadAllText(Repository.Path("deploy", "alertmanager", "alertmanager.yml"));
        // The section is last in the file and top-level there, as it is here.
        return deployed[deployed.IndexOf("inhibit_rules:", StringComparison.Ordinal)..];
    }

    private static string Status(string status) => $"ipsec_tunnel_status{{tunnel=\"branch\",status=\"{status}\"}} == 1";

    public async Task DisposeAsync()
    {
        if (_exporter is not null)
        {
            await _exporter.DisposeAsync();
        }

        foreach (var daemon in _cleanup)
        {
            await daemon.DisposeAsync();
        }

        _receiver.Dispose();
        _http.Dispose();
        // Deleting the namespace deletes both ends of the scrape link.
        await _testbed.DisposeAsync();
        _directory.Dispose();
    }

    private async Task AssertEveryDashboardQueryHasDataAsync()
    {
        var instance = $"169.254.{_testbed.Index}.2:{_exporter.Port}";
        var insideTarget = _testbed.Summary["pair_net1_targets"].Split(',')[0];
        var empty = new List<string>();
        foreach (var file in Directory.GetFiles(Repository.Path("dashboards"), "*.json"))
        {
            var dashboard = JsonNode.Parse(await File.ReadAllTextAsync(file))!;
            foreach (var target in dashboard["panels"]!.AsArray().SelectMany(p => p!["targets"]?.AsArray() ?? []))
            {
                var expr = ((string?)target!["expr"] ?? "")
                    .Replace("$__rate_interval", "20s", StringComparison.Ordinal)
                    .Replace("$__interval", "5s", StringComparison.Ordinal)
                    .Replace("$__range", "5m", StringComparison.Ordinal)
                    .Replace("$job", "ipsec-exporter", StringComparison.Ordinal)
                    .Replace("$tunnel", "branch", StringComparison.Ordinal)
                    .Replace("$instance", instance, StringComparison.Ordinal)
                    .Replace("${tunnel}", "branch", StringComparison.Ordinal)
                    .Replace("${instance}", instance, StringComparison.Ordinal)
                    .Replace("$target", insideTarget, StringComparison.Ordinal)
                    .Replace("${target}", insideTarget, StringComparison.Ordinal);
                if (expr.Length > 0 && await Query(expr) == 0)
                {
                    empty.Add($"{Path.GetFileName(file)}: {target["expr"]}");
                }
            }
        }

        Assert.True(empty.Count == 0, "dashboard queries without data:\n" + string.Join("\n", empty));
    }

    /// <summary>How many series an instant query returns.</summary>
    private async Task<int> Query(string expr)
    {
        var response = await _http.GetStringAsync($"http://127.0.0.1:{_prometheusPort}/api/v1/query?query={Uri.EscapeDataString(expr)}");
        var result = JsonNode.Parse(response)!["data"]!["result"]!;
        return result is JsonArray array ? array.Count : 1;
    }

    private async Task<bool> Ready(string url)
    {
        try
        {
            return (await _http.GetAsync(url)).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>Alertmanager's webhook receiver: keeps every alert of every notification.</summary>
    private sealed class WebhookReceiver : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly List<JsonNode> _alerts = [];

        public string Url { get; } = $"http://127.0.0.1:{FreePorts.Loopback()}/hook/";

        public void Start()
        {
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _ = Task.Run(async () =>
            {
                while (_listener.IsListening)
                {
                    HttpListenerContext context;
                    try
                    {
                        context = await _listener.GetContextAsync();
                    }
                    catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                    {
                        return;
                    }

                    using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8))
                    {
                        var body = JsonNode.Parse(await reader.ReadToEndAsync())!;
                        lock (_alerts)
                        {
                            _alerts.AddRange(body["alerts"]!.AsArray().Select(a => a!.DeepClone()));
                        }
                    }

                    context.Response.StatusCode = 200;
                    context.Response.Close();
                }
            });
        }

        public JsonNode? Find(string status, string alertname)
        {
            lock (_alerts)
            {
                return _alerts.LastOrDefault(a => (string?)a["status"] == status && (string?)a["labels"]!["alertname"] == alertname);
            }
        }

        /// <summary>The distinct alert names of every firing alert notified so far.</summary>
        public List<string> FiringAlertNames()
        {
            lock (_alerts)
            {
                return _alerts.Where(a => (string?)a["status"] == "firing").Select(a => (string)a["labels"]!["alertname"]!).Distinct().Order(StringComparer.Ordinal).ToList();
            }
        }

        public string Dump()
        {
            lock (_alerts)
            {
                return string.Join("\n", _alerts.Select(a => a.ToJsonString()));
            }
        }

        public void Dispose() => _listener.Close();
    }
}

using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Monitoring;

/// <summary>
/// Lint of dashboards/*.json: importable (datasource variable and <c>__inputs</c>), stable uids, every panel with a
/// unit and a description, <c>$__rate_interval</c> in every range, and only metrics the exporter exposes.
/// scripts/suites/promtool-rules.sh additionally parses every query with promtool.
/// </summary>
public sealed partial class DashboardTests
{
    private const string DatasourceReference = "${datasource}";

    public static TheoryData<string> Files()
    {
        var files = new TheoryData<string>();
        foreach (var path in Directory.GetFiles(Repository.Path("dashboards"), "*.json").Order())
        {
            files.Add(Path.GetFileName(path));
        }

        return files;
    }

    [Fact]
    public void The_overview_and_the_tunnel_dashboard_exist_with_their_stable_uids()
    {
        var uids = Directory.GetFiles(Repository.Path("dashboards"), "*.json").Select(p => (string)Load(p)["uid"]!).ToList();
        Assert.Equal(["ipsec-exporter-overview", "ipsec-exporter-tunnel"], uids.Order());
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Has_a_stable_uid_and_no_instance_id(string file)
    {
        var dashboard = Load(file);
        Assert.Matches("^ipsec-exporter-[a-z-]+$", (string)dashboard["uid"]!);
        Assert.True(((string)dashboard["uid"]!).Length <= 40, "Grafana uids have at most 40 characters");
        Assert.Null(dashboard["id"]);
        Assert.False(string.IsNullOrWhiteSpace((string?)dashboard["title"]));
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Has_a_prometheus_datasource_variable_fed_by_the_import_input(string file)
    {
        var dashboard = Load(file);
        var input = Assert.Single(dashboard["__inputs"]!.AsArray());
        Assert.Equal("DS_PROMETHEUS", (string?)input!["name"]);
        Assert.Equal("datasource", (string?)input["type"]);
        Assert.Equal("prometheus", (string?)input["pluginId"]);

        var datasource = Assert.Single(Variables(dashboard), v => (string?)v["type"] == "datasource");
        Assert.Equal("datasource", (string?)datasource["name"]);
        Assert.Equal("prometheus", (string?)datasource["query"]);
        // Grafana's import replaces ${DS_PROMETHEUS} by the chosen datasource; provisioning falls back to the default.
        Assert.Equal("${DS_PROMETHEUS}", (string?)datasource["current"]!["value"]);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Has_instance_and_tunnel_variables_from_the_exporter(string file)
    {
        var variables = Variables(Load(file)).ToDictionary(v => (string)v["name"]!);
        Assert.Matches(@"^label_values\(ipsec_\w+(\{[^}]*\})?, instance\)$", (string?)variables["instance"]["query"]);
        Assert.Matches(@"^label_values\(ipsec_tunnel_info(\{[^}]*\})?, tunnel\)$", (string?)variables["tunnel"]["query"]);
        Assert.Equal("label_values(ipsec_exporter_build_info, job)", (string?)variables["job"]["query"]);
    }

    /// <summary>mixin/config.libsonnet's dashboardSelector: the job and instance variables narrow every panel.</summary>
    [Theory]
    [MemberData(nameof(Files))]
    public void Every_exporter_series_is_selected_by_the_job_and_instance_variables(string file)
    {
        var selectors = Expressions(Load(file)).SelectMany(e => SeriesSelector().Matches(e)).Select(m => m.Value).ToList();
        Assert.NotEmpty(selectors);
        foreach (var selector in selectors)
        {
            Assert.Contains("job=~\"$job\", instance=~\"$instance\"", selector, StringComparison.Ordinal);
        }
    }

    /// <summary>docs/METRICS.md: each pair is its own CHILD SA; a sum over pairs hides the pair that carries nothing back.</summary>
    [Theory]
    [MemberData(nameof(Files))]
    public void Traffic_counters_are_never_summed_over_network_pairs(string file)
    {
        foreach (var expression in Expressions(Load(file)).Where(e => e.Contains("ipsec_child_sa_", StringComparison.Ordinal)))
        {
            foreach (Match aggregation in Aggregation().Matches(expression))
            {
                var by = aggregation.Groups["by"].Value;
                Assert.True(by.Contains("local_ts", StringComparison.Ordinal) && by.Contains("remote_ts", StringComparison.Ordinal), $"{file}: {expression}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_panel_query_and_variable_uses_the_datasource_variable(string file)
    {
        var dashboard = Load(file);
        foreach (var panel in Panels(dashboard).Where(p => (string?)p["type"] != "row"))
        {
            Assert.Equal(DatasourceReference, (string?)panel["datasource"]?["uid"]);
            Assert.All(panel["targets"]!.AsArray(), t => Assert.Equal(DatasourceReference, (string?)t!["datasource"]?["uid"]));
        }

        Assert.All(Variables(dashboard).Where(v => (string?)v["type"] == "query"), v => Assert.Equal(DatasourceReference, (string?)v["datasource"]?["uid"]));
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_panel_has_a_title_a_description_a_unit_and_a_query(string file)
    {
        foreach (var panel in Panels(Load(file)).Where(p => (string?)p["type"] != "row"))
        {
            var title = (string?)panel["title"];
            Assert.False(string.IsNullOrWhiteSpace(title));
            Assert.False(string.IsNullOrWhiteSpace((string?)panel["description"]), $"{file}: panel '{title}' has no description");
            Assert.False(string.IsNullOrWhiteSpace((string?)panel["fieldConfig"]?["defaults"]?["unit"]), $"{file}: panel '{title}' has no unit");
            Assert.NotEmpty(panel["targets"]!.AsArray());
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_range_is_the_rate_interval(string file)
    {
        var expressions = Expressions(Load(file)).ToList();
        Assert.Contains(expressions, e => e.Contains("rate(", StringComparison.Ordinal));
        foreach (var expression in expressions)
        {
            foreach (Match range in Range().Matches(expression))
            {
                Assert.True(range.Value == "[$__rate_interval]", $"{file}: {range.Value} instead of [$__rate_interval] in {expression}");
            }

            Assert.DoesNotMatch(@"\b(?:rate|irate|increase)\((?![^\[]*\[\$__rate_interval\])", expression);
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Every_metric_a_dashboard_queries_is_exported(string file)
    {
        var exported = await ExportedMetrics.NamesAsync();
        var dashboard = Load(file);
        var selectors = Variables(dashboard).Where(v => (string?)v["type"] == "query").Select(v => LabelValuesSelector((string)v["query"]!));
        foreach (var expression in Expressions(dashboard).Concat(selectors))
        {
            foreach (var name in PromQlNames.Of(expression))
            {
                Assert.True(exported.Contains(name), $"{file} queries {name}, which the exporter does not expose: {expression}");
            }
        }
    }

    [Fact]
    public async Task Every_exported_metric_is_shown_on_a_dashboard()
    {
        var shown = Directory.GetFiles(Repository.Path("dashboards"), "*.json")
            .SelectMany(p => Expressions(Load(p)))
            .SelectMany(PromQlNames.Of)
            .ToHashSet();
        var families = await ExportedMetrics.FamiliesAsync();
        Assert.NotEmpty(families);
        foreach (var family in families)
        {
            Assert.True(family.SeriesNames.Any(shown.Contains), $"no dashboard shows {family.Name}");
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Panels_have_unique_ids_and_fit_the_grid_without_overlapping(string file)
    {
        var panels = Panels(Load(file)).ToList();
        Assert.Equal(panels.Count, panels.Select(p => (int)p["id"]!).Distinct().Count());
        var boxes = panels.Select(p => p["gridPos"]!).Select(g => (X: (int)g["x"]!, Y: (int)g["y"]!, W: (int)g["w"]!, H: (int)g["h"]!)).ToList();
        Assert.All(boxes, b => Assert.True(b.X >= 0 && b.W > 0 && b.X + b.W <= 24 && b.H > 0, $"{file}: panel outside the 24-column grid: {b}"));
        for (var i = 0; i < boxes.Count; i++)
        {
            for (var j = i + 1; j < boxes.Count; j++)
            {
                var (a, b) = (boxes[i], boxes[j]);
                var overlap = a.X < b.X + b.W && b.X < a.X + a.W && a.Y < b.Y + b.H && b.Y < a.Y + a.H;
                Assert.False(overlap, $"{file}: panels '{panels[i]["title"]}' and '{panels[j]["title"]}' overlap");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Links_to_dashboards_point_at_shipped_uids(string file)
    {
        var uids = Directory.GetFiles(Repository.Path("dashboards"), "*.json").Select(p => (string)Load(p)["uid"]!).ToHashSet();
        var links = DashboardLink().Matches(File.ReadAllText(Repository.Path("dashboards", file))).Select(m => m.Groups[1].Value).ToList();
        Assert.All(links, uid => Assert.Contains(uid, uids));
    }

    private static JsonNode Load(string file) =>
        JsonNode.Parse(File.ReadAllText(Path.IsPathRooted(file) ? file : Repository.Path("dashboards", file)))!;

    // A series of the exporter with its label matchers, if any, as a panel query selects it (instance-wide and per tunnel
    // alike): its ipsec_* metrics and its process_* and dotnet_* runtime metrics.
    [GeneratedRegex(@"(?<![\w:])(?:ipsec|process|dotnet)_\w+(?:\{[^}]*\})?")]
    private static partial Regex SeriesSelector();

    [GeneratedRegex(@"(?:sum|avg|max|min|count)(?: by \((?<by>[^)]*)\))?\s*\((?:rate|increase|irate)\(ipsec_child_sa_\w+_total")]
    private static partial Regex Aggregation();

    private static IEnumerable<JsonNode> Variables(JsonNode dashboard) => dashboard["templating"]!["list"]!.AsArray().Select(v => v!);

    // Rows carry their panels inside when collapsed.
    private static IEnumerable<JsonNode> Panels(JsonNode dashboard) =>
        dashboard["panels"]!.AsArray().SelectMany(p => (p!["panels"]?.AsArray().Select(c => c!) ?? []).Prepend(p));

    private static IEnumerable<string> Expressions(JsonNode dashboard) =>
        Panels(dashboard).SelectMany(p => p["targets"]?.AsArray() ?? []).Select(t => (string?)t!["expr"]).OfType<string>();

    private static string LabelValuesSelector(string query)
    {
        var match = LabelValues().Match(query);
        return match.Success ? match.Groups[1].Value : query;
    }

    [GeneratedRegex(@"\[[^\[\]]*\]")]
    private static partial Regex Range();

    [GeneratedRegex(@"^label_values\((.*),\s*\w+\)$")]
    private static partial Regex LabelValues();

    [GeneratedRegex(@"/d/([a-z0-9-]+)")]
    private static partial Regex DashboardLink();
}

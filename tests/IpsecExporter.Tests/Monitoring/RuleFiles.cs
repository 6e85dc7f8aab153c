using YamlDotNet.RepresentationModel;

namespace IpsecExporter.Tests.Monitoring;

/// <summary>One rule of alerts/*.yaml: a recording rule (<see cref="Record"/>) or an alert (<see cref="Alert"/>).</summary>
internal sealed record Rule(
    string Group,
    string? Record,
    string? Alert,
    string Expression,
    string? For,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations);

/// <summary>One <c>alert_rule_test</c> of a promtool test file: which alert, and how many alerts it expects.</summary>
internal sealed record AlertTestCase(string File, string Alert, string EvalTime, int ExpectedAlerts);

/// <summary>Reads the shipped rule files and promtool test files with YamlDotNet.</summary>
internal static class RuleFiles
{
    public static IReadOnlyList<string> RulePaths() => Directory.GetFiles(Support.Repository.Path("alerts"), "*.yaml").Order().ToList();

    public static IReadOnlyList<string> TestPaths() =>
        Directory.GetFiles(Support.Repository.Path("alerts", "tests"), "*.yaml", SearchOption.AllDirectories).Order().ToList();

    public static IReadOnlyList<Rule> Rules() => RulePaths().SelectMany(ReadRules).ToList();

    public static IReadOnlyList<Rule> Alerts() => Rules().Where(r => r.Alert is not null).ToList();

    public static IReadOnlyList<AlertTestCase> AlertTestCases() =>
        TestPaths().SelectMany(path =>
            Sequence(Load(path), "tests")
                .SelectMany(test => Sequence(test, "alert_rule_test"))
                .Select(test => new AlertTestCase(
                    Path.GetFileName(path),
                    Scalar(test, "alertname") ?? "",
                    Scalar(test, "eval_time") ?? "",
                    Sequence(test, "exp_alerts").Count())))
        .ToList();

    /// <summary>Every expression of a <c>promql_expr_test</c> in the promtool test files.</summary>
    public static IReadOnlyList<string> TestedExpressions() =>
        TestPaths().SelectMany(path =>
            Sequence(Load(path), "tests")
                .SelectMany(test => Sequence(test, "promql_expr_test"))
                .Select(test => Scalar(test, "expr") ?? ""))
        .ToList();

    private static IEnumerable<Rule> ReadRules(string path) =>
        Sequence(Load(path), "groups").SelectMany(group =>
            Sequence(group, "rules").Select(rule => new Rule(
                Scalar(group, "name") ?? "",
                Scalar(rule, "record"),
                Scalar(rule, "alert"),
                Scalar(rule, "expr") ?? "",
                Scalar(rule, "for"),
                Map(rule, "labels"),
                Map(rule, "annotations"))));

    private static YamlMappingNode Load(string path)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(path))
        {
            stream.Load(reader);
        }

        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static IEnumerable<YamlMappingNode> Sequence(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlSequenceNode sequence
            ? sequence.Children.Cast<YamlMappingNode>()
            : [];

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? ((YamlScalarNode)value).Value : null;

    private static Dictionary<string, string> Map(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value)
            ? ((YamlMappingNode)value).Children.ToDictionary(e => ((YamlScalarNode)e.Key).Value!, e => ((YamlScalarNode)e.Value).Value ?? "", StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);
}

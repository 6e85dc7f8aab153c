using System.Text.RegularExpressions;

namespace IpsecExporter.Tests.Monitoring;

/// <summary>
/// The metric names a PromQL expression (or Grafana query) selects. String literals, label matchers, grouping clauses
/// and ranges are dropped first; then every identifier that is neither called like a function nor a keyword is a
/// metric name. A lint helper, not a parser: promtool checks the syntax.
/// </summary>
internal static partial class PromQlNames
{
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "atan2", "inf", "nan",
    };

    public static IReadOnlySet<string> Of(string expression)
    {
        var text = StringLiteral().Replace(expression, "\"\"");
        text = LabelMatchers().Replace(text, "{}");
        text = GroupingClause().Replace(text, " ");
        text = RangeOrSubquery().Replace(text, " ");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match match in Identifier().Matches(text))
        {
            var isCall = text.AsSpan(match.Index + match.Length).TrimStart().StartsWith("(");
            if (!isCall && !Keywords.Contains(match.Value.ToLowerInvariant()))
            {
                names.Add(match.Value);
            }
        }

        return names;
    }

    [GeneratedRegex("""
        "(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`
        """)]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\{[^{}]*\}")]
    private static partial Regex LabelMatchers();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")]
    private static partial Regex GroupingClause();

    [GeneratedRegex(@"\[[^\[\]]*\]")]
    private static partial Regex RangeOrSubquery();

    // Not preceded by a word character (the "m" of "5m", the "e" of "1e3"), a dot or "$" (a Grafana variable).
    [GeneratedRegex(@"(?<![\w.:$])[a-zA-Z_:][\w:]*")]
    private static partial Regex Identifier();
}

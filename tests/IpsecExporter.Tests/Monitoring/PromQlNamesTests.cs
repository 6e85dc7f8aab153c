namespace IpsecExporter.Tests.Monitoring;

public sealed class PromQlNamesTests
{
    [Fact]
    public void Metric_names_are_told_apart_from_functions_labels_keywords_and_variables()
    {
        const string expression = """
            sum by (le, tunnel) (rate(ipsec_gateway_ping_rtt_seconds_bucket{tunnel="$tunnel", target=~"a|b"}[$__rate_interval]))
            / on(job, instance) group_left(location) ipsec_tunnel_info
            unless absent(up) > bool 0.5 offset 5m or 1e3 * nan
            """;

        Assert.Equal(["ipsec_gateway_ping_rtt_seconds_bucket", "ipsec_tunnel_info", "up"], PromQlNames.Of(expression).Order());
    }

    [Fact]
    public void Strings_are_not_names_and_recording_rule_names_are()
    {
        const string expression = """
            label_replace(tunnel_pair:ipsec_child_sa_sent_packets:rate5m > 0, "direction", "sent_only", "", "")
            and ipsec_typo_total
            """;

        Assert.Equal(["ipsec_typo_total", "tunnel_pair:ipsec_child_sa_sent_packets:rate5m"], PromQlNames.Of(expression).Order());
    }

    [Fact]
    public void Subqueries_and_nested_groupings_leave_only_the_selected_series()
    {
        const string expression = "count_over_time((increase(a_total[2m]) > 0 and on(job, tunnel) increase(b_total[2m]) > 0)[1d:1m]) >= 3";

        Assert.Equal(["a_total", "b_total"], PromQlNames.Of(expression).Order());
    }
}

using IpsecExporter.Configuration;
using IpsecExporter.Tests.Support;

namespace IpsecExporter.Tests.Configuration;

/// <summary>One fixture per validation rule: the error names the file, line and column, and says what is wrong.</summary>
public sealed class ConfigValidationTests
{
    private readonly ConfigLoader _loader = new(TestSources.Registry());

    [Theory]
    [InlineData("invalid-yaml-syntax.yaml", 4, 1, "YAML syntax error")]
    [InlineData("invalid-empty.yaml", 1, 1, "configuration is empty")]
    [InlineData("invalid-yaml-unclosed-flow.yaml", 4, 16, "YAML syntax error: the flow sequence '[' opened here is never closed")]
    [InlineData("invalid-yaml-too-deep.yaml", 4, 72, "YAML nesting deeper than 64 levels, the limit for a configuration file")]
    [InlineData("invalid-yaml-alias-cycle.yaml", 4, 3, "YAML alias *site refers to a node that contains it (a cycle)")]
    [InlineData("invalid-yaml-unknown-alias.yaml", 3, 13, "YAML alias *hq_location refers to no anchor defined before it")]
    [InlineData("invalid-yaml-alias-bomb.yaml", 9, 45, "YAML document has more than 1,000,000 nodes once aliases are expanded, the limit for a configuration file")]
    [InlineData("invalid-too-large.yaml", 1, 1, "configuration file is larger than 4 MiB, the limit for a configuration file")]
    [InlineData("invalid-unknown-key.yaml", 3, 3, "site: unknown key 'locaton' (expected one of: name, location,")]
    [InlineData("invalid-wrong-type.yaml", 4, 3, "sources: expected a list, got a mapping")]
    [InlineData("invalid-missing-site.yaml", 1, 1, "missing required key 'site'")]
    [InlineData("invalid-missing-required-key.yaml", 6, 5, "tunnels[0]: missing required key 'remote_gateway'")]
    [InlineData("invalid-duration.yaml", 4, 13, "probes.interval: invalid duration '1 second' (use e.g. 500ms, 30s, 5m, 8h, 5h20m)")]
    [InlineData("invalid-duration-too-short.yaml", 4, 13, "probes.interval: duration '10ms' must be at least 100ms")]
    [InlineData("invalid-duration-too-long.yaml", 5, 13, "probes.interval: duration '60d' must be at most 30d")]
    [InlineData("invalid-diagnosis-window-too-long.yaml", 4, 11, "diagnosis.window: duration '1d' must be at most 6h")]
    [InlineData("invalid-vici-socket-path-too-long.yaml", 6, 10, "sources[0].uri: the socket path is longer than the 107 bytes a unix socket path may have")]
    [InlineData("invalid-source-url-query.yaml", 6, 10, "sources[0].url: the API base URL takes no query or fragment (an API key belongs in token_file or token_env)")]
    [InlineData("invalid-vici-max-sas.yaml", 6, 14, "sources[0].max_sas: expected a whole number from 100 to 2147483647, got '10'")]
    [InlineData("invalid-vici-max-answer-bytes.yaml", 6, 23, "sources[0].max_answer_bytes: expected a whole number from 524288 to 2147483647, got '64MiB'")]
    [InlineData("invalid-bool.yaml", 9, 20, "tunnels[0].expect.pfs: expected true or false, got 'maybe'")]
    [InlineData("invalid-ip.yaml", 3, 14, "site.public_ip: invalid IP address '203.0.113.300'")]
    [InlineData("invalid-cidr.yaml", 9, 16, "tunnels[0].network_pairs[0].local: invalid CIDR '10.1.0.0/33'")]
    [InlineData("invalid-cidr-host-bits.yaml", 10, 17, "invalid CIDR '10.2.0.5/24' (host bits are set; did you mean 10.2.0.0/24?)")]
    [InlineData("invalid-pair-family.yaml", 9, 9, "tunnels[0].network_pairs[0]: local 10.1.0.0/24 and remote fd00:2::/64 are of different address families")]
    [InlineData("invalid-duplicate-pair.yaml", 10, 9, "tunnels[0].network_pairs[1]: duplicate network pair 10.1.0.0/24 <-> 10.2.0.0/24")]
    [InlineData("invalid-no-network-pairs.yaml", 8, 20, "tunnels[0].network_pairs: at least one network pair is required")]
    [InlineData("invalid-duplicate-tunnel.yaml", 9, 11, "tunnels[1].name: duplicate tunnel name 'branch'")]
    [InlineData("invalid-tunnel-name.yaml", 6, 11, "tunnels[0].name: 'hq/branch b' is not a valid tunnel name (letters, digits, '.', '_' and '-', starting with a letter or digit)")]
    [InlineData("invalid-unknown-source.yaml", 7, 13, "tunnels[0].source: unknown source 'fw1' (sources: gw)")]
    [InlineData("invalid-source-not-named.yaml", 7, 5, "tunnels[0]: missing required key 'source' (needed when more than one source is configured)")]
    [InlineData("invalid-duplicate-source.yaml", 5, 13, "sources[1].name: duplicate source name 'gw'")]
    [InlineData("invalid-source-type-empty.yaml", 3, 5, "sources[0]: missing required key 'type'")]
    [InlineData("invalid-source-type.yaml", 4, 23, "sources[0].type: unknown source type 'racoon' (supported:")]
    [InlineData("invalid-inline-secret.yaml", 6, 5, "sources[0].token: inline secrets are not allowed: put the token in a file and set token_file, or set token_env")]
    [InlineData("invalid-remote-gateway.yaml", 7, 21, "tunnels[0].remote_gateway: 'branch b.example.net' is neither an IP address nor a DNS name")]
    [InlineData("invalid-inside-source.yaml", 9, 23, "tunnels[0].inside.source: 192.168.5.1 is not inside any local network of this tunnel")]
    [InlineData("invalid-inside-target.yaml", 9, 53, "tunnels[0].inside.targets: 10.9.0.1 is not inside any remote network of this tunnel")]
    [InlineData("invalid-inside-no-targets.yaml", 9, 42, "tunnels[0].inside.targets: at least one inside target address is required")]
    [InlineData("invalid-url.yaml", 3, 14, "grafana_url: invalid URL 'grafana.example.net' (expected http:// or https://)")]
    [InlineData("invalid-uri-credentials.yaml", 6, 10, "sources[0].uri: credentials (user:password@) are not allowed here (inline secret); use a *_file or *_env setting")]
    [InlineData("invalid-url-credentials.yaml", 5, 10, "site.public_ip_lookup.url: credentials in the URL are not allowed (inline secret); use a *_file or *_env setting")]
    [InlineData("invalid-sharding.yaml", 3, 11, "sharding: invalid shard '3/3' (expected I/N with 0 <= I < N, e.g. 0/3)")]
    [InlineData("invalid-lookup-method.yaml", 3, 31, "site.public_ip_lookup.method: unknown method 'stun' (expected dns, http or none)")]
    [InlineData("invalid-ntp-server.yaml", 3, 17, "site.ntp_servers: invalid server 'ntp.example.net:99999'")]
    [InlineData("invalid-public-ip-lookup-query.yaml", 5, 12, "site.public_ip_lookup.query: unknown query 'cloudflare-txt' (expected google-txt or opendns-a)")]
    [InlineData("invalid-public-ip-lookup-query-not-dns.yaml", 6, 12, "site.public_ip_lookup.query: applies only to method dns")]
    [InlineData("invalid-public-ip-lookup-server.yaml", 5, 13, "site.public_ip_lookup.server: invalid server '127.0.0.1:99999' (expected a host name or IP, optionally with :port)")]
    [InlineData("invalid-public-ip-lookup-server-not-dns.yaml", 6, 13, "site.public_ip_lookup.server: applies only to method dns")]
    [InlineData("invalid-public-ip-cross-check-none.yaml", 6, 15, "site.public_ip_lookup.cross_check.method: a cross-check needs a lookup method (dns or http), not none")]
    [InlineData("invalid-public-ip-cross-check-without-lookup.yaml", 6, 7, "site.public_ip_lookup.cross_check: there is nothing to cross-check while site.public_ip_lookup.method is none")]
    [InlineData("invalid-ntp-interval.yaml", 4, 17, "site.ntp_interval: duration '5s' must be at least 15s")]
    [InlineData("invalid-ntp-samples.yaml", 4, 16, "site.ntp_samples: expected a whole number from 1 to 8, got '20'")]
    [InlineData("invalid-remote-gateway-resolution-server.yaml", 5, 11, "remote_gateway_resolution.server: invalid server 'dns server' (expected a host name or IP, optionally with :port)")]
    [InlineData("invalid-best-practices-tolerance.yaml", 5, 25, "best_practices.two_thirds_tolerance: invalid tolerance '150%' (use a percentage from 0% to 100% such as 10%, or a fraction from 0 to 1 such as 0.1)")]
    [InlineData("invalid-source-option-of-other-type.yaml", 6, 5, "sources[0]: unknown key 'url' (expected one of: name, type, interval, timeout, uri, max_sas, max_answer_bytes)")]
    [InlineData("invalid-source-url-missing.yaml", 4, 5, "sources[0]: missing required key 'url'")]
    [InlineData("invalid-secret-file-and-env.yaml", 8, 16, "sources[0].token_env: set either token_file or token_env, not both")]
    [InlineData("invalid-secret-missing.yaml", 4, 5, "sources[0]: missing required key 'token_file' or 'token_env' (secrets are read from a file or an environment variable)")]
    [InlineData("invalid-tls-fingerprint.yaml", 9, 27, "sources[0].tls.fingerprint_sha256: 'AB:CD:EF' is not a SHA-256 fingerprint (64 hex digits")]
    [InlineData("invalid-tls-ca-file.yaml", 9, 16, "sources[0].tls.ca_file: cannot load /nonexistent/ca.pem")]
    [InlineData("invalid-tls-insecure-and-pinned.yaml", 10, 29, "sources[0].tls.insecure_skip_verify: contradicts ca_file/fingerprint_sha256")]
    [InlineData("invalid-tls-on-http.yaml", 9, 7, "sources[0].tls: applies only to https:// URLs")]
    [InlineData("invalid-tls-unknown-key.yaml", 9, 7, "sources[0].tls: unknown key 'verify' (expected one of: ca_file, fingerprint_sha256, insecure_skip_verify)")]
    [InlineData("invalid-rtt-buckets-order.yaml", 6, 30, "probes.rtt_buckets: 0.005 is not above the previous bucket 0.01 (buckets must increase)")]
    [InlineData("invalid-rtt-buckets-value.yaml", 6, 24, "probes.rtt_buckets: '10ms' is not a positive number of seconds (e.g. 0.0005 for 500µs)")]
    [InlineData("invalid-panos-url-missing.yaml", 4, 5, "sources[0]: missing required key 'url'")]
    [InlineData("invalid-panos-inline-secret.yaml", 7, 5, "sources[0].api_key: inline secrets are not allowed: put the key in a file and set token_file, or set token_env")]
    [InlineData("invalid-panos-unknown-key.yaml", 8, 5, "sources[0]: unknown key 'vsys' (expected one of: name, type, interval, timeout, url, tls, token_file, token_env)")]
    [InlineData("invalid-mikrotik-url-missing.yaml", 4, 5, "sources[0]: missing required key 'url'")]
    [InlineData("invalid-mikrotik-username-missing.yaml", 4, 5, "sources[0]: missing required key 'username'")]
    [InlineData("invalid-mikrotik-inline-secret.yaml", 8, 5, "sources[0].password: inline secrets are not allowed: put the password in a file and set password_file, or set password_env")]
    [InlineData("invalid-mikrotik-unknown-key.yaml", 9, 5, "sources[0]: unknown key 'token_file' (expected one of: name, type, interval, timeout, url, tls, username, password_file, password_env)")]
    [InlineData("invalid-opnsense-url-missing.yaml", 4, 5, "sources[0]: missing required key 'url'")]
    [InlineData("invalid-opnsense-inline-secret.yaml", 8, 5, "sources[0].api_secret: inline secrets are not allowed: put the API secret in a file and set api_secret_file, or set api_secret_env")]
    [InlineData("invalid-opnsense-unknown-key.yaml", 9, 5, "sources[0]: unknown key 'token_file' (expected one of: name, type, interval, timeout, url, tls, api_key_file, api_key_env, api_secret_file, api_secret_env)")]
    [InlineData("invalid-opnsense-secret-missing.yaml", 4, 5, "sources[0]: missing required key 'api_secret_file' or 'api_secret_env' (secrets are read from a file or an environment variable)")]
    [InlineData("invalid-pfsense-url-missing.yaml", 4, 5, "sources[0]: missing required key 'url'")]
    [InlineData("invalid-pfsense-inline-secret.yaml", 7, 5, "sources[0].api_key: inline secrets are not allowed: put the key in a file and set token_file, or set token_env")]
    [InlineData("invalid-pfsense-unknown-key.yaml", 8, 5, "sources[0]: unknown key 'username' (expected one of: name, type, interval, timeout, url, tls, token_file, token_env)")]
    public void Each_rule_reports_file_line_column_and_message(string fixture, int line, int column, string message)
    {
        var path = Fixtures.Path("config", fixture);

        var error = Assert.Single(Assert.Throws<ConfigException>(() => _loader.Load(path)).Errors);

        Assert.Equal(path, error.File);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Equal((line, column), ((int)error.Line, (int)error.Column));
        Assert.StartsWith($"{path}:{line}:{column}: ", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_error_is_reported_at_once_in_file_order()
    {
        var path = Fixtures.Path("config", "invalid-many-errors.yaml");

        var errors = Assert.Throws<ConfigException>(() => _loader.Load(path)).Errors;

        Assert.Collection(
            errors,
            e => Assert.Equal((3, 14, "site.public_ip: invalid IP address 'not-an-ip'"), ((int)e.Line, (int)e.Column, e.Message)),
            e => Assert.Equal((5, 13, "probes.interval: invalid duration 'soon' (use e.g. 500ms, 30s, 5m, 8h, 5h20m)"), ((int)e.Line, (int)e.Column, e.Message)),
            e => Assert.Equal((7, 5, "tunnels[0]: missing required key 'source' (no sources are configured: add one under 'sources')"), ((int)e.Line, (int)e.Column, e.Message)),
            e => Assert.Equal((9, 52, "tunnels[0].network_pairs[0].remote: invalid CIDR '10.2.0.0/99' (expected ADDRESS/PREFIX, e.g. 10.1.0.0/24)"), ((int)e.Line, (int)e.Column, e.Message)),
            e => Assert.Equal((10, 5, "tunnels[0]: unknown key 'colour' (expected one of: name, description, partner, source, connection, local_gateway, remote_gateway, network_pairs, inside, expect)"), ((int)e.Line, (int)e.Column, e.Message)));
    }

    [Fact]
    public void An_inline_secret_value_never_appears_in_the_error()
    {
        var path = Fixtures.Path("config", "invalid-inline-secret.yaml");

        var exception = Assert.Throws<ConfigException>(() => _loader.Load(path));

        Assert.DoesNotContain("s3cr3t-t0ken-value", exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t-t0ken-value", exception.ToString(), StringComparison.Ordinal);
        foreach (var vendor in new[] { "invalid-panos-inline-secret.yaml", "invalid-mikrotik-inline-secret.yaml", "invalid-opnsense-inline-secret.yaml", "invalid-pfsense-inline-secret.yaml" })
        {
            Assert.DoesNotContain("s3cr3t-t0ken-value", Assert.Throws<ConfigException>(() => _loader.Load(Fixtures.Path("config", vendor))).ToString(), StringComparison.Ordinal);
        }

        var url = Assert.Throws<ConfigException>(() => _loader.Load(Fixtures.Path("config", "invalid-url-credentials.yaml")));
        Assert.DoesNotContain("s3cret", url.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_invalid_fixture_is_covered_by_a_rule_test()
    {
        // Every theory in the assembly whose first argument names an invalid-*.yaml fixture counts.
        var covered = typeof(ConfigValidationTests).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods())
            .SelectMany(m => m.GetCustomAttributes(typeof(InlineDataAttribute), false).Cast<InlineDataAttribute>())
            .Select(a => a.GetData(null!).Single()[0])
            .OfType<string>()
            .Where(name => name.StartsWith("invalid-", StringComparison.Ordinal) && name.EndsWith(".yaml", StringComparison.Ordinal))
            .Append("invalid-many-errors.yaml")
            .Distinct();

        var fixtures = Directory.GetFiles(Fixtures.Path("config"), "invalid-*.yaml").Select(Path.GetFileName);

        Assert.Equal(fixtures.Order(StringComparer.Ordinal), covered.Order(StringComparer.Ordinal));
    }
}

using System.Globalization;
using System.Net;
using IpsecExporter.Metrics;
using IpsecExporter.Sources;
using YamlDotNet.RepresentationModel;

namespace IpsecExporter.Configuration;

/// <summary>
/// Reads the YAML configuration into <see cref="ExporterConfig"/>, applying every default in one place and reporting
/// every error at once as <c>FILE:LINE:COL: message</c>. Unknown keys are errors.
/// </summary>
public sealed partial class ConfigLoader(SaSourceRegistry sourceTypes)
{
    public static readonly TimeSpan DefaultSourceInterval = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan DefaultSourceTimeout = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan DefaultProbeInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan DefaultProbeTimeout = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan DefaultDiagnosisWindow = TimeSpan.FromMinutes(2);
    public static readonly TimeSpan DefaultPublicIpInterval = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan DefaultPublicIpTimeout = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan DefaultNtpInterval = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan DefaultNtpTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The diagnosis keeps one sample per tunnel every 5 s of the window: 6 h is 4,320 of them.</summary>
    public static readonly TimeSpan MaxDiagnosisWindow = TimeSpan.FromHours(6);

    /// <summary>RFC 4330 section 10: an SNTP client must not poll a server more often than every 15 seconds.</summary>
    public static readonly TimeSpan MinimumNtpInterval = TimeSpan.FromSeconds(15);

    /// <summary>SNTP exchanges per round and server; the one with the shortest delay decides (NTP's clock filter).</summary>
    public const int DefaultNtpSamples = 4;
    public const int MaxNtpSamples = 8;

    /// <summary>A tunnel without a partner or expect section: one instance for all of them (a hub configures thousands).</summary>
    private static readonly PartnerConfig NoPartner = new(null, null, null, null);

    private static readonly ExpectConfig NoExpectations = new(null, null, null);

    public static readonly RemoteGatewayResolutionConfig DefaultRemoteGatewayResolution = new(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(5), null);

    /// <summary>
    /// 8h IKE rekey is the common "short" vendor value (AWS, Azure); 5h20m is two thirds of it, the longest CHILD rekey
    /// that keeps the 2/3 rule under that IKE limit. A clock a second off is not NTP-synchronized.
    /// </summary>
    public static readonly BestPracticesConfig DefaultBestPractices = new(
        TimeSpan.FromHours(8), TimeSpan.FromHours(5) + TimeSpan.FromMinutes(20), 0.10m, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

    public const string DefaultViciUri = "unix:///var/run/charon.vici";
    public const string DefaultGoogleTxtServer = "ns1.google.com";
    public const string DefaultOpenDnsAServer = "resolver1.opendns.com";

    private static readonly string[] RootKeys = ["site", "sources", "tunnels", "probes", "diagnosis", "grafana_url", "remote_gateway_resolution", "best_practices", "sharding"];
    private static readonly string[] SiteKeys = ["name", "location", "equipment", "public_ip", "public_ip_lookup", "ntp_servers", "ntp_interval", "ntp_timeout", "ntp_samples"];
    private static readonly string[] LookupKeys = ["method", "server", "query", "url", "interval", "timeout", "cross_check"];
    private static readonly string[] CrossCheckKeys = ["method", "server", "query", "url", "timeout"];
    private static readonly string[] ResolutionKeys = ["interval", "timeout", "server"];
    private static readonly string[] BestPracticeKeys = ["max_ike_rekey", "max_child_rekey", "two_thirds_tolerance", "max_clock_offset", "interval"];
    /// <summary>The generic keys of a source entry; each source type adds its own.</summary>
    private static readonly string[] SourceKeys = ["name", "type", "interval", "timeout"];
    private static readonly string[] TunnelKeys = ["name", "description", "partner", "source", "connection", "local_gateway", "remote_gateway", "network_pairs", "inside", "expect"];
    private static readonly string[] PartnerKeys = ["name", "contact", "location", "equipment"];
    private static readonly string[] PairKeys = ["local", "remote"];
    private static readonly string[] InsideKeys = ["source", "targets"];
    private static readonly string[] ExpectKeys = ["pfs", "ike_rekey", "child_rekey"];
    private static readonly string[] ProbeKeys = ["interval", "timeout", "rtt_buckets"];

    /// <summary>Each bucket is a series per probed target: a bound keeps a mistyped list from exploding /metrics.</summary>
    public const int MaxRttBuckets = 40;
    private static readonly string[] DiagnosisKeys = ["window"];

    private static readonly Dictionary<string, string> InlineSecrets = new(StringComparer.Ordinal)
    {
        ["token"] = "inline secrets are not allowed: put the token in a file and set token_file, or set token_env to an environment variable's name",
        ["api_key"] = "inline secrets are not allowed: put the key in a file and set token_file, or set token_env to an environment variable's name",
        ["api_token"] = "inline secrets are not allowed: put the token in a file and set token_file, or set token_env to an environment variable's name",
        ["password"] = "inline secrets are not allowed: put the password in a file and set password_file, or set password_env to an environment variable's name",
        ["secret"] = "inline secrets are not allowed: use token_file/password_file or token_env/password_env",
        ["api_secret"] = "inline secrets are not allowed: use token_file/password_file or token_env/password_env",
    };

    /// <summary><c>--shard</c>: replaces the file's <c>sharding:</c>, on every reload too.</summary>
    public ShardConfig? ShardOverride { get; init; }

    /// <summary>Loads and validates <paramref name="path"/>; throws <see cref="ConfigException"/> with every error.</summary>
    public ExporterConfig Load(string path) => Parse(path, YamlDocuments.ReadFile(path, "configuration file"));

    public ExporterConfig Parse(string path, string text)
    {
        var errors = new ConfigErrors(path);
        var stream = YamlDocuments.Parse(path, text, "configuration file");
        if (stream.Documents.Count == 0 || YamlMap.IsNull(stream.Documents[0].RootNode))
        {
            throw new ConfigException([new ConfigError(path, 1, 1, "configuration is empty")]);
        }

        if (stream.Documents.Count > 1)
        {
            errors.Add(stream.Documents[1].RootNode, "only one YAML document is allowed");
        }

        var config = ParseRoot(path, stream.Documents[0].RootNode, errors);
        if (errors.All.Count > 0 || config is null)
        {
            throw new ConfigException(errors.All.OrderBy(e => e.Line).ThenBy(e => e.Column).ToList());
        }

        return config;
    }

    private ExporterConfig? ParseRoot(string path, YamlNode root, ConfigErrors errors)
    {
        var map = YamlMap.From(root, "", errors, RootKeys);
        if (map is null)
        {
            return null;
        }

        var site = ParseSite(map, errors);
        var sources = ParseSources(map, errors, out var sourceNames);
        var tunnels = ParseTunnels(map, sourceNames, errors);

        var probesMap = YamlMap.From(map.ValueNode("probes"), "probes", errors, ProbeKeys);
        var probes = new ProbesConfig(
            probesMap?.Duration("interval", TimeSpan.FromMilliseconds(100)) ?? DefaultProbeInterval,
            probesMap?.Duration("timeout", TimeSpan.FromMilliseconds(10)) ?? DefaultProbeTimeout)
        {
            RttBuckets = probesMap is null ? ExporterMetrics.DefaultRttBuckets : ParseRttBuckets(probesMap, errors),
        };

        var diagnosisMap = YamlMap.From(map.ValueNode("diagnosis"), "diagnosis", errors, DiagnosisKeys);
        var diagnosis = new DiagnosisConfig(diagnosisMap?.Duration("window", TimeSpan.FromSeconds(10), MaxDiagnosisWindow) ?? DefaultDiagnosisWindow);

        var grafana = map.HttpUrl("grafana_url");
        var resolution = ParseRemoteGatewayResolution(map, errors);
        var bestPractices = ParseBestPractices(map, errors);
        var shard = ShardOverride ?? ParseSharding(map, errors);
        var config = site is null ? null : new ExporterConfig(Path.GetFullPath(path), site, sources, tunnels, probes, diagnosis, grafana)
        {
            RemoteGatewayResolution = resolution,
            BestPractices = bestPractices,
        };
        return shard is null ? config : config is null ? null : shard.Apply(config);
    }

    private static ShardConfig? ParseSharding(YamlMap root, ConfigErrors errors)
    {
        var text = root.String("sharding");
        if (text is null)
        {
            return null;
        }

        if (!ShardConfig.TryParse(text, out var shard))
        {
            errors.Add(root.ValueNode("sharding")!, $"sharding: invalid shard '{text}' (expected {ShardConfig.Syntax})");
        }

        return shard;
    }

    private static SiteConfig? ParseSite(YamlMap root, ConfigErrors errors)
    {
        var map = YamlMap.From(root.ValueNode("site"), "site", errors, SiteKeys);
        if (map is null)
        {
            errors.Add(root.Node, "missing required key 'site' (this end: name, location, equipment)");
            return null;
        }

        var lookupMap = YamlMap.From(map.ValueNode("public_ip_lookup"), "site.public_ip_lookup", errors, LookupKeys);
        var lookup = new PublicIpLookupConfig(PublicIpLookupMethod.None, null, null, DefaultPublicIpInterval, DefaultPublicIpTimeout);
        if (lookupMap is not null)
        {
            var interval = lookupMap.Duration("interval", TimeSpan.FromSeconds(1)) ?? DefaultPublicIpInterval;
            var timeout = lookupMap.Duration("timeout", TimeSpan.FromMilliseconds(10)) ?? DefaultPublicIpTimeout;
            lookup = ParseLookup(lookupMap, interval, timeout, errors);
            var crossCheckMap = YamlMap.From(lookupMap.ValueNode("cross_check"), "site.public_ip_lookup.cross_check", errors, CrossCheckKeys);
            if (crossCheckMap is not null)
            {
                var crossCheck = ParseLookup(crossCheckMap, interval, crossCheckMap.Duration("timeout", TimeSpan.FromMilliseconds(10)) ?? timeout, errors);
                if (crossCheck.Method == PublicIpLookupMethod.None && crossCheckMap.Has("method"))
                {
                    errors.Add(crossCheckMap.ValueNode("method")!, "site.public_ip_lookup.cross_check.method: a cross-check needs a lookup method (dns or http), not none");
                }
                else if (lookup.Method == PublicIpLookupMethod.None && lookupMap.Has("method"))
                {
                    errors.Add(crossCheckMap.Node, "site.public_ip_lookup.cross_check: there is nothing to cross-check while site.public_ip_lookup.method is none");
                }

                lookup = lookup with { CrossCheck = crossCheck };
            }
        }

        var ntp = map.StringList("ntp_servers");
        foreach (var (node, value) in ntp)
        {
            if (value.Contains('@', StringComparison.Ordinal))
            {
                errors.Add(node, $"site.ntp_servers: {YamlMap.UserInfoNotAllowed}");
            }
            else if (!HostAndPort.TryParse(value, out _))
            {
                errors.Add(node, $"site.ntp_servers: invalid server '{value}' (expected a host name or IP, optionally with :port)");
            }
        }

        return new SiteConfig(
            map.String("name", required: true) ?? "",
            map.String("location"),
            map.String("equipment"),
            map.Ip("public_ip"),
            lookup,
            ntp.Select(n => n.Value).ToList())
        {
            NtpInterval = map.Duration("ntp_interval", MinimumNtpInterval) ?? DefaultNtpInterval,
            NtpTimeout = map.Duration("ntp_timeout", TimeSpan.FromMilliseconds(10)) ?? DefaultNtpTimeout,
            NtpSamples = map.Integer("ntp_samples", 1, MaxNtpSamples) ?? DefaultNtpSamples,
        };
    }

    /// <summary>One lookup (the primary or the cross-check): method, and server/query or url as the method needs.</summary>
    private static PublicIpLookupConfig ParseLookup(YamlMap map, TimeSpan interval, TimeSpan timeout, ConfigErrors errors)
    {
        var methodText = map.String("method", required: true);
        var method = methodText switch
        {
            "dns" => PublicIpLookupMethod.Dns,
            "http" => PublicIpLookupMethod.Http,
            "none" or null => PublicIpLookupMethod.None,
            _ => Invalid("method", $"{map.Child("method")}: unknown method '{methodText}' (expected dns, http or none)"),
        };

        var queryText = map.String("query");
        var query = queryText switch
        {
            "google-txt" or null => DnsPublicIpQuery.GoogleTxt,
            "opendns-a" => DnsPublicIpQuery.OpenDnsA,
            _ => InvalidQuery(),
        };
        // Only when the method itself is valid: one mistake, one error.
        var otherMethod = methodText is "http" or "none";
        if (queryText is not null && otherMethod)
        {
            errors.Add(map.ValueNode("query")!, $"{map.Child("query")}: applies only to method dns");
        }

        var server = HostOrHostPort(map, "server", errors);
        if (server is not null && otherMethod)
        {
            errors.Add(map.ValueNode("server")!, $"{map.Child("server")}: applies only to method dns");
        }

        if (method == PublicIpLookupMethod.Dns)
        {
            server ??= query == DnsPublicIpQuery.OpenDnsA ? DefaultOpenDnsAServer : DefaultGoogleTxtServer;
        }

        var url = map.HttpUrl("url", required: method == PublicIpLookupMethod.Http);
        return new PublicIpLookupConfig(method, server, url, interval, timeout) { Query = query };

        PublicIpLookupMethod Invalid(string key, string message)
        {
            errors.Add(map.ValueNode(key)!, message);
            return PublicIpLookupMethod.None;
        }

        DnsPublicIpQuery InvalidQuery()
        {
            errors.Add(map.ValueNode("query")!, $"{map.Child("query")}: unknown query '{queryText}' (expected google-txt or opendns-a)");
            return DnsPublicIpQuery.GoogleTxt;
        }
    }

    private static RemoteGatewayResolutionConfig ParseRemoteGatewayResolution(YamlMap root, ConfigErrors errors)
    {
        var map = YamlMap.From(root.ValueNode("remote_gateway_resolution"), "remote_gateway_resolution", errors, ResolutionKeys);
        var defaults = DefaultRemoteGatewayResolution;
        return map is null
            ? defaults
            : new RemoteGatewayResolutionConfig(
                map.Duration("interval", TimeSpan.FromSeconds(1)) ?? defaults.Interval,
                map.Duration("timeout", TimeSpan.FromMilliseconds(10)) ?? defaults.Timeout,
                HostOrHostPort(map, "server", errors) ?? defaults.Server);
    }

    private static BestPracticesConfig ParseBestPractices(YamlMap root, ConfigErrors errors)
    {
        var map = YamlMap.From(root.ValueNode("best_practices"), "best_practices", errors, BestPracticeKeys);
        var defaults = DefaultBestPractices;
        if (map is null)
        {
            return defaults;
        }

        var tolerance = defaults.TwoThirdsTolerance;
        var toleranceText = map.String("two_thirds_tolerance");
        if (toleranceText is not null)
        {
            if (TryParseFraction(toleranceText, out var parsed))
            {
                tolerance = parsed;
            }
            else
            {
                errors.Add(map.ValueNode("two_thirds_tolerance")!, $"best_practices.two_thirds_tolerance: invalid tolerance '{toleranceText}' (use a percentage from 0% to 100% such as 10%, or a fraction from 0 to 1 such as 0.1)");
            }
        }

        return new BestPracticesConfig(
            map.Duration("max_ike_rekey", TimeSpan.FromSeconds(1)) ?? defaults.MaxIkeRekey,
            map.Duration("max_child_rekey", TimeSpan.FromSeconds(1)) ?? defaults.MaxChildRekey,
            tolerance,
            map.Duration("max_clock_offset", TimeSpan.FromMilliseconds(1)) ?? defaults.MaxClockOffset,
            map.Duration("interval", TimeSpan.FromSeconds(1)) ?? defaults.Interval);
    }

    /// <summary>"10%" or "0.1": a fraction from 0 to 1.</summary>
    private static bool TryParseFraction(string text, out decimal fraction)
    {
        var percent = text.EndsWith('%');
        var number = percent ? text[..^1].TrimEnd() : text;
        if (!decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out fraction))
        {
            return false;
        }

        if (percent)
        {
            fraction /= 100m;
        }

        return fraction <= 1m;
    }

    /// <summary>A server as <c>host</c> or <c>host:port</c>; null (with an error) when it is neither.</summary>
    private static string? HostOrHostPort(YamlMap map, string key, ConfigErrors errors)
    {
        var text = map.String(key);
        if (text is not null && text.Contains('@', StringComparison.Ordinal))
        {
            errors.Add(map.ValueNode(key)!, $"{map.Child(key)}: {YamlMap.UserInfoNotAllowed}");
            return null;
        }

        if (text is not null && !HostAndPort.TryParse(text, out _))
        {
            errors.Add(map.ValueNode(key)!, $"{map.Child(key)}: invalid server '{text}' (expected a host name or IP, optionally with :port)");
            return null;
        }

        return text;
    }

    /// <summary><c>probes.rtt_buckets</c>: bucket upper bounds in seconds, positive and strictly increasing.</summary>
    private static IReadOnlyList<double> ParseRttBuckets(YamlMap probes, ConfigErrors errors)
    {
        if (!probes.Has("rtt_buckets"))
        {
            return ExporterMetrics.DefaultRttBuckets;
        }

        var key = probes.Child("rtt_buckets");
        var items = probes.StringList("rtt_buckets");
        var buckets = new List<double>();
        foreach (var (node, text) in items)
        {
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var bound) || !double.IsFinite(bound) || bound <= 0)
            {
                errors.Add(node, $"{key}: '{text}' is not a positive number of seconds (e.g. 0.0005 for 500µs)");
                return ExporterMetrics.DefaultRttBuckets;
            }

            if (buckets.Count > 0 && bound <= buckets[^1])
            {
                errors.Add(node, $"{key}: {text} is not above the previous bucket {buckets[^1].ToString(CultureInfo.InvariantCulture)} (buckets must increase)");
                return ExporterMetrics.DefaultRttBuckets;
            }

            buckets.Add(bound);
        }

        if (buckets.Count is 0 or > MaxRttBuckets)
        {
            errors.Add(probes.ValueNode("rtt_buckets")!, $"{key}: give 1 to {MaxRttBuckets} buckets, got {buckets.Count}");
            return ExporterMetrics.DefaultRttBuckets;
        }

        return buckets;
    }

    /// <param name="names">Every named entry, also those whose type is unknown (tunnels refer to them by name).</param>
    private List<SourceConfig> ParseSources(YamlMap root, ConfigErrors errors, out List<string> names)
    {
        names = [];
        var result = new List<SourceConfig>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var items = root.Sequence("sources");
        for (var i = 0; i < items.Count; i++)
        {
            var path = $"sources[{i}]";
            // The type decides which keys the entry may have, so it is read before the entry is checked.
            var type = items[i] is YamlMappingNode entry && entry.Children.TryGetValue(new YamlScalarNode("type"), out var typeNode) && typeNode is YamlScalarNode { Value: { Length: > 0 } text } && !YamlMap.IsNull(typeNode)
                ? text
                : null;
            var sourceType = type is null ? null : sourceTypes.Find(type);
            // An unknown type: every type's keys pass, so that the type is the one error shown.
            var typeKeys = sourceType?.OptionKeys ?? sourceTypes.All.SelectMany(t => t.OptionKeys).Distinct(StringComparer.Ordinal);
            var forbidden = new Dictionary<string, string>(InlineSecrets, StringComparer.Ordinal);
            foreach (var (key, why) in sourceType?.RefusedKeys ?? new Dictionary<string, string>())
            {
                forbidden[key] = why;
            }

            var map = YamlMap.From(items[i], path, errors, [.. SourceKeys, .. typeKeys], forbidden);
            if (map is null)
            {
                errors.Add(items[i], $"{path}: expected a mapping with name and type");
                continue;
            }

            var name = map.String("name", required: true);
            map.String("type", required: true);
            if (name is not null && !seen.Add(name))
            {
                errors.Add(map.ValueNode("name")!, $"{path}.name: duplicate source name '{name}'");
            }

            names.Add(name ?? "");

            if (type is not null && sourceType is null)
            {
                var supported = sourceTypes.Types.Count == 0 ? "none" : string.Join(", ", sourceTypes.Types);
                errors.Add(map.ValueNode("type")!, $"{path}.type: unknown source type '{type}' (supported: {supported})");
            }

            if (sourceType is null || HasCredentialsInAddress(map, errors))
            {
                continue;
            }

            result.Add(new SourceConfig(
                name ?? "",
                sourceType.Type,
                map.Duration("interval", TimeSpan.FromMilliseconds(100)) ?? DefaultSourceInterval,
                map.Duration("timeout", TimeSpan.FromMilliseconds(10)) ?? DefaultSourceTimeout,
                sourceType.ParseOptions(map, errors)));
        }

        return result;
    }

    /// <summary>
    /// Credentials in a source's <c>uri</c> or <c>url</c> (<c>tcp://user:pass@host:port</c>): an inline secret, reported
    /// without the value. The entry is then not handed to its type, which would echo an address it rejects.
    /// </summary>
    private static bool HasCredentialsInAddress(YamlMap map, ConfigErrors errors)
    {
        foreach (var key in new[] { "uri", "url" })
        {
            if (map.ValueNode(key) is YamlScalarNode { Value: { } text } node && YamlMap.HasUserInfo(text))
            {
                errors.Add(node, $"{map.Child(key)}: {YamlMap.UserInfoNotAllowed}");
                return true;
            }
        }

        return false;
    }

    private static List<TunnelConfig> ParseTunnels(YamlMap root, List<string> sources, ConfigErrors errors)
    {
        var result = new List<TunnelConfig>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var items = root.Sequence("tunnels");
        for (var i = 0; i < items.Count; i++)
        {
            var path = $"tunnels[{i}]";
            var map = YamlMap.From(items[i], path, errors, TunnelKeys);
            if (map is null)
            {
                errors.Add(items[i], $"{path}: expected a mapping with name, source, remote_gateway and network_pairs");
                continue;
            }

            var name = map.String("name", required: true);
            if (name is not null && !TunnelName().IsMatch(name))
            {
                // The name is a label value and a path segment (/tunnels/{name}/report).
                errors.Add(map.ValueNode("name")!, $"{path}.name: '{name}' is not a valid tunnel name (letters, digits, '.', '_' and '-', starting with a letter or digit)");
            }
            else if (name is not null && !seen.Add(name))
            {
                errors.Add(map.ValueNode("name")!, $"{path}.name: duplicate tunnel name '{name}'");
            }

            var source = map.String("source");
            if (source is null)
            {
                // One source is the common case; naming it in every tunnel would be noise.
                if (sources.Count == 1)
                {
                    source = sources[0];
                }
                else
                {
                    var why = sources.Count == 0 ? "no sources are configured: add one under 'sources'" : "needed when more than one source is configured";
                    errors.Add(map.Node, $"{path}: missing required key 'source' ({why})");
                }
            }
            else if (!sources.Contains(source, StringComparer.Ordinal))
            {
                var known = sources.Count == 0 ? "none configured" : string.Join(", ", sources);
                errors.Add(map.ValueNode("source")!, $"{path}.source: unknown source '{source}' (sources: {known})");
            }

            var remoteGateway = map.String("remote_gateway", required: true);
            if (remoteGateway is not null && remoteGateway.Contains('@', StringComparison.Ordinal))
            {
                errors.Add(map.ValueNode("remote_gateway")!, $"{path}.remote_gateway: {YamlMap.UserInfoNotAllowed}");
                remoteGateway = null;
            }
            else if (remoteGateway is not null && !HostAndPort.IsHostOrAddress(remoteGateway))
            {
                errors.Add(map.ValueNode("remote_gateway")!, $"{path}.remote_gateway: '{remoteGateway}' is neither an IP address nor a DNS name");
            }

            var pairs = ParsePairs(map, path, errors);
            var inside = ParseInside(map, path, pairs, errors);
            var partnerMap = YamlMap.From(map.ValueNode("partner"), $"{path}.partner", errors, PartnerKeys);
            var expectMap = YamlMap.From(map.ValueNode("expect"), $"{path}.expect", errors, ExpectKeys);

            result.Add(new TunnelConfig(
                name ?? "",
                map.String("description"),
                partnerMap is null ? NoPartner : new PartnerConfig(partnerMap.String("name"), partnerMap.String("contact"), partnerMap.String("location"), partnerMap.String("equipment")),
                source ?? "",
                map.String("connection") ?? name ?? "",
                map.Ip("local_gateway"),
                remoteGateway ?? "",
                pairs,
                inside,
                expectMap is null ? NoExpectations : new ExpectConfig(expectMap.Bool("pfs"), expectMap.Duration("ike_rekey", TimeSpan.FromSeconds(1)), expectMap.Duration("child_rekey", TimeSpan.FromSeconds(1)))));
        }

        return result;
    }

    private static List<NetworkPair> ParsePairs(YamlMap tunnel, string path, ConfigErrors errors)
    {
        var pairs = new List<NetworkPair>();
        var items = tunnel.Sequence("network_pairs", required: true);
        if (items.Count == 0 && tunnel.Has("network_pairs"))
        {
            errors.Add(tunnel.ValueNode("network_pairs")!, $"{path}.network_pairs: at least one network pair is required");
        }

        for (var j = 0; j < items.Count; j++)
        {
            var pairPath = $"{path}.network_pairs[{j}]";
            var pairMap = YamlMap.From(items[j], pairPath, errors, PairKeys);
            if (pairMap is null)
            {
                errors.Add(items[j], $"{pairPath}: expected {{ local: CIDR, remote: CIDR }}");
                continue;
            }

            var local = Cidr(pairMap, "local");
            var remote = Cidr(pairMap, "remote");
            if (local is null || remote is null)
            {
                continue;
            }

            if (local.Value.BaseAddress.AddressFamily != remote.Value.BaseAddress.AddressFamily)
            {
                errors.Add(pairMap.Node, $"{pairPath}: local {local} and remote {remote} are of different address families");
                continue;
            }

            var pair = new NetworkPair(local.Value, remote.Value);
            if (pairs.Contains(pair))
            {
                errors.Add(pairMap.Node, $"{pairPath}: duplicate network pair {local} <-> {remote}");
                continue;
            }

            pairs.Add(pair);
        }

        return pairs;

        IPNetwork? Cidr(YamlMap map, string key)
        {
            var text = map.String(key, required: true);
            if (text is null)
            {
                return null;
            }

            var slash = text.IndexOf('/', StringComparison.Ordinal);
            if (!IPNetwork.TryParse(text, out var network) || slash < 0)
            {
                errors.Add(map.ValueNode(key)!, $"{map.Child(key)}: invalid CIDR '{text}' (expected ADDRESS/PREFIX, e.g. 10.1.0.0/24)");
                return null;
            }

            // A pair is a network, not a host in it: 10.2.0.5/24 is almost always a typo for 10.2.0.0/24.
            if (!IPAddress.Parse(text[..slash]).Equals(network.BaseAddress))
            {
                errors.Add(map.ValueNode(key)!, $"{map.Child(key)}: invalid CIDR '{text}' (host bits are set; did you mean {network}?)");
                return null;
            }

            return network;
        }
    }

    private static InsideConfig? ParseInside(YamlMap tunnel, string path, List<NetworkPair> pairs, ConfigErrors errors)
    {
        var map = YamlMap.From(tunnel.ValueNode("inside"), $"{path}.inside", errors, InsideKeys);
        if (map is null)
        {
            return null;
        }

        var source = map.Ip("source", required: true);
        if (source is not null && pairs.Count > 0 && !pairs.Any(p => p.Local.Contains(source)))
        {
            errors.Add(map.ValueNode("source")!, $"{path}.inside.source: {source} is not inside any local network of this tunnel, so probes from it would not enter the tunnel");
        }

        var targets = new List<IPAddress>();
        var items = map.StringList("targets");
        if (items.Count == 0)
        {
            errors.Add(map.ValueNode("targets") ?? map.Node, $"{path}.inside.targets: at least one inside target address is required");
        }

        foreach (var (node, text) in items)
        {
            var target = YamlMap.ParseIp(node, $"{path}.inside.targets", text, errors);
            if (target is null)
            {
                continue;
            }

            if (pairs.Count > 0 && !pairs.Any(p => p.Remote.Contains(target)))
            {
                errors.Add(node, $"{path}.inside.targets: {target} is not inside any remote network of this tunnel");
            }
            else if (source is not null && source.AddressFamily != target.AddressFamily)
            {
                errors.Add(node, $"{path}.inside.targets: {target} is not of the same address family as inside.source {source}");
            }

            targets.Add(target);
        }

        return source is null ? null : new InsideConfig(source, targets);
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial System.Text.RegularExpressions.Regex TunnelName();
}

using IpsecExporter.Sources;
using System.Net;

namespace IpsecExporter.Configuration;

/// <summary>The whole validated configuration file. Defaults are applied by <see cref="ConfigLoader"/>.</summary>
public sealed record ExporterConfig(
    string FilePath,
    SiteConfig Site,
    IReadOnlyList<SourceConfig> Sources,
    IReadOnlyList<TunnelConfig> Tunnels,
    ProbesConfig Probes,
    DiagnosisConfig Diagnosis,
    Uri? GrafanaUrl)
{
    /// <summary>The shipped per-tunnel dashboard (uid ipsec-exporter-tunnel) for a tunnel, under <see cref="GrafanaUrl"/>'s path.</summary>
    public Uri? DashboardUrl(string tunnel) => GrafanaUrl is null
        ? null
        : new Uri(
            GrafanaUrl.AbsoluteUri.EndsWith('/') ? GrafanaUrl : new Uri(GrafanaUrl.AbsoluteUri + "/"),
            $"d/ipsec-exporter-tunnel/ipsec-tunnel?var-tunnel={Uri.EscapeDataString(tunnel)}");

    public RemoteGatewayResolutionConfig RemoteGatewayResolution { get; init; } = ConfigLoader.DefaultRemoteGatewayResolution;

    public BestPracticesConfig BestPractices { get; init; } = ConfigLoader.DefaultBestPractices;

    /// <summary>Set when this replica runs one shard (<c>--shard</c> or <c>sharding:</c>): <see cref="Tunnels"/> is then its part only.</summary>
    public ShardConfig? Shard { get; init; }

    /// <summary>How many tunnels the file describes, all shards together (meaningful when <see cref="Shard"/> is set).</summary>
    public int TunnelsInFile { get; init; }
}

public sealed record SiteConfig(
    string Name,
    string? Location,
    string? Equipment,
    IPAddress? PublicIp,
    PublicIpLookupConfig PublicIpLookup,
    IReadOnlyList<string> NtpServers)
{
    /// <summary>How often each of <see cref="NtpServers"/> is asked for the time (SNTP).</summary>
    public TimeSpan NtpInterval { get; init; } = ConfigLoader.DefaultNtpInterval;

    public TimeSpan NtpTimeout { get; init; } = ConfigLoader.DefaultNtpTimeout;

    /// <summary>Exchanges per round and server, <see cref="Site.Ntp.ClockMonitor.SampleSpacing"/> apart; the shortest delay wins.</summary>
    public int NtpSamples { get; init; } = ConfigLoader.DefaultNtpSamples;
}

public enum PublicIpLookupMethod
{
    None,
    Dns,
    Http,
}

/// <summary>Which DNS question reveals the public IP: whoami-style names that answer with the asker's address.</summary>
public enum DnsPublicIpQuery
{
    /// <summary>TXT <c>o-o.myaddr.l.google.com</c>, asked directly of Google's authoritative servers.</summary>
    GoogleTxt,

    /// <summary>A <c>myip.opendns.com</c>, asked of OpenDNS's resolvers.</summary>
    OpenDnsA,
}

/// <summary>
/// How the site's public IP is looked up. <see cref="Server"/> is <c>host</c> or <c>host:port</c> (DNS);
/// <see cref="CrossCheck"/> is an optional second lookup whose answer must agree (it shares interval and timeout).
/// </summary>
public sealed record PublicIpLookupConfig(
    PublicIpLookupMethod Method,
    string? Server,
    Uri? Url,
    TimeSpan Interval,
    TimeSpan Timeout)
{
    public DnsPublicIpQuery Query { get; init; } = DnsPublicIpQuery.GoogleTxt;

    public PublicIpLookupConfig? CrossCheck { get; init; }
}

/// <summary>Remote gateways given as DNS names are re-resolved every <see cref="Interval"/>; <see cref="Server"/> null means the system resolver.</summary>
public sealed record RemoteGatewayResolutionConfig(TimeSpan Interval, TimeSpan Timeout, string? Server);

/// <summary>Thresholds of the best-practice checks (docs/CONFIGURATION.md).</summary>
public sealed record BestPracticesConfig(
    TimeSpan MaxIkeRekey,
    TimeSpan MaxChildRekey,
    decimal TwoThirdsTolerance,
    TimeSpan MaxClockOffset,
    TimeSpan Interval);

/// <summary>
/// Where SA state comes from: the generic part of a source entry, and the options its <c>type</c> parsed (a sealed
/// record per type, see docs/SOURCES.md). Secrets are never inline: only <c>*_file</c> paths or environment variable names.
/// </summary>
public sealed record SourceConfig(string Name, string Type, TimeSpan Interval, TimeSpan Timeout, SourceOptions Options);

public sealed record TunnelConfig(
    string Name,
    string? Description,
    PartnerConfig Partner,
    string Source,
    string Connection,
    IPAddress? LocalGateway,
    string RemoteGateway,
    IReadOnlyList<NetworkPair> NetworkPairs,
    InsideConfig? Inside,
    ExpectConfig Expect);

public sealed record PartnerConfig(string? Name, string? Contact, string? Location, string? Equipment);

/// <summary>One configured Phase 2 network pair; <see cref="LocalText"/>/<see cref="RemoteText"/> are the label values.</summary>
public sealed record NetworkPair(IPNetwork Local, IPNetwork Remote)
{
    public string LocalText => Local.ToString();

    public string RemoteText => Remote.ToString();

    public PairKey Key => new(LocalText, RemoteText);
}

/// <summary>
/// A network pair as its <c>local_ts</c>/<c>remote_ts</c> labels spell it: how samples, reports and the status page
/// find the same pair again, one comparison instead of matching two strings at every site.
/// </summary>
public readonly record struct PairKey(string Local, string Remote)
{
    public override string ToString() => $"{Local} <-> {Remote}";
}

public sealed record InsideConfig(IPAddress Source, IReadOnlyList<IPAddress> Targets);

public sealed record ExpectConfig(bool? Pfs, TimeSpan? IkeRekey, TimeSpan? ChildRekey);

public sealed record ProbesConfig(TimeSpan Interval, TimeSpan Timeout)
{
    /// <summary>Upper bounds (seconds) of the RTT histograms' buckets; <see cref="Metrics.ExporterMetrics.DefaultRttBuckets"/> unless configured.</summary>
    public IReadOnlyList<double> RttBuckets { get; init; } = Metrics.ExporterMetrics.DefaultRttBuckets;
}

public sealed record DiagnosisConfig(TimeSpan Window);

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
    Uri? GrafanaUrl);

public sealed record SiteConfig(
    string Name,
    string? Location,
    string? Equipment,
    IPAddress? PublicIp,
    PublicIpLookupConfig PublicIpLookup,
    IReadOnlyList<string> NtpServers);

public enum PublicIpLookupMethod
{
    None,
    Dns,
    Http,
}

public sealed record PublicIpLookupConfig(
    PublicIpLookupMethod Method,
    string? Server,
    Uri? Url,
    TimeSpan Interval,
    TimeSpan Timeout);

/// <summary>Where SA state comes from. Secrets are never inline: only <c>*_file</c> paths or environment variable names.</summary>
public sealed record SourceConfig(
    string Name,
    string Type,
    string? Uri,
    TimeSpan Interval,
    TimeSpan Timeout,
    string? TokenFile,
    string? TokenEnv,
    string? Username,
    string? PasswordFile,
    string? PasswordEnv,
    TlsConfig Tls);

public sealed record TlsConfig(bool InsecureSkipVerify, string? CaFile, string? ServerName);

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
}

public sealed record InsideConfig(IPAddress Source, IReadOnlyList<IPAddress> Targets);

public sealed record ExpectConfig(bool? Pfs, TimeSpan? IkeRekey, TimeSpan? ChildRekey);

public sealed record ProbesConfig(TimeSpan Interval, TimeSpan Timeout);

public sealed record DiagnosisConfig(TimeSpan Window);

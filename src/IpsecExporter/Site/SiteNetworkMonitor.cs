using System.Net;
using IpsecExporter.Configuration;
using IpsecExporter.Hosting;
using IpsecExporter.Metrics;
using IpsecExporter.Site.Connectivity;
using IpsecExporter.Site.PublicIp;

namespace IpsecExporter.Site;

/// <summary>What one public IP lookup returned: an address, or why there is none.</summary>
public sealed record PublicIpLookupResult(IPAddress? Address, string? Error)
{
    public bool Succeeded => Address is not null;
}

/// <summary>
/// The site's side of the troubleshooting steps, as last checked. <see cref="PublicIp"/> is the last address the
/// primary lookup observed and is kept while lookups fail; the <c>bool?</c> comparisons are null while unknown.
/// </summary>
public sealed record SiteNetworkStatus(
    DateTimeOffset CheckedAt,
    InternetStatus Internet,
    IPAddress? PublicIp,
    PublicIpLookupResult? Lookup,
    bool? MatchesExpected,
    PublicIpLookupResult? CrossCheck,
    bool? CrossCheckMatches,
    bool? IkeLocalHostMatches);

/// <summary>
/// Verifies local Internet connectivity and looks up the site's public IP on site.public_ip_lookup.interval:
/// <c>ipsec_public_ip_*</c> metrics, changes counted, cross-checked against a second lookup and against the local
/// address of the gateway's IKE SAs. <see cref="Status"/> is the <c>internet</c> input of the diagnosis.
/// </summary>
public sealed partial class SiteNetworkMonitor : PeriodicService, IMetricsContributor
{
    private static readonly MetricLabels PrimaryLookup = MetricFamilies.PublicIpLookupLabels.Values("primary");
    private static readonly MetricLabels CrossCheckLookup = MetricFamilies.PublicIpLookupLabels.Values("cross_check");
    private static readonly MetricLabels LookupCheck = MetricFamilies.PublicIpCheckLabels.Values("lookup");
    private static readonly MetricLabels IkeLocalHostCheck = MetricFamilies.PublicIpCheckLabels.Values("ike_local_host");

    private readonly ConfigStore _config;
    private readonly PublicIpLookupRegistry _lookups;
    private readonly LocalNetworkReader _network;
    private readonly IkeLocalHostObserver _ikeLocalHosts;
    private readonly ILogger<SiteNetworkMonitor> _logger;
    private readonly SemaphoreSlim _round = new(1, 1);

    // Swapped (never changed) after each round, read by scrapes and Status without a lock.
    private volatile PublishedRound _published = new(null, null, null);

    public SiteNetworkMonitor(
        ConfigStore config,
        PublicIpLookupRegistry lookups,
        LocalNetworkReader network,
        IkeLocalHostObserver ikeLocalHosts,
        TimeProvider time,
        ILogger<SiteNetworkMonitor> logger)
        : base(time, logger)
    {
        _config = config;
        _lookups = lookups;
        _network = network;
        _ikeLocalHosts = ikeLocalHosts;
        _logger = logger;
    }

    /// <summary>Null until the first round finished.</summary>
    public SiteNetworkStatus? Status => _published.Status;

    protected override TimeSpan Interval => _config.Current.Site.PublicIpLookup.Interval;

    public override async Task CollectOnceAsync(CancellationToken cancellationToken)
    {
        await _round.WaitAsync(cancellationToken);
        try
        {
            var site = _config.Current.Site;
            var lookup = site.PublicIpLookup;
            var configured = lookup.Method != PublicIpLookupMethod.None;
            var primaryTask = configured ? LookupAsync(lookup, cancellationToken) : null;
            var crossCheckTask = configured && lookup.CrossCheck is { } crossCheckConfig ? LookupAsync(crossCheckConfig, cancellationToken) : null;
            var facts = _network.Read();
            var primary = primaryTask is null ? null : await primaryTask;
            var crossCheck = crossCheckTask is null ? null : await crossCheckTask;

            var previous = Status;
            var address = primary?.Address ?? (configured ? previous?.PublicIp : null);
            var crossCheckMatches = primary is { Succeeded: true } && crossCheck is { Succeeded: true } ? crossCheck.Address!.Equals(primary.Address) : (bool?)null;
            var ikeLocalHostMatches = CompareWithIkeLocalHosts(address);
            var lookupError = primary is null || primary.Succeeded || crossCheck is { Succeeded: true }
                ? null
                : crossCheck is null ? primary.Error : $"{primary.Error}; cross-check: {crossCheck.Error}";
            var status = new SiteNetworkStatus(
                Time.GetUtcNow(),
                InternetConnectivity.Evaluate(facts, configured, lookupError),
                address,
                primary,
                site.PublicIp is null || address is null ? null : address.Equals(site.PublicIp),
                crossCheck,
                crossCheckMatches,
                ikeLocalHostMatches);

            Publish(status, previous);
            LogTransitions(status, previous);
        }
        finally
        {
            _round.Release();
        }
    }

    private async Task<PublicIpLookupResult> LookupAsync(PublicIpLookupConfig lookup, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(lookup.Timeout, Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var address = await _lookups.Get(lookup.Method).LookupAsync(lookup, linked.Token);
            return new PublicIpLookupResult(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, null);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new PublicIpLookupResult(null, $"{Describe(lookup)} timed out after {DurationParser.Format(lookup.Timeout)}");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new PublicIpLookupResult(null, $"{Describe(lookup)}: {e.Message}");
        }
    }

    private static string Describe(PublicIpLookupConfig lookup) => lookup.Method == PublicIpLookupMethod.Dns
        ? $"DNS lookup at {lookup.Server}"
        : $"HTTP lookup at {lookup.Url?.GetLeftPart(UriPartial.Path)}";

    private bool? CompareWithIkeLocalHosts(IPAddress? address)
    {
        if (address is null)
        {
            return null;
        }

        var sameFamily = _ikeLocalHosts.PublicLocalHosts.Where(h => h.AddressFamily == address.AddressFamily).ToList();
        return sameFamily.Count == 0 ? null : sameFamily.Contains(address);
    }

    /// <summary>
    /// Swaps in what the metrics show after a round. The changes counter lives here, not in the status: it counts on
    /// across reloads and rounds without a lookup (counters never go backwards), and is exported from the first round
    /// with a lookup configured.
    /// </summary>
    private void Publish(SiteNetworkStatus status, SiteNetworkStatus? previous)
    {
        var last = _published;
        var changes = status.Lookup is null ? last.Changes : last.Changes ?? 0;
        if (status.Lookup is not null && previous?.PublicIp is { } old && status.PublicIp is { } address && !old.Equals(address))
        {
            changes++;
        }

        var addressSeries = status.Lookup is null || status.PublicIp is not { } observed ? null
            : last.Address is { } kept && kept.Address.Equals(observed) ? kept
            : new AddressSeries(observed, MetricFamilies.PublicIpInfo.Labels.Values(observed.ToString()));
        _published = new PublishedRound(status, changes, addressSeries);
    }

    /// <summary>
    /// Writes the <c>ipsec_public_ip_*</c> families from the last round: without a lookup configured only the changes
    /// counter (once it was exported), and every comparison only while known.
    /// </summary>
    public ValueTask WriteAsync(MetricsWriter writer, CancellationToken cancellationToken)
    {
        var (status, changes, address) = _published;
        var observed = status?.Lookup is null ? null : status;
        writer.Family(MetricFamilies.PublicIpInfo);
        if (address is not null)
        {
            writer.Sample(address.Labels, 1);
        }

        writer.Family(MetricFamilies.PublicIpMatchesExpected);
        if (observed?.MatchesExpected is { } matches)
        {
            writer.Sample(MetricFamilies.Unlabelled, matches ? 1 : 0);
        }

        writer.Family(MetricFamilies.PublicIpChanges);
        if (changes is { } count)
        {
            writer.Sample(MetricFamilies.Unlabelled, count);
        }

        writer.Family(MetricFamilies.PublicIpLookupSuccess);
        if (observed is not null)
        {
            writer.Sample(PrimaryLookup, observed.Lookup!.Succeeded ? 1 : 0);
            if (observed.CrossCheck is { } crossCheck)
            {
                writer.Sample(CrossCheckLookup, crossCheck.Succeeded ? 1 : 0);
            }
        }

        writer.Family(MetricFamilies.PublicIpCrossCheckMatches);
        if (observed?.CrossCheckMatches is { } crossCheckMatches)
        {
            writer.Sample(LookupCheck, crossCheckMatches ? 1 : 0);
        }

        if (observed?.IkeLocalHostMatches is { } ikeLocalHostMatches)
        {
            writer.Sample(IkeLocalHostCheck, ikeLocalHostMatches ? 1 : 0);
        }

        // A handful of series: they never fill a chunk.
        return ValueTask.CompletedTask;
    }

    private void LogTransitions(SiteNetworkStatus status, SiteNetworkStatus? previous)
    {
        if (status.Internet.Up != previous?.Internet.Up || (!status.Internet.Up && status.Internet.Reason != previous.Internet.Reason))
        {
            if (status.Internet.Up)
            {
                LogInternetUp(_logger, status.Internet.Reason);
            }
            else
            {
                LogInternetDown(_logger, status.Internet.Reason);
            }
        }

        if (previous?.PublicIp is { } old && status.PublicIp is { } current && !old.Equals(current))
        {
            LogPublicIpChanged(_logger, old, current);
        }

        if (status.CrossCheckMatches == false && previous?.CrossCheckMatches != false)
        {
            LogCrossCheckDisagrees(_logger, status.PublicIp!, status.CrossCheck!.Address!);
        }

        if (status.IkeLocalHostMatches == false && previous?.IkeLocalHostMatches != false)
        {
            LogIkeLocalHostDisagrees(_logger, status.PublicIp!, string.Join(", ", _ikeLocalHosts.PublicLocalHosts));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Internet connectivity: {Reason}")]
    private static partial void LogInternetUp(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No Internet connectivity: {Reason}")]
    private static partial void LogInternetDown(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The public IP address of this site changed from {Old} to {New}")]
    private static partial void LogPublicIpChanged(ILogger logger, IPAddress old, IPAddress @new);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Public IP lookups disagree: the primary lookup sees {Primary}, the cross-check sees {CrossCheck}")]
    private static partial void LogCrossCheckDisagrees(ILogger logger, IPAddress primary, IPAddress crossCheck);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The public IP {PublicIp} is not the local address of any IKE SA ({LocalHosts})")]
    private static partial void LogIkeLocalHostDisagrees(ILogger logger, IPAddress publicIp, string localHosts);

    /// <summary>The observed address with its series' labels, kept while the address stays.</summary>
    private sealed record AddressSeries(IPAddress Address, MetricLabels Labels);

    /// <summary>What the metrics show: the last round's status, the changes so far (null until a lookup ran), the address series.</summary>
    private sealed record PublishedRound(SiteNetworkStatus? Status, long? Changes, AddressSeries? Address);
}

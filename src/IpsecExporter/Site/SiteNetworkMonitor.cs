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
public sealed partial class SiteNetworkMonitor : PeriodicService
{
    private const string PrimaryLookup = "primary";
    private const string CrossCheckLookup = "cross_check";
    private const string LookupCheck = "lookup";
    private const string IkeLocalHostCheck = "ike_local_host";

    private readonly ConfigStore _config;
    private readonly PublicIpLookupRegistry _lookups;
    private readonly LocalNetworkReader _network;
    private readonly IkeLocalHostObserver _ikeLocalHosts;
    private readonly ExporterMetrics _metrics;
    private readonly ILogger<SiteNetworkMonitor> _logger;
    private readonly SemaphoreSlim _round = new(1, 1);

    public SiteNetworkMonitor(
        ConfigStore config,
        PublicIpLookupRegistry lookups,
        LocalNetworkReader network,
        IkeLocalHostObserver ikeLocalHosts,
        ExporterMetrics metrics,
        TimeProvider time,
        ILogger<SiteNetworkMonitor> logger)
        : base(time, logger)
    {
        _config = config;
        _lookups = lookups;
        _network = network;
        _ikeLocalHosts = ikeLocalHosts;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>Null until the first round finished.</summary>
    public SiteNetworkStatus? Status { get; private set; }

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
            Status = status;
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

    private void Publish(SiteNetworkStatus status, SiteNetworkStatus? previous)
    {
        if (status.Lookup is null)
        {
            // No lookup configured (any more): nothing observed. The changes counter stays: counters never go backwards.
            RemoveAll(_metrics.PublicIpInfo);
            RemoveAll(_metrics.PublicIpLookupSuccess);
            RemoveAll(_metrics.PublicIpCrossCheckMatches);
            _metrics.PublicIpMatchesExpected.Unpublish();
            return;
        }

        _metrics.PublicIpChanges.Publish();
        _metrics.PublicIpLookupSuccess.WithLabels(PrimaryLookup).Set(status.Lookup.Succeeded ? 1 : 0);
        if (status.PublicIp is { } address)
        {
            var text = address.ToString();
            if (previous?.PublicIp is { } old && !old.Equals(address))
            {
                _metrics.PublicIpChanges.Inc();
            }

            foreach (var labels in _metrics.PublicIpInfo.GetAllLabelValues().Where(l => l[0] != text).ToList())
            {
                _metrics.PublicIpInfo.RemoveLabelled(labels);
            }

            _metrics.PublicIpInfo.WithLabels(text).Set(1);
        }

        SetOrUnpublish(_metrics.PublicIpMatchesExpected, status.MatchesExpected);
        if (status.CrossCheck is null)
        {
            _metrics.PublicIpLookupSuccess.RemoveLabelled(CrossCheckLookup);
        }
        else
        {
            _metrics.PublicIpLookupSuccess.WithLabels(CrossCheckLookup).Set(status.CrossCheck.Succeeded ? 1 : 0);
        }

        SetOrRemove(_metrics.PublicIpCrossCheckMatches, LookupCheck, status.CrossCheckMatches);
        SetOrRemove(_metrics.PublicIpCrossCheckMatches, IkeLocalHostCheck, status.IkeLocalHostMatches);
    }

    private static void SetOrUnpublish(Prometheus.Gauge gauge, bool? value)
    {
        if (value is { } known)
        {
            gauge.Set(known ? 1 : 0);
            gauge.Publish();
        }
        else
        {
            gauge.Unpublish();
        }
    }

    private static void SetOrRemove(Prometheus.Gauge gauge, string label, bool? value)
    {
        if (value is { } known)
        {
            gauge.WithLabels(label).Set(known ? 1 : 0);
        }
        else
        {
            gauge.RemoveLabelled(label);
        }
    }

    private static void RemoveAll(Prometheus.Gauge gauge)
    {
        foreach (var labels in gauge.GetAllLabelValues().ToList())
        {
            gauge.RemoveLabelled(labels);
        }
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
}

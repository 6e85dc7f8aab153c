using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using DnsClient;
using IpsecExporter.Configuration;
using IpsecExporter.Hosting;
using IpsecExporter.Metrics;
using IpsecExporter.Site.Dns;

namespace IpsecExporter.Site.Gateways;

/// <summary>Where a tunnel's remote gateway is, as last resolved. <see cref="Error"/> is the last failure (the address is kept).</summary>
public sealed record GatewayAddressStatus(string RemoteGateway, IPAddress? Address, DateTimeOffset? ResolvedAt, string? Error);

/// <summary>
/// Re-resolves remote gateways given as DNS names every remote_gateway_resolution.interval (dynamic DNS): writes
/// <c>ipsec_remote_gateway_*</c> at scrape time, counts changes, and tells probes through <see cref="IGatewayAddressProvider"/>.
/// The current address sticks while the name still resolves to it, so round-robin answers are not changes. A failed
/// resolution keeps the last address: the gateway is more likely still there than gone.
/// </summary>
public sealed partial class RemoteGatewayResolver : PeriodicService, IGatewayAddressProvider, IMetricsContributor
{
    private readonly ConfigStore _config;
    private readonly ILogger<RemoteGatewayResolver> _logger;
    private readonly ConcurrentDictionary<string, GatewayAddressStatus> _statuses = new(StringComparer.Ordinal);

    // Per tunnel, what the metrics show: replaced whole under _update, read by scrapes without it. It outlives an
    // edit of remote_gateway (the change counter goes on), not the tunnel.
    private readonly ConcurrentDictionary<string, GatewaySeries> _series = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _round = new(1, 1);
    private readonly Lock _update = new();

    public RemoteGatewayResolver(ConfigStore config, TimeProvider time, ILogger<RemoteGatewayResolver> logger)
        : base(time, logger)
    {
        _config = config;
        _logger = logger;
        ApplyLiterals(config.Current);
        config.OnChanged(ConfigStage.SiteChecks, nameof(RemoteGatewayResolver), (_, next) => OnReloaded(next));
    }

    public event Action<GatewayAddressChange>? AddressChanged;

    public IReadOnlyDictionary<string, GatewayAddressStatus> Statuses => _statuses;

    protected override TimeSpan Interval => _config.Current.RemoteGatewayResolution.Interval;

    public IPAddress? GetAddress(string tunnel) => _statuses.GetValueOrDefault(tunnel)?.Address;

    /// <summary>Resolves every remote gateway given as a DNS name, concurrently.</summary>
    public override async Task CollectOnceAsync(CancellationToken cancellationToken)
    {
        await _round.WaitAsync(cancellationToken);
        try
        {
            var config = _config.Current;
            var names = config.Tunnels.Where(t => !IPAddress.TryParse(t.RemoteGateway, out _)).ToList();
            var results = await Task.WhenAll(names.Select(t => ResolveAsync(t, config, cancellationToken)));
            for (var i = 0; i < names.Count; i++)
            {
                var (addresses, error) = results[i];
                lock (_update)
                {
                    // A reload during the round may have removed the tunnel or given it another gateway.
                    if (!_config.Current.Tunnels.Any(t => t.Name == names[i].Name && t.RemoteGateway == names[i].RemoteGateway))
                    {
                        continue;
                    }

                    var current = GetAddress(names[i].Name);
                    var chosen = addresses.Count == 0 ? null : current is not null && addresses.Contains(current) ? current : addresses[0];
                    Update(names[i], chosen, error);
                }
            }
        }
        finally
        {
            _round.Release();
        }
    }

    /// <summary>Tunnels whose gateway is an IP need no resolution: known at once, and at once after a reload.</summary>
    private void ApplyLiterals(ExporterConfig config)
    {
        lock (_update)
        {
            ApplyLiteralsLocked(config);
        }
    }

    private void ApplyLiteralsLocked(ExporterConfig config)
    {
        var configured = config.Tunnels.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var tunnel in _statuses.Keys.Concat(_series.Keys).Where(t => !configured.Contains(t)).ToList())
        {
            _statuses.TryRemove(tunnel, out _);
            _series.TryRemove(tunnel, out _);
        }

        // An edited remote_gateway is a new gateway, not an address change: start over for it.
        foreach (var tunnel in config.Tunnels.Where(t => _statuses.TryGetValue(t.Name, out var status) && status.RemoteGateway != t.RemoteGateway))
        {
            _statuses.TryRemove(tunnel.Name, out _);
        }

        foreach (var tunnel in config.Tunnels)
        {
            if (IPAddress.TryParse(tunnel.RemoteGateway, out var literal))
            {
                Update(tunnel, literal, null);
            }
            else
            {
                // Unresolved yet: only the change counter, at 0.
                _series.TryAdd(tunnel.Name, GatewaySeries.Of(tunnel.Name));
            }
        }
    }

    private async Task<(IReadOnlyList<IPAddress> Addresses, string? Error)> ResolveAsync(TunnelConfig tunnel, ExporterConfig config, CancellationToken cancellationToken)
    {
        var resolution = config.RemoteGatewayResolution;
        using var timeout = new CancellationTokenSource(resolution.Timeout, Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var family = (tunnel.LocalGateway ?? config.Site.PublicIp)?.AddressFamily;
        try
        {
            var addresses = resolution.Server is { } server && HostAndPort.TryParse(server, out var endpoint)
                ? await QueryServerAsync(endpoint, tunnel.RemoteGateway, family, resolution.Timeout, linked.Token)
                : await QuerySystemResolverAsync(tunnel.RemoteGateway, family, linked.Token);
            return addresses.Count > 0 ? (addresses, null) : ([], $"{tunnel.RemoteGateway} resolved to no {FamilyName(family)} address");
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return ([], $"resolving {tunnel.RemoteGateway} timed out after {DurationParser.Format(resolution.Timeout)}");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return ([], $"resolving {tunnel.RemoteGateway} failed: {e.Message}");
        }
    }

    /// <summary>A and AAAA from the configured server; the family of this end's address first, IPv4 first otherwise.</summary>
    private static async Task<IReadOnlyList<IPAddress>> QueryServerAsync(HostAndPort server, string name, AddressFamily? family, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var addresses = new List<IPAddress>();
        if (family != AddressFamily.InterNetworkV6)
        {
            var response = await DnsServerQuery.QueryAsync(server, name, QueryType.A, timeout, cancellationToken);
            addresses.AddRange(response.Answers.ARecords().Select(r => r.Address));
        }

        if (family != AddressFamily.InterNetwork && addresses.Count == 0)
        {
            var response = await DnsServerQuery.QueryAsync(server, name, QueryType.AAAA, timeout, cancellationToken);
            addresses.AddRange(response.Answers.AaaaRecords().Select(r => r.Address));
        }

        return addresses;
    }

    /// <summary>The system resolver, as the gateway's own IKE daemon would resolve the name (/etc/hosts included).</summary>
    private static async Task<IReadOnlyList<IPAddress>> QuerySystemResolverAsync(string name, AddressFamily? family, CancellationToken cancellationToken)
    {
        var addresses = await System.Net.Dns.GetHostAddressesAsync(name, family ?? AddressFamily.Unspecified, cancellationToken);
        return addresses.OrderBy(a => a.AddressFamily == AddressFamily.InterNetwork ? 0 : 1).ToList();
    }

    private static string FamilyName(AddressFamily? family) => family switch
    {
        AddressFamily.InterNetwork => "IPv4",
        AddressFamily.InterNetworkV6 => "IPv6",
        _ => "IPv4 or IPv6",
    };

    /// <summary>Records a resolution (<paramref name="address"/>) or a failure (<paramref name="error"/>) for one tunnel; under <see cref="_update"/>.</summary>
    private void Update(TunnelConfig tunnel, IPAddress? address, string? error)
    {
        var now = Time.GetUtcNow();
        var previous = _statuses.GetValueOrDefault(tunnel.Name);
        var series = (_series.GetValueOrDefault(tunnel.Name) ?? GatewaySeries.Of(tunnel.Name)) with { Resolved = address is not null };
        _series[tunnel.Name] = series;
        if (address is null)
        {
            _statuses[tunnel.Name] = new GatewayAddressStatus(tunnel.RemoteGateway, previous?.Address, previous?.ResolvedAt, error);
            if (previous?.Error != error)
            {
                LogResolutionFailed(_logger, tunnel.Name, error ?? "no address", previous?.Address?.ToString() ?? "none");
            }

            return;
        }

        _statuses[tunnel.Name] = new GatewayAddressStatus(tunnel.RemoteGateway, address, now, null);
        if (address.Equals(previous?.Address))
        {
            return;
        }

        var moved = previous?.Address is not null;
        _series[tunnel.Name] = series with
        {
            Address = MetricFamilies.GatewayAddressLabels.Values(tunnel.Name, address.ToString()),
            Changes = series.Changes + (moved ? 1 : 0),
        };
        if (moved)
        {
            LogAddressChanged(_logger, tunnel.Name, tunnel.RemoteGateway, previous!.Address!, address);
        }

        AddressChanged?.Invoke(new GatewayAddressChange(tunnel.Name, previous?.Address, address));
    }

    private void OnReloaded(ExporterConfig next)
    {
        ApplyLiterals(next);
        // New or edited DNS names are resolved now, so their probes start without waiting for the next round.
        if (next.Tunnels.Any(t => !_statuses.ContainsKey(t.Name)))
        {
            _ = ResolveNowAsync();
        }
    }

    private async Task ResolveNowAsync()
    {
        try
        {
            await CollectOnceAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogResolveNowFailed(_logger, e);
        }
    }

    /// <summary>Writes the <c>ipsec_remote_gateway_*</c> families of the configured tunnels, in configuration order; takes no lock.</summary>
    public async ValueTask WriteAsync(MetricsWriter writer, CancellationToken cancellationToken)
    {
        var tunnels = _config.Current.Tunnels;
        var series = new GatewaySeries?[tunnels.Count];
        for (var i = 0; i < series.Length; i++)
        {
            series[i] = _series.GetValueOrDefault(tunnels[i].Name);
        }

        writer.Family(MetricFamilies.RemoteGatewayAddressInfo);
        foreach (var gateway in series)
        {
            if (gateway?.Address is { } address)
            {
                writer.Sample(address, 1);
                await writer.FlushIfFullAsync(cancellationToken);
            }
        }

        writer.Family(MetricFamilies.RemoteGatewayResolutionSuccess);
        foreach (var gateway in series)
        {
            if (gateway?.Resolved is { } resolved)
            {
                writer.Sample(gateway.Tunnel, resolved ? 1 : 0);
                await writer.FlushIfFullAsync(cancellationToken);
            }
        }

        writer.Family(MetricFamilies.RemoteGatewayAddressChanges);
        foreach (var gateway in series)
        {
            if (gateway is not null)
            {
                writer.Sample(gateway.Tunnel, gateway.Changes);
                await writer.FlushIfFullAsync(cancellationToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Resolving remote gateways after a configuration reload failed; the next round retries")]
    private static partial void LogResolveNowFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Remote gateway of tunnel {Tunnel} ({Name}) moved from {Old} to {New}")]
    private static partial void LogAddressChanged(ILogger logger, string tunnel, string name, IPAddress old, IPAddress @new);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Remote gateway of tunnel {Tunnel}: {Error}; keeping the last address ({Address})")]
    private static partial void LogResolutionFailed(ILogger logger, string tunnel, string error, string address);

    /// <summary>One tunnel's gateway series: the address last resolved, whether the last try resolved (null before one), changes.</summary>
    private sealed record GatewaySeries(MetricLabels Tunnel, MetricLabels? Address, bool? Resolved, long Changes)
    {
        public static GatewaySeries Of(string tunnel) => new(MetricFamilies.TunnelLabels.Values(tunnel), null, null, 0);
    }
}

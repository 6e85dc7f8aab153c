using System.Net;
using System.Net.Sockets;

namespace IpsecExporter.Probes;

/// <summary>
/// Resolves remote gateways with the system resolver (<see cref="Dns.GetHostAddressesAsync(string, CancellationToken)"/>)
/// and re-resolves each name every <see cref="RefreshInterval"/> (sooner after a failure), so a gateway that moves
/// to a new address is followed. The first address returned is probed.
/// </summary>
public sealed partial class DnsGatewayAddressProvider : IGatewayAddressProvider, IDisposable
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(10);

    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _resolve;
    private readonly TimeProvider _time;
    private readonly ILogger<DnsGatewayAddressProvider> _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.OrdinalIgnoreCase);
    private readonly CancellationTokenSource _stopping = new();

    public DnsGatewayAddressProvider(TimeProvider time, ILogger<DnsGatewayAddressProvider> logger)
        : this(Dns.GetHostAddressesAsync, time, logger)
    {
    }

    /// <summary>Resolves with <paramref name="resolve"/> instead of the system resolver.</summary>
    public DnsGatewayAddressProvider(Func<string, CancellationToken, Task<IPAddress[]>> resolve, TimeProvider time, ILogger<DnsGatewayAddressProvider> logger)
    {
        _resolve = resolve;
        _time = time;
        _logger = logger;
    }

    public ValueTask<GatewayAddress> GetAddressAsync(string remoteGateway, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(remoteGateway, out var literal))
        {
            return ValueTask.FromResult(new GatewayAddress(literal, null));
        }

        Task<GatewayAddress> first;
        lock (_lock)
        {
            if (!_entries.TryGetValue(remoteGateway, out var entry))
            {
                entry = new Entry();
                _entries[remoteGateway] = entry;
            }

            if (entry.Resolving is null && (entry.Current is not { } known || _time.GetUtcNow() - entry.ResolvedAt >= (known.Error is null ? RefreshInterval : RetryInterval)))
            {
                entry.Resolving = ResolveAsync(remoteGateway, entry);
            }

            if (entry.Current is { } current)
            {
                return ValueTask.FromResult(current);
            }

            first = entry.Resolving!;
        }

        return new ValueTask<GatewayAddress>(first.WaitAsync(cancellationToken));
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private async Task<GatewayAddress> ResolveAsync(string name, Entry entry)
    {
        // Leave the caller's lock before the resolver runs, even if it completes synchronously.
        await Task.Yield();
        IPAddress? address = null;
        string? error;
        try
        {
            using var timeout = new CancellationTokenSource(ResolveTimeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _stopping.Token);
            var addresses = await _resolve(name, linked.Token);
            address = addresses.FirstOrDefault();
            error = address is null ? "the name has no addresses" : null;
        }
        catch (SocketException e)
        {
            error = e.Message;
        }
        catch (OperationCanceledException)
        {
            error = $"no answer within {ResolveTimeout.TotalSeconds:0} s";
        }

        lock (_lock)
        {
            var previous = entry.Current;
            GatewayAddress next;
            if (error is null)
            {
                next = new GatewayAddress(address, null);
                if (previous?.Address is { } old && !old.Equals(address))
                {
                    LogAddressChanged(_logger, name, old, address!);
                }
                else if (previous?.Error is not null)
                {
                    LogResolved(_logger, name, address!);
                }
            }
            else
            {
                next = new GatewayAddress(previous?.Address, $"cannot resolve {name}: {error}");
                if (previous?.Error != next.Error && previous?.Address is { } last)
                {
                    LogResolveFailedKeeping(_logger, name, error, last);
                }
                else if (previous?.Error != next.Error)
                {
                    LogResolveFailed(_logger, name, error);
                }
            }

            entry.Current = next;
            entry.ResolvedAt = _time.GetUtcNow();
            entry.Resolving = null;
            return next;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot resolve remote gateway {Name}: {Error}; probing the last known address {Address} until it resolves")]
    private static partial void LogResolveFailedKeeping(ILogger logger, string name, string error, IPAddress address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot resolve remote gateway {Name}: {Error}; it is not probed until it resolves")]
    private static partial void LogResolveFailed(ILogger logger, string name, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Remote gateway {Name} resolves to {Address} again")]
    private static partial void LogResolved(ILogger logger, string name, IPAddress address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Remote gateway {Name} moved from {Old} to {New}")]
    private static partial void LogAddressChanged(ILogger logger, string name, IPAddress old, IPAddress @new);

    private sealed class Entry
    {
        public GatewayAddress? Current { get; set; }

        public DateTimeOffset ResolvedAt { get; set; }

        public Task<GatewayAddress>? Resolving { get; set; }
    }
}

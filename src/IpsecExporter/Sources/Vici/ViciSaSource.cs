using System.Collections.Concurrent;

namespace IpsecExporter.Sources.Vici;

/// <summary>
/// Reads SA state from a strongSwan charon over VICI. Each collection sends <c>stats</c> and <c>list-sas</c> (and
/// <c>list-conns</c> every <see cref="ConnectionsEvery"/> collections) on one command connection (kept open between
/// collections, replaced after any error, reconnected with backoff); a second connection listens for SA life-cycle events whose final counters ride along in the next
/// snapshot. Only read-only commands are ever sent.
/// </summary>
public sealed partial class ViciSaSource : ISaSource, IEventStreamSource
{
    /// <summary>At most this many SA changes from events wait for the next collection (the oldest are dropped).</summary>
    public const int MaxQueuedChanges = 10_000;

    /// <summary>
    /// <c>list-conns</c> is asked on every this many collections (and after every reconnect): loaded connections change
    /// only on a reload of swanctl.conf, and on a hub the answer is as large as <c>list-sas</c>'s.
    /// </summary>
    public const int ConnectionsEvery = 12;

    private readonly ViciEndpoint _endpoint;
    private readonly ViciCollectionLimits _limits;
    private readonly TimeProvider _time;
    private readonly TimeSpan _readTimeout;
    private readonly ILogger<ViciSaSource> _logger;
    private readonly ReconnectBackoff _backoff;
    private readonly ViciEventListener _events;
    private readonly ConcurrentQueue<ChildSaChange> _childChanges = new();
    private readonly ConcurrentQueue<IkeSaChange> _ikeChanges = new();
    private ViciConnection? _connection;
    private ViciSection? _version;
    private SourceEpoch? _epoch;
    private IReadOnlyList<ConnectionInfo>? _connections;
    private int _collectionsSinceConnections;
    private int _lastIkeSas;
    private string? _lastConnectError;

    public ViciSaSource(ViciEndpoint endpoint, TimeSpan readTimeout, TimeProvider time, ILogger<ViciSaSource> logger, ViciCollectionLimits? limits = null)
    {
        _endpoint = endpoint;
        _limits = limits ?? ViciCollectionLimits.Default;
        _time = time;
        _readTimeout = readTimeout;
        _logger = logger;
        _backoff = new ReconnectBackoff(time);
        _events = new ViciEventListener(endpoint, time, readTimeout, OnEvent, logger);
    }

    /// <summary>True while the event connection is registered; events before that are not seen.</summary>
    public bool EventsRegistered => _events.IsRegistered;

    bool IEventStreamSource.EventsConnected => EventsRegistered;

    public async Task<SaSnapshot> CollectAsync(CancellationToken cancellationToken)
    {
        _events.Start();
        var connection = await ConnectAsync(cancellationToken);
        SaSnapshot snapshot;
        try
        {
            var known = _collectionsSinceConnections < ConnectionsEvery ? _connections : null;
            snapshot = await QueryAsync(connection, _version!, _epoch, known, _time, cancellationToken, _limits, _lastIkeSas);
            _epoch = snapshot.Epoch;
            _lastIkeSas = snapshot.IkeSas.Count;
            _collectionsSinceConnections = known is null ? 1 : _collectionsSinceConnections + 1;
            _connections = snapshot.Connections;
        }
        catch
        {
            await DropConnectionAsync();
            throw;
        }

        return snapshot with { ChildSaChanges = Drain(_childChanges), IkeSaChanges = Drain(_ikeChanges) };
    }

    /// <summary>
    /// One collection's read-only commands on an open connection (<c>stats</c>, <c>list-sas</c>, <c>list-conns</c>),
    /// translated into a snapshot stamped when the answers were complete. <paramref name="version"/> is the connection's
    /// <c>version</c> answer, <paramref name="epoch"/> the daemon run the previous collection saw;
    /// <paramref name="knownConnections"/>, when given, stands in for <c>list-conns</c>, which is then not asked. All
    /// answers together stay within <paramref name="limits"/> (default <see cref="ViciCollectionLimits.Default"/>).
    /// <paramref name="expectedIkeSas"/> (the previous answer's count) sizes the list of IKE SAs: grown from empty, at
    /// 10,000 it was a large-object array per collection.
    /// </summary>
    public static async Task<SaSnapshot> QueryAsync(
        ViciConnection connection,
        ViciSection version,
        SourceEpoch? epoch,
        IReadOnlyList<ConnectionInfo>? knownConnections,
        TimeProvider time,
        CancellationToken cancellationToken,
        ViciCollectionLimits? limits = null,
        int expectedIkeSas = 0)
    {
        var budget = new ViciAnswerBudget(limits ?? ViciCollectionLimits.Default);
        var stats = await connection.CallAsync("stats", null, cancellationToken, budget);
        // noblock: list IKE SAs that are busy (e.g. mid-rekey) instead of waiting for them.
        // Each event is mapped as it arrives: its message tree is garbage before the next one is read.
        var ikeSas = new List<IkeSa>(expectedIkeSas);
        await connection.CallStreamedAsync("list-sas", "list-sa", new ViciSection().Add("noblock", "yes"), message => ViciSaMapper.MapListSa(message, ikeSas), cancellationToken, budget);
        var connections = knownConnections ?? ViciSaMapper.MapListConns(await connection.CallStreamedAsync("list-conns", "list-conn", null, cancellationToken, budget));
        return new SaSnapshot(time.GetUtcNow(), ikeSas)
        {
            Connections = connections,
            Epoch = ViciSaMapper.MapEpoch(version, stats, epoch),
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _events.DisposeAsync();
        await DropConnectionAsync();
    }

    private static List<T> Drain<T>(ConcurrentQueue<T> queue)
    {
        var items = new List<T>();
        while (queue.TryDequeue(out var item))
        {
            items.Add(item);
        }

        return items;
    }

    private async Task<ViciConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        if (_connection is { IsBroken: false })
        {
            return _connection;
        }

        // Until the backoff has passed, fail with the last connect error unchanged: the collector logs changes only.
        if (_backoff.MustWait() && _lastConnectError is not null)
        {
            throw new IOException(_lastConnectError);
        }

        ViciConnection? connection = null;
        try
        {
            connection = await ViciConnection.ConnectAsync(_endpoint, _time, _readTimeout, cancellationToken);
            _version = await connection.CallAsync("version", null, cancellationToken);
        }
        catch (Exception e)
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }

            if (e is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            _backoff.Failed();
            _lastConnectError = $"cannot talk to charon at {_endpoint}: {ViciEndpoint.Explain(e)}";
            throw new IOException(_lastConnectError, e);
        }

        _backoff.Succeeded();
        _lastConnectError = null;
        _connection = connection;
        // A new connection may be a restarted charon with other connections loaded.
        _connections = null;
        var daemon = ViciSaMapper.MapEpoch(_version, null, null);
        LogConnected(_logger, _endpoint.Text, daemon.Name, daemon.Version);
        return connection;
    }

    private async Task DropConnectionAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
            _connection = null;
        }
    }

    private void OnEvent(ViciPacket packet, DateTimeOffset at)
    {
        var (children, ikes) = ViciSaMapper.MapEvent(packet, at);
        Enqueue(_childChanges, children);
        Enqueue(_ikeChanges, ikes);
    }

    private static void Enqueue<T>(ConcurrentQueue<T> queue, List<T> items)
    {
        foreach (var item in items)
        {
            queue.Enqueue(item);
        }

        // Collections drain the queues; this only bounds memory while they keep failing.
        while (queue.Count > MaxQueuedChanges && queue.TryDequeue(out _))
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to {Daemon} {Version} over VICI at {Uri}")]
    private static partial void LogConnected(ILogger logger, string uri, string daemon, string version);
}

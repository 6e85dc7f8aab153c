namespace IpsecExporter.Sources.Vici;

/// <summary>
/// Keeps a second VICI connection registered for the SA life-cycle events (<c>ike-updown</c>, <c>child-updown</c>,
/// <c>ike-rekey</c>, <c>child-rekey</c>) and hands every event to <c>onEvent</c> with the time it arrived. These
/// events carry the last counters of a CHILD SA that is replaced or deleted, which a poll would miss. Reconnects with
/// <see cref="ReconnectBackoff"/> when charon goes away; while it is disconnected, events are lost and the tunnel model
/// falls back to the last polled counters.
/// </summary>
public sealed partial class ViciEventListener : IAsyncDisposable
{
    public static readonly IReadOnlyList<string> Events = [ViciSaMapper.IkeUpDown, ViciSaMapper.ChildUpDown, ViciSaMapper.IkeRekey, ViciSaMapper.ChildRekey];

    private readonly ViciEndpoint _endpoint;
    private readonly TimeProvider _time;
    private readonly TimeSpan _readTimeout;
    private readonly Action<ViciPacket, DateTimeOffset> _onEvent;
    private readonly ILogger _logger;
    private readonly ReconnectBackoff _backoff;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private volatile bool _registered;

    public ViciEventListener(ViciEndpoint endpoint, TimeProvider time, TimeSpan readTimeout, Action<ViciPacket, DateTimeOffset> onEvent, ILogger logger)
    {
        _endpoint = endpoint;
        _time = time;
        _readTimeout = readTimeout;
        _onEvent = onEvent;
        _logger = logger;
        _backoff = new ReconnectBackoff(time);
    }

    /// <summary>True while registered for all events (tests wait for this before causing events).</summary>
    public bool IsRegistered => _registered;

    public void Start() => _loop ??= Task.Run(() => RunAsync(_stop.Token));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken stop)
    {
        string? lastError = null;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var connection = await ViciConnection.ConnectAsync(_endpoint, _time, _readTimeout, stop);
                connection.UnsolicitedEvent += packet => Deliver(packet);
                foreach (var name in Events)
                {
                    await connection.RegisterAsync(name, stop);
                }

                _registered = true;
                _backoff.Succeeded();
                if (lastError is not null)
                {
                    LogEventsReconnected(_logger, _endpoint.Text);
                    lastError = null;
                }

                while (true)
                {
                    Deliver(await connection.ReadEventAsync(stop));
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _registered = false;
                var delay = _backoff.Failed();
                if (e.Message != lastError)
                {
                    LogEventsLost(_logger, _endpoint.Text, ViciEndpoint.Explain(e), delay.TotalSeconds);
                    lastError = e.Message;
                }

                try
                {
                    await Task.Delay(delay, _time, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void Deliver(ViciPacket packet) => _onEvent(packet, _time.GetUtcNow());

    [LoggerMessage(Level = LogLevel.Warning, Message = "VICI event connection to {Uri} failed: {Error}; final counters of replaced CHILD SAs fall back to polled values until it is back (retry in {Delay}s)")]
    private static partial void LogEventsLost(ILogger logger, string uri, string error, double delay);

    [LoggerMessage(Level = LogLevel.Information, Message = "VICI event connection to {Uri} is registered again")]
    private static partial void LogEventsReconnected(ILogger logger, string uri);
}

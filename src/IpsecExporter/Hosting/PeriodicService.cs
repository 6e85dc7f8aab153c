namespace IpsecExporter.Hosting;

/// <summary>
/// A background service that collects once at start and then every <see cref="Interval"/> (read anew each round, so a
/// configuration reload takes effect). A round that throws is logged and the next round runs anyway: one failing
/// check must not stop the host or the other checks.
/// </summary>
public abstract partial class PeriodicService(TimeProvider time, ILogger logger) : BackgroundService
{
    protected TimeProvider Time { get; } = time;

    /// <summary>Time until the next round, read after each round.</summary>
    protected abstract TimeSpan Interval { get; }

    /// <summary>One round. Tests call this directly instead of waiting for timers.</summary>
    public abstract Task CollectOnceAsync(CancellationToken cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await CollectOnceAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogRoundFailed(logger, GetType().Name, e);
                }

                await Task.Delay(Interval, Time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Service} round failed; trying again on its interval")]
    private static partial void LogRoundFailed(ILogger logger, string service, Exception exception);
}

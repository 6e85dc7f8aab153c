using IpsecExporter.Metrics;
using IpsecExporter.Sources;

namespace IpsecExporter.Web;

/// <summary>
/// Renders <c>/metrics</c> once after the first collection (when the contributors have series), so that Prometheus's
/// first scrape does not pay for compiling the rendering code.
/// </summary>
public sealed partial class MetricsWarmUp(MetricsExposition exposition, SourceCollector collector, ILogger<MetricsWarmUp> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await collector.FirstCollection.WaitAsync(stoppingToken);
        try
        {
            await exposition.WarmUpAsync(stoppingToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Scrapes render the same way and report the same failure to the scraper.
            LogWarmUpFailed(logger, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rendering /metrics once after the first collection failed")]
    private static partial void LogWarmUpFailed(ILogger logger, Exception exception);
}

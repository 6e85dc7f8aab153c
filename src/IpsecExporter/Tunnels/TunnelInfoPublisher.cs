using IpsecExporter.Configuration;
using IpsecExporter.Metrics;

namespace IpsecExporter.Tunnels;

/// <summary>
/// Writes <c>ipsec_tunnel_info</c> from the configuration in force, and drops the series still pushed into
/// prometheus-net of a tunnel that a reload removed (series of tunnels that stay, counters included, are left alone).
/// </summary>
public sealed class TunnelInfoPublisher : IMetricsContributor
{
    private readonly ExporterMetrics _metrics;

    // Swapped whole on reload: a scrape sees the old tunnels or the new ones, never none, which would reset the for:
    // timers of every alert joined on ipsec_tunnel_info.
    private volatile MetricLabels[] _tunnels = [];

    public TunnelInfoPublisher(ConfigStore config, ExporterMetrics metrics)
    {
        _metrics = metrics;
        Publish(null, config.Current);
        config.OnChanged(ConfigStage.TunnelInfo, nameof(TunnelInfoPublisher), Publish);
    }

    public async ValueTask WriteAsync(MetricsWriter writer, CancellationToken cancellationToken)
    {
        writer.Family(MetricFamilies.TunnelInfo);
        foreach (var labels in _tunnels)
        {
            writer.Sample(labels, 1);
            await writer.FlushIfFullAsync(cancellationToken);
        }
    }

    private void Publish(ExporterConfig? old, ExporterConfig next)
    {
        var kept = next.Tunnels.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var tunnel in old?.Tunnels ?? [])
        {
            if (!kept.Contains(tunnel.Name))
            {
                _metrics.RemoveTunnel(tunnel.Name);
            }
        }

        _tunnels = [.. next.Tunnels.Select(tunnel => MetricFamilies.TunnelInfoLabels.Values(
            tunnel.Name,
            tunnel.Description ?? "",
            next.Site.Location ?? "",
            tunnel.LocalGateway?.ToString() ?? next.Site.PublicIp?.ToString() ?? "",
            tunnel.RemoteGateway,
            tunnel.Source))];
    }
}

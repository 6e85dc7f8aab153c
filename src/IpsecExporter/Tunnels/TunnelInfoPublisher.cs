using IpsecExporter.Configuration;
using IpsecExporter.Metrics;

namespace IpsecExporter.Tunnels;

/// <summary>Writes <c>ipsec_tunnel_info</c> from the configuration in force.</summary>
public sealed class TunnelInfoPublisher : IMetricsContributor
{
    // Swapped whole on reload: a scrape sees the old tunnels or the new ones, never none, which would reset the for:
    // timers of every alert joined on ipsec_tunnel_info.
    private volatile MetricLabels[] _tunnels = [];

    public TunnelInfoPublisher(ConfigStore config)
    {
        Publish(config.Current);
        config.OnChanged(ConfigStage.TunnelInfo, nameof(TunnelInfoPublisher), (_, next) => Publish(next));
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

    private void Publish(ExporterConfig next) =>
        _tunnels = [.. next.Tunnels.Select(tunnel => MetricFamilies.TunnelInfoLabels.Values(
            tunnel.Name,
            tunnel.Description ?? "",
            next.Site.Location ?? "",
            tunnel.LocalGateway?.ToString() ?? next.Site.PublicIp?.ToString() ?? "",
            tunnel.RemoteGateway,
            tunnel.Source))];
}

using IpsecExporter.Configuration;
using IpsecExporter.Metrics;

namespace IpsecExporter.Tunnels;

/// <summary>
/// Keeps <c>ipsec_tunnel_info</c> in line with the configuration, and drops every series of a tunnel that a reload
/// removed (series of tunnels that stay, counters included, are left alone).
/// </summary>
public sealed class TunnelInfoPublisher
{
    private readonly ExporterMetrics _metrics;

    public TunnelInfoPublisher(ConfigStore config, ExporterMetrics metrics)
    {
        _metrics = metrics;
        Publish(null, config.Current);
        config.OnChanged(ConfigStage.TunnelInfo, nameof(TunnelInfoPublisher), Publish);
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

        // Touch only what changed: removing and re-adding every series would let a scrape in between see no tunnels,
        // which resets the for: timers of every alert joined on ipsec_tunnel_info.
        var desired = next.Tunnels.Select(tunnel => new[]
        {
            tunnel.Name,
            tunnel.Description ?? "",
            next.Site.Location ?? "",
            tunnel.LocalGateway?.ToString() ?? next.Site.PublicIp?.ToString() ?? "",
            tunnel.RemoteGateway,
            tunnel.Source,
        }).ToList();
        foreach (var labels in _metrics.TunnelInfo.GetAllLabelValues().ToList())
        {
            if (!desired.Any(d => d.SequenceEqual(labels)))
            {
                _metrics.TunnelInfo.RemoveLabelled(labels);
            }
        }

        foreach (var labels in desired)
        {
            _metrics.TunnelInfo.WithLabels(labels).Set(1);
        }
    }
}

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
        config.Changed += Publish;
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

        // Info labels may change on reload: rewrite the whole set.
        foreach (var labels in _metrics.TunnelInfo.GetAllLabelValues().ToList())
        {
            _metrics.TunnelInfo.RemoveLabelled(labels);
        }

        foreach (var tunnel in next.Tunnels)
        {
            _metrics.TunnelInfo.WithLabels(
                tunnel.Name,
                tunnel.Description ?? "",
                next.Site.Location ?? "",
                tunnel.LocalGateway?.ToString() ?? next.Site.PublicIp?.ToString() ?? "",
                tunnel.RemoteGateway,
                tunnel.Source).Set(1);
        }
    }
}

// One tunnel in depth (docs/DASHBOARDS.md); the exporter's status page links here with var-tunnel.
local g = import '../lib/grafana.libsonnet';

{
  grafanaDashboards+:: {
    local cfg = $._config,
    'ipsec-tunnel.json': g.dashboard(
      cfg.dashboardUids.tunnel,
      'IPsec / Tunnel',
      'One IPsec tunnel in depth: RTT and loss to the remote gateway and through the tunnel, traffic per direction and network pair, SPI associations, rekeys, lifetimes, public addresses and clock.',
      cfg.dashboardSelector,
      cfg.dashboardTags,
      cfg.dashboardRefresh,
      cfg.dashboardTimeFrom,
      links=[
        {
          title: 'Partner report',
          type: 'link',
          url: cfg.exporterScheme + '://${instance}/tunnels/${tunnel}/report',
          icon: 'doc',
          targetBlank: true,
          tooltip: "The exporter's partner trouble report for this tunnel",
          asDropdown: false,
          includeVars: false,
          keepTime: false,
          tags: [],
        },
        {
          title: 'Overview',
          type: 'link',
          url: '/d/%s/ipsec-overview' % cfg.dashboardUids.overview,
          icon: 'dashboard',
          targetBlank: false,
          tooltip: 'All tunnels',
          asDropdown: false,
          includeVars: true,
          keepTime: true,
          tags: [],
        },
      ],
      // The tunnel first: the status page links with var-tunnel alone, and the exporter watching it follows.
      variables=[
        g.labelVariable('job', 'Job', 'Prometheus jobs scraping ipsec-exporter', cfg.dashboardExporterMetric),
        g.labelVariable('tunnel', 'Tunnel', "Configured tunnel (the exporter's status page links here with var-tunnel)", 'ipsec_tunnel_info{job=~"$job"}', all=false),
        g.labelVariable('instance', 'Exporter', 'ipsec-exporter instance watching the tunnel', 'ipsec_tunnel_info{job=~"$job", tunnel="$tunnel"}', all=false),
        g.labelVariable('target', 'Inside address', 'Inside addresses pinged through the tunnel', 'ipsec_inside_ping_requests_total{%s, tunnel="$tunnel"}' % cfg.dashboardSelector),
      ],
      panels=[
        g.row('Verdict', 0),
        g.stat('Verdict', "The exporter's verdict for this tunnel (ipsec_tunnel_status).", [
          g.query(g.verdict('tunnel="$tunnel"'), '{{tunnel}}'),
        ], thresholds=[['text']], mappings=g.verdicts, colorMode='background') + g.at(0, 1, 4, 4),
        g.stateStat('Phase 1', 'Whether an IKE SA (Phase 1) is established. Up does not mean the tunnel works: see the checks.', [
          g.query('ipsec_ike_sa_established{tunnel="$tunnel"}', 'Phase 1'),
        ], g.upDown) + g.at(4, 1, 3, 4),
        g.stat('IKE SAs', 'Established IKE SAs of the connection; more than one for long is unusual.', [
          g.query('ipsec_ike_sas{tunnel="$tunnel"}', 'IKE SAs'),
        ], thresholds=[['red'], ['green', 1], ['orange', 2]], colorMode='background') + g.at(7, 1, 3, 4),
        g.stateStat('Checks', 'The troubleshooting checks behind the verdict, in order.', [
          g.query('ipsec_tunnel_check{tunnel="$tunnel"}', '{{check}}'),
        ], g.passFail, textMode='value_and_name') + g.at(10, 1, 14, 4),
        g.table(
          'Partner report facts',
          'What the partner needs: both public gateways, location, description, source. The full report is linked at the top (Partner report).',
          [g.instantTable('ipsec_tunnel_info{tunnel="$tunnel"}')],
          [g.tunnelFacts(['Value'])],
        ) + g.at(0, 5, 24, 3),
        g.stateTimeline('Checks over time', 'When each check failed, and for how long.', [
          g.query('ipsec_tunnel_check{tunnel="$tunnel"}', '{{check}}'),
        ], g.passFail) + g.at(0, 8, 24, 7),
        g.row('Remote gateway: the internet path', 15),
        g.timeseries('Remote gateway RTT percentiles', "Round-trip time of echo replies from the remote gateway's public IP: median, 90th and 99th percentile.", [
          g.query('histogram_quantile(0.5, sum by (le) (rate(ipsec_gateway_ping_rtt_seconds_bucket{tunnel="$tunnel"}[$__rate_interval])))', 'p50'),
          g.query('histogram_quantile(0.9, sum by (le) (rate(ipsec_gateway_ping_rtt_seconds_bucket{tunnel="$tunnel"}[$__rate_interval])))', 'p90'),
          g.query('histogram_quantile(0.99, sum by (le) (rate(ipsec_gateway_ping_rtt_seconds_bucket{tunnel="$tunnel"}[$__rate_interval])))', 'p99'),
        ], 's', min=0) + g.at(0, 16, 8, 8),
        g.heatmap('Remote gateway RTT distribution', 'Echo replies from the remote gateway per RTT bucket: bimodal or wide bands show an unstable path.', 'sum by (le) (increase(ipsec_gateway_ping_rtt_seconds_bucket{tunnel="$tunnel"}[$__rate_interval]))') + g.at(8, 16, 8, 8),
        g.timeseries('Packet loss to the remote gateway', "Share of echo requests to the remote gateway's public IP without reply. 100% for minutes: unreachable (or it drops ICMP). Late replies (after probes.timeout, counted as lost) and duplicate replies as shares of the requests. Send errors (the name did not resolve, a local socket error) are requests that never left: shown apart, not as loss.", [
          g.query('clamp_min(1 - sum(rate(ipsec_gateway_ping_responses_total{tunnel="$tunnel"}[$__rate_interval])) / (sum(rate(ipsec_gateway_ping_requests_total{tunnel="$tunnel"}[$__rate_interval])) - (sum(rate(ipsec_gateway_ping_send_errors_total{tunnel="$tunnel"}[$__rate_interval])) or 0 * sum(rate(ipsec_gateway_ping_requests_total{tunnel="$tunnel"}[$__rate_interval])))), 0)', 'loss'),
          g.query('sum(rate(ipsec_gateway_ping_late_responses_total{tunnel="$tunnel"}[$__rate_interval])) / sum(rate(ipsec_gateway_ping_requests_total{tunnel="$tunnel"}[$__rate_interval]))', 'late replies'),
          g.query('sum(rate(ipsec_gateway_ping_duplicate_responses_total{tunnel="$tunnel"}[$__rate_interval])) / sum(rate(ipsec_gateway_ping_requests_total{tunnel="$tunnel"}[$__rate_interval]))', 'duplicate replies'),
          g.query('sum(rate(ipsec_gateway_ping_send_errors_total{tunnel="$tunnel"}[$__rate_interval])) / sum(rate(ipsec_gateway_ping_requests_total{tunnel="$tunnel"}[$__rate_interval]))', 'send errors (not sent, not lost)'),
        ], 'percentunit', min=0, max=1) + g.at(16, 16, 8, 8),
        g.row('Inside addresses: through the tunnel', 24),
        g.timeseries('Inside RTT percentiles', 'Round-trip time through the tunnel to each inside address: median and 90th percentile.', [
          g.query('histogram_quantile(0.5, sum by (target, le) (rate(ipsec_inside_ping_rtt_seconds_bucket{tunnel="$tunnel", target=~"$target"}[$__rate_interval])))', '{{target}} p50'),
          g.query('histogram_quantile(0.9, sum by (target, le) (rate(ipsec_inside_ping_rtt_seconds_bucket{tunnel="$tunnel", target=~"$target"}[$__rate_interval])))', '{{target}} p90'),
        ], 's', min=0) + g.at(0, 25, 12, 8),
        g.timeseries('Packet loss to inside addresses', 'Share of echo requests through the tunnel without reply, per inside address. One target failing while others answer is local to that system. Late replies (after probes.timeout, counted as lost) and duplicate replies as shares of the requests.', [
          g.query('clamp_min(1 - sum by (target) (rate(ipsec_inside_ping_responses_total{tunnel="$tunnel", target=~"$target"}[$__rate_interval])) / (sum by (target) (rate(ipsec_inside_ping_requests_total{tunnel="$tunnel", target=~"$target"}[$__rate_interval])) - (sum by (target) (rate(ipsec_inside_ping_send_errors_total{tunnel="$tunnel", target=~"$target"}[$__rate_interval])) or 0 * sum by (target) (rate(ipsec_inside_ping_requests_total{tunnel="$tunnel", target=~"$target"}[$__rate_interval])))), 0)', '{{target}}'),
          g.query('sum by (target) (rate(ipsec_inside_ping_late_responses_total{tunnel="$tunnel", target=~"$target"}[$__rate_interval])) / sum by (target) (rate(ipsec_inside_ping_requests_total{tunnel="$tunnel", target=~"$target"}[$__rate_interval]))', '{{target}} late replies'),
          g.query('sum by (target) (rate(ipsec_inside_ping_duplicate_responses_total{tunnel="$tunnel", target=~"$target"}[$__rate_interval])) / sum by (target) (rate(ipsec_inside_ping_requests_total{tunnel="$tunnel", target=~"$target"}[$__rate_interval]))', '{{target}} duplicate replies'),
          g.query('sum by (target) (rate(ipsec_inside_ping_send_errors_total{tunnel="$tunnel", target=~"$target"}[$__rate_interval])) / sum by (target) (rate(ipsec_inside_ping_requests_total{tunnel="$tunnel", target=~"$target"}[$__rate_interval]))', '{{target}} send errors'),
        ], 'percentunit', min=0, max=1) + g.at(12, 25, 12, 8),
        g.heatmap('Inside RTT distribution to $target', 'Echo replies through the tunnel from this inside address per RTT bucket.', 'sum by (le) (increase(ipsec_inside_ping_rtt_seconds_bucket{tunnel="$tunnel", target="$target"}[$__rate_interval]))') + g.at(0, 33, 24, 8) + { repeat: 'target', repeatDirection: 'h', maxPerRow: 3 },
        g.row('Traffic and SPI associations per network pair', 41),
        g.timeseries('Bytes sent vs received per network pair', 'Encrypted bytes sent (up) and decrypted bytes received (down) per network pair. One direction moving while the other is flat means desynchronization.', [
          g.query('rate(ipsec_child_sa_sent_bytes_total{tunnel="$tunnel"}[$__rate_interval])', '{{local_ts}} <-> {{remote_ts}} sent'),
          g.query('rate(ipsec_child_sa_received_bytes_total{tunnel="$tunnel"}[$__rate_interval])', '{{local_ts}} <-> {{remote_ts}} received'),
        ], 'Bps', overrides=g.receivedBelow) + g.at(0, 42, 12, 8),
        g.timeseries('Packets sent vs received per network pair', 'Packets sent (up) and received (down) per network pair.', [
          g.query('rate(ipsec_child_sa_sent_packets_total{tunnel="$tunnel"}[$__rate_interval])', '{{local_ts}} <-> {{remote_ts}} sent'),
          g.query('rate(ipsec_child_sa_received_packets_total{tunnel="$tunnel"}[$__rate_interval])', '{{local_ts}} <-> {{remote_ts}} received'),
        ], 'pps', overrides=g.receivedBelow) + g.at(12, 42, 12, 8),
        g.timeseries('Time since the last packet', 'Seconds since a packet was last sent and received on each network pair. A growing line in one direction only is the asymmetry the desynchronization alert looks for.', [
          g.query('time() - ipsec_child_sa_last_sent_timestamp_seconds{tunnel="$tunnel"}', '{{local_ts}} <-> {{remote_ts}} sent'),
          g.query('time() - ipsec_child_sa_last_received_timestamp_seconds{tunnel="$tunnel"}', '{{local_ts}} <-> {{remote_ts}} received'),
        ], 's', min=0, fillOpacity=0) + g.at(0, 50, 8, 8),
        g.stepSeries('CHILD SAs per network pair', 'Installed CHILD SAs (SPI associations) per network pair: 1 is healthy, 2 briefly during a rekey, more for longer is desynchronization, 0 with Phase 1 up is a missing Phase 2.', [
          g.query('ipsec_child_sas{tunnel="$tunnel"}', '{{local_ts}} <-> {{remote_ts}}'),
        ]) + g.at(8, 50, 8, 8),
        g.eventSeries('Rekeys', 'IKE SA and CHILD SA rekeys over time. IKE and CHILD rekeys in the same interval, again and again, are rekey races (IpsecRekeyCollision).', [
          g.query('increase(ipsec_ike_sa_rekeys_total{tunnel="$tunnel"}[$__rate_interval])', 'IKE SA'),
          g.query('increase(ipsec_child_sa_rekeys_total{tunnel="$tunnel"}[$__rate_interval])', 'CHILD {{local_ts}} <-> {{remote_ts}}'),
        ]) + g.at(16, 50, 8, 8),
        g.row('Lifetimes and best practices', 58),
        g.stat('IKE SA rekey interval', 'Configured or observed Phase 1 rekey interval. Short is better.', [
          g.query('ipsec_ike_sa_rekey_interval_seconds{tunnel="$tunnel"}', 'IKE SA'),
        ], unit='s') + g.at(0, 59, 4, 5),
        g.stat('CHILD SA rekey interval', 'Configured or observed Phase 2 rekey interval per network pair.', [
          g.query('ipsec_child_sa_rekey_interval_seconds{tunnel="$tunnel"}', '{{local_ts}} <-> {{remote_ts}}'),
        ], unit='s') + g.at(4, 59, 5, 5),
        g.stat('CHILD SA lifetime', 'Configured or observed Phase 2 hard lifetime per network pair.', [
          g.query('ipsec_child_sa_lifetime_seconds{tunnel="$tunnel"}', '{{local_ts}} <-> {{remote_ts}}'),
        ], unit='s') + g.at(9, 59, 5, 5),
        g.stat('Phase 2 / Phase 1 rekey', 'CHILD SA rekey interval divided by the IKE SA rekey interval. Best practice: about two thirds (67%), so that both rekeys rarely coincide.', [
          g.query('ipsec_child_sa_rekey_interval_seconds{tunnel="$tunnel"} / on(job, instance, tunnel) group_left() ipsec_ike_sa_rekey_interval_seconds{tunnel="$tunnel"}', '{{local_ts}} <-> {{remote_ts}}'),
        ], unit='percentunit', thresholds=[['orange'], ['green', 0.6], ['orange', 0.75]]) + g.at(14, 59, 5, 5),
        g.stateStat('Perfect Forward Secrecy', 'Whether rekeyed CHILD SAs carry a DH group. Unknown until the first rekey.', [
          g.query('ipsec_child_sa_pfs{tunnel="$tunnel"}', '{{local_ts}} <-> {{remote_ts}}'),
        ], g.valueTexts([['red', 'off'], ['green', 'on']])) + g.at(19, 59, 5, 5),
        g.stateStat('Best practices', 'Perfect Forward Secrecy, short lifetimes, Phase 2 about two thirds of Phase 1, clock synchronized.', [
          g.query('ipsec_best_practice{tunnel="$tunnel"}', '{{practice}}'),
        ], g.passFail, textMode='value_and_name') + g.at(0, 64, 24, 3),
        g.row('Public addresses, clock and source', 67),
        g.stat('Public IP of this site', "The public IP this site is seen with on the internet; the partner's gateway must expect it.", [
          g.query('ipsec_public_ip_info', '{{address}}'),
        ], colorMode='none', textMode='name') + g.at(0, 68, 6, 4),
        g.stat('Remote gateway address', "What the remote gateway's configured name resolves to now.", [
          g.query('ipsec_remote_gateway_address_info{tunnel="$tunnel"}', '{{address}}'),
        ], colorMode='none', textMode='name') + g.at(6, 68, 6, 4),
        g.eventSeries('Address changes', "Changes of this site's public IP and of the remote gateway's resolved address.", [
          g.query('increase(ipsec_public_ip_changes_total[$__rate_interval])', "this site's public IP"),
          g.query('increase(ipsec_remote_gateway_address_changes_total{tunnel="$tunnel"}[$__rate_interval])', 'remote gateway address'),
        ]) + g.at(12, 68, 12, 4),
        g.timeseries('Clock offset', "SNTP offset of the exporter's host against each server (negative: local clock behind). IpsecClockSkew fires beyond 1 s.", [
          g.query('ipsec_clock_offset_seconds', '{{server}}'),
        ], 's', thresholds=[['transparent'], ['orange', 1]], thresholdsStyle='line', fillOpacity=0) + g.at(0, 72, 12, 7),
        g.stateStat('Source of this tunnel', 'Whether the exporter can read SA state from the source this tunnel is configured with.', [
          g.query('ipsec_source_up and on(job, instance, source) ipsec_tunnel_info{tunnel="$tunnel"}', '{{source}}'),
        ], g.upDown) + g.at(12, 72, 6, 7),
        g.timeseries('Source collection duration', 'How long the last collection from each source took.', [
          g.query('ipsec_source_collect_duration_seconds and on(job, instance, source) ipsec_tunnel_info{tunnel="$tunnel"}', '{{source}}'),
        ], 's', min=0) + g.at(18, 72, 6, 7),
      ],
    ),
  },
}

// The overview: every tunnel at once (docs/DASHBOARDS.md).
local g = import '../lib/grafana.libsonnet';

{
  grafanaDashboards+:: {
    local cfg = $._config,
    'ipsec-overview.json': g.dashboard(
      cfg.dashboardUids.overview,
      'IPsec / Overview',
      'Every IPsec tunnel watched by ipsec-exporter: verdict, SPI associations, loss, RTT, traffic per direction, best practices.',
      cfg.dashboardSelector,
      cfg.dashboardTags,
      cfg.dashboardRefresh,
      cfg.dashboardTimeFrom,
      links=[{
        title: 'Tunnel details',
        type: 'dashboards',
        tags: ['ipsec-exporter'],
        asDropdown: true,
        includeVars: false,
        keepTime: true,
        icon: 'external link',
        targetBlank: false,
        tooltip: '',
        url: '',
      }],
      variables=[
        g.labelVariable('job', 'Job', 'Prometheus jobs scraping ipsec-exporter', cfg.dashboardExporterMetric),
        g.labelVariable('instance', 'Exporter', 'ipsec-exporter instances', cfg.dashboardExporterMetric + '{job=~"$job"}'),
        g.labelVariable('tunnel', 'Tunnel', 'Configured tunnels', 'ipsec_tunnel_info{%s}' % cfg.dashboardSelector),
      ],
      panels=[
        g.row('Verdict: is each tunnel really working?', 0),
        g.stat('Tunnels per verdict', 'How many of the selected tunnels have each verdict (ipsec_tunnel_status). Phase 1 being up is not enough for healthy: the exporter also checks SPI associations, traffic in both directions and pings through the tunnel.', [
          g.query('count by (status) (ipsec_tunnel_status{tunnel=~"$tunnel"} == 1)', '{{status}}'),
        ]) + g.at(0, 1, 8, 6),
        g.table(
          'Verdict per tunnel',
          "The verdict of every selected tunnel with the facts a partner report needs (both public gateways, location). Click a tunnel for its dashboard, a verdict for the exporter's partner report.",
          [g.instantTable(g.verdict('tunnel=~"$tunnel"')), g.instantTable('ipsec_tunnel_info{tunnel=~"$tunnel"}')],
          [{ id: 'merge', options: {} }, g.tunnelFacts(['Value #B'], { 'Value #A': 'verdict' })],
          overrides=[
            {
              matcher: { id: 'byName', options: 'verdict' },
              properties: [
                { id: 'mappings', value: g.verdicts },
                { id: 'custom.cellOptions', value: { type: 'color-background' } },
                { id: 'links', value: [{ title: 'Partner report', targetBlank: true, url: cfg.exporterScheme + '://${__data.fields.instance}/tunnels/${__data.fields.tunnel}/report' }] },
              ],
            },
            {
              matcher: { id: 'byName', options: 'tunnel' },
              properties: [{ id: 'links', value: [{ title: 'Tunnel dashboard', url: '/d/%s/ipsec-tunnel?${datasource:queryparam}&var-instance=${__data.fields.instance}&var-tunnel=${__value.raw}&${__url_time_range}' % cfg.dashboardUids.tunnel }] }],
            },
          ],
          sortBy=[{ displayName: 'verdict', desc: true }],
        ) + g.at(8, 1, 16, 6),
        g.stateTimeline('Verdict over time', 'The verdict of every selected tunnel over time: when it turned desynchronized or down, and for how long.', [
          g.query(g.verdict('tunnel=~"$tunnel"'), '{{tunnel}}'),
        ], g.verdicts) + g.at(0, 7, 24, 7),
        g.passFailMatrix('Troubleshooting checks', 'The checks behind the verdict, in the order a network engineer runs them: local internet, remote gateway reachable, Phase 1, a single SPI association per pair, traffic in both directions, inside addresses reachable, best practices.', 'ipsec_tunnel_check{tunnel=~"$tunnel"}', 'check') + g.at(0, 14, 24, 6),
        g.row('Phase 2: SPI associations per network pair', 20),
        g.stat('CHILD SAs per network pair', 'Installed CHILD SAs (SPI associations) per configured network pair. One is healthy; two only while rekeying; more for longer means desynchronization (IpsecDuplicateChildSas); zero with Phase 1 up means Phase 2 is missing (IpsecPhase2Missing).', [
          g.query('ipsec_child_sas{tunnel=~"$tunnel"}', '{{tunnel}} {{local_ts}} <-> {{remote_ts}}'),
        ], thresholds=[['red'], ['green', 1], ['orange', 2]], colorMode='background') + g.at(0, 21, 8, 8),
        g.stepSeries('CHILD SAs over time', 'SPI associations per network pair over time. Short spikes to 2 are rekeys; a plateau above 1 is desynchronization.', [
          g.query('ipsec_child_sas{tunnel=~"$tunnel"}', '{{tunnel}} {{local_ts}} <-> {{remote_ts}}'),
        ]) + g.at(8, 21, 16, 8),
        g.row('Reachability: internet path and through the tunnel', 29),
        g.timeseries('Packet loss to remote gateways', "Share of echo requests to each remote gateway's public IP that got no reply. Loss can be intermittent: it takes continuous pinging to see it.", [
          g.query('clamp_min(1 - sum by (instance, tunnel) (rate(ipsec_gateway_ping_responses_total{tunnel=~"$tunnel"}[$__rate_interval])) / (sum by (instance, tunnel) (rate(ipsec_gateway_ping_requests_total{tunnel=~"$tunnel"}[$__rate_interval])) - (sum by (instance, tunnel) (rate(ipsec_gateway_ping_send_errors_total{tunnel=~"$tunnel"}[$__rate_interval])) or 0 * sum by (instance, tunnel) (rate(ipsec_gateway_ping_requests_total{tunnel=~"$tunnel"}[$__rate_interval])))), 0)', '{{tunnel}}'),
        ], 'percentunit', min=0, max=1) + g.at(0, 30, 12, 8),
        g.timeseries('Packet loss through the tunnels', 'Share of echo requests sent through each tunnel to each inside address that got no reply. One target failing while others answer is local to that system; all failing means the tunnel carries nothing.', [
          g.query('clamp_min(1 - sum by (instance, tunnel, local_ts, remote_ts, target) (rate(ipsec_inside_ping_responses_total{tunnel=~"$tunnel"}[$__rate_interval])) / (sum by (instance, tunnel, local_ts, remote_ts, target) (rate(ipsec_inside_ping_requests_total{tunnel=~"$tunnel"}[$__rate_interval])) - (sum by (instance, tunnel, local_ts, remote_ts, target) (rate(ipsec_inside_ping_send_errors_total{tunnel=~"$tunnel"}[$__rate_interval])) or 0 * sum by (instance, tunnel, local_ts, remote_ts, target) (rate(ipsec_inside_ping_requests_total{tunnel=~"$tunnel"}[$__rate_interval])))), 0)', '{{tunnel}} -> {{target}}'),
        ], 'percentunit', min=0, max=1) + g.at(12, 30, 12, 8),
        g.timeseries('Remote gateway RTT (median)', "Median round-trip time of echo replies from each remote gateway's public IP.", [
          g.query('histogram_quantile(0.5, sum by (instance, tunnel, le) (rate(ipsec_gateway_ping_rtt_seconds_bucket{tunnel=~"$tunnel"}[$__rate_interval])))', '{{tunnel}}'),
        ], 's', min=0) + g.at(0, 38, 12, 8),
        g.timeseries('Inside RTT through the tunnels (median)', 'Median round-trip time through each tunnel to each inside address.', [
          g.query('histogram_quantile(0.5, sum by (instance, tunnel, local_ts, remote_ts, target, le) (rate(ipsec_inside_ping_rtt_seconds_bucket{tunnel=~"$tunnel"}[$__rate_interval])))', '{{tunnel}} -> {{target}}'),
        ], 's', min=0) + g.at(12, 38, 12, 8),
        g.row('Traffic per direction', 46),
        g.timeseries('Bytes per direction and network pair', 'Encrypted bytes sent (up) and decrypted bytes received (down) per tunnel. One direction moving while the other is flat means desynchronization (IpsecTunnelAsymmetricTraffic). One series per network pair: each pair is its own CHILD SA, and a sum over pairs would hide a pair that carries nothing back.', [
          g.query('sum by (instance, tunnel, local_ts, remote_ts) (rate(ipsec_child_sa_sent_bytes_total{tunnel=~"$tunnel"}[$__rate_interval]))', '{{tunnel}} {{local_ts}} <-> {{remote_ts}} sent'),
          g.query('sum by (instance, tunnel, local_ts, remote_ts) (rate(ipsec_child_sa_received_bytes_total{tunnel=~"$tunnel"}[$__rate_interval]))', '{{tunnel}} {{local_ts}} <-> {{remote_ts}} received'),
        ], 'Bps', overrides=g.receivedBelow) + g.at(0, 47, 12, 8),
        g.timeseries('Packets per direction and network pair', "Packets sent (up) and received (down) per tunnel. IPsec sends nothing on its own: the exporter's inside pings keep both directions moving. One series per network pair: each pair is its own CHILD SA, and a sum over pairs would hide a pair that carries nothing back.", [
          g.query('sum by (instance, tunnel, local_ts, remote_ts) (rate(ipsec_child_sa_sent_packets_total{tunnel=~"$tunnel"}[$__rate_interval]))', '{{tunnel}} {{local_ts}} <-> {{remote_ts}} sent'),
          g.query('sum by (instance, tunnel, local_ts, remote_ts) (rate(ipsec_child_sa_received_packets_total{tunnel=~"$tunnel"}[$__rate_interval]))', '{{tunnel}} {{local_ts}} <-> {{remote_ts}} received'),
        ], 'pps', overrides=g.receivedBelow) + g.at(12, 47, 12, 8),
        g.row('Best practices', 55),
        g.passFailMatrix('Best practices', 'Per tunnel: Perfect Forward Secrecy, short rekey lifetimes, Phase 2 lifetime about two thirds of Phase 1, clock synchronized.', 'ipsec_best_practice{tunnel=~"$tunnel"}', 'practice') + g.at(0, 56, 24, 6),
        g.row('This site and the exporter', 62),
        g.stat('Public IP of this site', 'The public IP address this site is seen with on the internet (ipsec_public_ip_info).', [
          g.query('ipsec_public_ip_info', '{{instance}}: {{address}}'),
        ], colorMode='none', textMode='name') + g.at(0, 63, 6, 4),
        g.stateStat('Public IP as expected', 'Whether the observed public IP equals site.public_ip, the address partner gateways are configured with.', [
          g.query('ipsec_public_ip_matches_expected', '{{instance}}'),
        ], g.valueTexts([['red', 'differs'], ['green', 'as expected']])) + g.at(6, 63, 6, 4),
        g.stateStat('Public IP lookups', 'Whether the last public IP lookup answered (primary, and the cross-check when configured).', [
          g.query('ipsec_public_ip_lookup_success', '{{instance}} {{lookup}}'),
        ], g.valueTexts([['red', 'failed'], ['green', 'answered']])) + g.at(12, 63, 6, 4),
        g.stateStat('Public IP second opinions', 'Whether a second opinion agrees with the observed public IP: the cross-check lookup, and the local address of an established IKE SA.', [
          g.query('ipsec_public_ip_cross_check_matches', '{{instance}} {{check}}'),
        ], g.valueTexts([['orange', 'disagrees'], ['green', 'agrees']]), zeroColor='orange') + g.at(18, 63, 6, 4),
        g.stat('Clock offset', "SNTP offset of the exporter's host against each configured server (negative: local clock behind). Rekey times are computed from the clock; IpsecClockSkew fires beyond 1 s. The round-trip delay of the deciding exchange bounds the offset's error (at most half of it).", [
          g.query('ipsec_clock_offset_seconds', '{{server}}'),
          g.query('ipsec_clock_delay_seconds', '{{server}} round-trip delay'),
        ], unit='s', thresholds=[['green'], ['orange', 1]]) + g.at(0, 67, 6, 4),
        g.stateStat('Time servers', 'Whether the last SNTP query to each configured time server succeeded.', [
          g.query('ipsec_clock_probe_success', '{{server}}'),
        ], g.upDown) + g.at(6, 67, 6, 4),
        g.stateStat('Sources', "Whether the exporter can read SA state from each source (strongSwan VICI, firewall APIs). While a source is down, its tunnels' Phase 1/2 state is unknown.", [
          g.query('ipsec_source_up', '{{source}}'),
        ], g.upDown) + g.at(12, 67, 6, 4),
        g.stat('Exporter version', 'Version of each ipsec-exporter instance.', [
          g.query('ipsec_exporter_build_info', '{{instance}}: {{version}}'),
        ], colorMode='none', textMode='name') + g.at(18, 67, 3, 4),
        g.stateStat('Configuration', 'Whether the last configuration (re)load succeeded; after a failed reload the previous configuration keeps running.', [
          g.query('ipsec_exporter_config_last_reload_successful', '{{instance}}'),
        ], g.valueTexts([['red', 'reload failed'], ['green', 'loaded']])) + g.at(21, 67, 3, 4),
        g.timeseries('Time since the last successful collection', 'Age of the SA state per source: grows while a source fails.', [
          g.query('time() - ipsec_source_last_success_timestamp_seconds', '{{source}}'),
        ], 's', min=0, fillOpacity=0) + g.at(0, 71, 24, 6),
        g.stateStat('ICMP timestamps', "Where probe RTTs come from: the kernel's receive timestamps (true network round trips, microseconds) or, where the kernel gives none, the monotonic clock when the exporter read the reply (includes its own scheduling delay). docs/PROBES.md.", [
          g.query('ipsec_probe_kernel_timestamps', '{{instance}}'),
        ], g.valueTexts([['orange', 'monotonic clock'], ['green', 'kernel']]), zeroColor='orange') + g.at(0, 77, 3, 4),
        g.stepSeries('Exporter CPU', 'CPU time the exporter process uses, in cores (1 = one core busy). docs/PERFORMANCE.md gives the expected figures per tunnel and probe target.', [
          g.query('rate(process_cpu_seconds_total[$__rate_interval])', '{{instance}}'),
        ], unit='percentunit') + g.at(0, 81, 8, 7),
        g.stepSeries('Exporter memory', 'Memory of the exporter process: working set (resident), private, virtual, and the managed heap.', [
          g.query('process_working_set_bytes', '{{instance}} working set'),
          g.query('process_private_memory_bytes', '{{instance}} private'),
          g.query('process_virtual_memory_bytes', '{{instance}} virtual'),
          g.query('dotnet_total_memory_bytes', '{{instance}} managed heap'),
        ], unit='bytes') + g.at(8, 81, 8, 7),
        g.stepSeries('Exporter runtime', 'Threads, open handles (sockets, files), garbage collections per second by generation and uptime of the exporter process: steady values mean nothing leaks.', [
          g.query('process_num_threads', '{{instance}} threads'),
          g.query('process_open_handles', '{{instance}} open handles'),
          g.query('rate(dotnet_collection_count_total[$__rate_interval])', '{{instance}} GC gen {{generation}}/s'),
          g.query('time() - process_start_time_seconds', '{{instance}} uptime (s)'),
        ], unit='short') + g.at(16, 81, 8, 7),
        g.stateStat('Event streams', 'Sources with an event stream (VICI): connected, or lost (rekeys then only seen by polling; the last counters of a replaced CHILD SA come from the last poll).', [
          g.query('ipsec_source_events_connected', '{{instance}} {{source}}'),
        ], g.valueTexts([['red', 'lost'], ['green', 'connected']])) + g.at(0, 88, 6, 4),
        g.stateStat('Remote gateway names', 'Whether each remote gateway given as a DNS name resolved on the last try (IpsecRemoteGatewayUnresolvable after 5 minutes).', [
          g.query('ipsec_remote_gateway_resolution_success{tunnel=~"$tunnel"}', '{{tunnel}}'),
        ], g.valueTexts([['red', 'unresolvable'], ['green', 'resolves']])) + g.at(6, 88, 6, 4),
      ],
    ),
  },
}

// Recording rules: what the alerts and ad hoc queries read (docs/ALERTS.md, "Recording rules").
local promql = import 'lib/promql.libsonnet';

{
  prometheusRules+:: {
    local select(expr) = promql.withSelector(expr, $._config.ruleSelector),

    // Loss ratio 0..1 of the continuous pings of a probe (gateway, inside), over the requests that were really sent
    // (send errors are local failures, not lost replies). No series while nothing was sent; 1 when echo requests went
    // out and the responses counter does not exist (yet).
    local lossRatio(probe) =
      local sent = '(rate(ipsec_%(p)s_ping_requests_total[5m]) - (rate(ipsec_%(p)s_ping_send_errors_total[5m]) or 0 * rate(ipsec_%(p)s_ping_requests_total[5m])))' % { p: probe };
      |||
        clamp_min(
          1 - (
              rate(ipsec_%(probe)s_ping_responses_total[5m]) / (%(sent)s > 0)
            or
              0 * (%(sent)s > 0)
          ),
          0
        )
      ||| % { probe: probe, sent: sent },

    groups+: [
      {
        name: 'ipsec-exporter.recording',
        rules:
          // Traffic per direction and network pair, as the alerts and ad hoc queries see it. Counters survive rekeys;
          // rate() absorbs exporter restarts.
          [
            {
              record: 'tunnel_pair:ipsec_child_sa_%s:rate5m' % counter,
              expr: select('rate(ipsec_child_sa_%s_total[5m])' % counter),
            }
            for counter in ['sent_bytes', 'received_bytes', 'sent_packets', 'received_packets']
          ]
          + [
            { record: 'tunnel:ipsec_gateway_ping_loss:ratio_rate5m', expr: select(lossRatio('gateway')) },
            { record: 'tunnel_target:ipsec_inside_ping_loss:ratio_rate5m', expr: select(lossRatio('inside')) },
          ]
          // RTT percentiles, one series per quantile (label `quantile`).
          + [
            {
              record: '%s:ipsec_%s_ping_rtt_seconds:quantile_rate5m' % [probe.level, probe.name],
              expr: select('histogram_quantile(%s, rate(ipsec_%s_ping_rtt_seconds_bucket[5m]))' % [promql.number(quantile), probe.name]),
              labels: { quantile: promql.number(quantile) },
            }
            for probe in [{ name: 'gateway', level: 'tunnel' }, { name: 'inside', level: 'tunnel_target' }]
            for quantile in [0.5, 0.9, 0.99]
          ],
      },
      // One sample per minute, so that IpsecRekeyCollision counts minutes (and does not re-evaluate a day of history
      // on every evaluation, as a subquery would).
      {
        name: 'ipsec-exporter.rekeys',
        interval: '1m',
        rules: [
          // Present when a CHILD SA of the pair and the IKE SA of its tunnel were both rekeyed within the last 2
          // minutes; the value is the number of CHILD rekeys in that window.
          {
            record: 'tunnel_pair:ipsec_rekeys_colliding:increase2m',
            expr: select(|||
              increase(ipsec_child_sa_rekeys_total[2m]) > 0
              and on(job, instance, tunnel) increase(ipsec_ike_sa_rekeys_total[2m]) > 0
            |||),
          },
        ],
      },
    ],
  },
}

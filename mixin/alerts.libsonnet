// Alerts (docs/ALERTS.md explains every threshold and window; docs/runbooks/<alert>.md what to do).
local promql = import 'lib/promql.libsonnet';

{
  prometheusAlerts+:: {
    local cfg = $._config,

    local seconds(duration) =
      local unit = duration[std.length(duration) - 1];
      std.parseInt(std.substr(duration, 0, std.length(duration) - 1)) * { s: 1, m: 60, h: 3600, d: 86400 }[unit],
    // A duration as the descriptions say it: "2 minutes", "an hour".
    local spelled(duration) =
      local s = seconds(duration);
      if s == 3600 then 'an hour'
      else if s % 3600 == 0 then '%d hours' % (s / 3600)
      else if s == 60 then 'a minute'
      else if s % 60 == 0 then '%d minutes' % (s / 60)
      else '%d seconds' % s,

    local indent(text, spaces) =
      std.join('\n', [if line == '' then line else std.repeat(' ', spaces) + line for line in std.split(text, '\n')]),

    // Tunnel alerts carry what a partner trouble report needs (both public gateways, the location) and the source,
    // which the Alertmanager inhibitions match on.
    local withTunnelInfo(expr) =
      expr + '* on(job, instance, tunnel) group_left(location, local_gateway, remote_gateway, source) ipsec_tunnel_info\n',
    // SA state is not judged while the tunnel's source is down: the exporter only has a stale snapshot.
    local whileSourceUp(condition) =
      '(\n' + indent(condition, 2)
      + '  unless on(job, instance, tunnel)\n'
      + '    (ipsec_tunnel_info * on(job, instance, source) group_left() (ipsec_source_up == 0))\n'
      + ')\n',

    // Descriptions are written folded (as YAML's >-): one paragraph, lines joined by spaces. @for@ and the other
    // @name@ markers become durations (the Go templates own $ and %).
    local describe(text, values) =
      local folded = std.join(' ', std.split(std.rstripChars(text, '\n'), '\n'));
      std.foldl(function(out, key) std.strReplace(out, '@' + key + '@', values[key]), std.objectFields(values), folded),

    local alert(name, severity, expr, summary, description, links, durations={}) = {
      alert: name,
      expr: promql.withSelector(expr, cfg.ruleSelector),
      [if std.objectHas(cfg.alertFor, name) then 'for']: cfg.alertFor[name],
      labels: { severity: severity },
      annotations: {
        summary: summary,
        description: describe(description, durations + if std.objectHas(cfg.alertFor, name) then { 'for': spelled(cfg.alertFor[name]) } else {}),
        runbook_url: cfg.runbookUrlPattern % name,
      } + links,
    },
    local reportLink = { report_url: '%s://{{ $labels.instance }}/tunnels/{{ $labels.tunnel | urlquery }}/report' % cfg.exporterScheme },
    local statusLink = { status_url: '%s://{{ $labels.instance }}/' % cfg.exporterScheme },
    local tunnelAlert(name, severity, condition, summary, description, durations={}) =
      alert(name, severity, withTunnelInfo(condition), summary, description, reportLink, durations),
    local siteAlert(name, severity, expr, summary, description) = alert(name, severity, expr, summary, description, statusLink),

    // The probe alerts look at 2 minutes of echo requests and wait `for:` on top.
    local unanswered(name) = { unanswered: spelled('%ds' % (seconds('2m') + seconds(cfg.alertFor[name]))) },
    // Requests that really went out: send errors are local failures (an unresolvable name), not lost replies.
    local sent(probe) =
      '(increase(ipsec_%(p)s_ping_requests_total[2m]) - (increase(ipsec_%(p)s_ping_send_errors_total[2m]) or 0 * increase(ipsec_%(p)s_ping_requests_total[2m])))' % { p: probe },

    groups+: [
      {
        name: 'ipsec-exporter.alerts',
        rules: [
          // Desynchronization, seen in the counters: one direction moves, the other has been flat for the whole 5m
          // window. An idle pair (both flat) never matches; a rekey overlap lasts seconds, not 5 minutes. Packets
          // where the source counts them, else bytes (FortiGate counts bytes only): `or` fills in per pair.
          // One fault, one page: a pair whose inside targets all went silent already pages as IpsecInsideUnreachable
          // (critical, minutes earlier, with this traffic evidence in its text), so that pair is left out here; the
          // other order (this one first) is an inhibition in deploy/alertmanager.
          tunnelAlert(
            'IpsecTunnelAsymmetricTraffic',
            'critical',
            |||
              (
                (
                  label_replace(
                    (tunnel_pair:ipsec_child_sa_sent_packets:rate5m or tunnel_pair:ipsec_child_sa_sent_bytes:rate5m) > 0
                      unless (tunnel_pair:ipsec_child_sa_received_packets:rate5m or tunnel_pair:ipsec_child_sa_received_bytes:rate5m) > 0,
                    "direction", "sent_only", "", "")
                or
                  label_replace(
                    (tunnel_pair:ipsec_child_sa_received_packets:rate5m or tunnel_pair:ipsec_child_sa_received_bytes:rate5m) > 0
                      unless (tunnel_pair:ipsec_child_sa_sent_packets:rate5m or tunnel_pair:ipsec_child_sa_sent_bytes:rate5m) > 0,
                    "direction", "received_only", "", "")
                )
                unless on(job, instance, tunnel, local_ts, remote_ts)
                  ALERTS{alertname="IpsecInsideUnreachable", severity="critical", alertstate="firing"}
              )
            |||,
            'IPsec tunnel {{ $labels.tunnel }} carries traffic one way only on {{ $labels.local_ts }} <-> {{ $labels.remote_ts }}',
            |||
              {{ if eq $labels.direction "sent_only" }}Packets are sent into the tunnel ({{ $value | humanize }} packets/s,
              bytes/s where the source counts only bytes) but none has been received for at least @for@{{ else }}Packets
              are received from the tunnel ({{ $value | humanize }} packets/s, bytes/s where the source counts only bytes)
              but none has been sent for at least @for@{{ end }} on network pair
              {{ $labels.local_ts }} <-> {{ $labels.remote_ts }}. One side of the IPsec association is desynchronized:
              it uses an SPI the other side no longer knows. Compare the SPI associations on both gateways; a tunnel reset
              on one side rarely helps. Local gateway {{ $labels.local_gateway }} at {{ $labels.location }}, remote
              gateway {{ $labels.remote_gateway }}.
            |||,
          ),

          // Several SPI associations for one network pair. A rekey overlaps old and new SA for seconds; 5 minutes is
          // far beyond any overlap.
          tunnelAlert(
            'IpsecDuplicateChildSas',
            'warning',
            whileSourceUp('ipsec_child_sas{local_ts!="unmatched"} > 1\n'),
            'IPsec tunnel {{ $labels.tunnel }} has {{ $value }} CHILD SAs for {{ $labels.local_ts }} <-> {{ $labels.remote_ts }}',
            |||
              Network pair {{ $labels.local_ts }} <-> {{ $labels.remote_ts }} of tunnel {{ $labels.tunnel }} has had
              {{ $value }} installed CHILD SAs (SPI associations) for more than @for@; a healthy pair has one, two
              only while it rekeys. The gateways are desynchronized, typically after a rekey race: traffic may already
              go to an SPI the peer dropped. Local gateway {{ $labels.local_gateway }} at {{ $labels.location }}, remote
              gateway {{ $labels.remote_gateway }}.
            |||,
          ),

          // Phase 1 is up but a configured pair has no CHILD SA: nothing can flow on that pair.
          tunnelAlert(
            'IpsecPhase2Missing',
            'critical',
            whileSourceUp(|||
              ipsec_child_sas{local_ts!="unmatched"} == 0
              and on(job, instance, tunnel) ipsec_ike_sa_established == 1
            |||),
            'IPsec tunnel {{ $labels.tunnel }}: Phase 1 is up but {{ $labels.local_ts }} <-> {{ $labels.remote_ts }} has no CHILD SA',
            |||
              The IKE SA (Phase 1) of tunnel {{ $labels.tunnel }} is established, but the configured network pair
              {{ $labels.local_ts }} <-> {{ $labels.remote_ts }} has had no installed CHILD SA (Phase 2) for @for@:
              no traffic can pass between these networks. A green Phase 1 does not mean the tunnel works. Local gateway
              {{ $labels.local_gateway }} at {{ $labels.location }}, remote gateway {{ $labels.remote_gateway }}.
            |||,
          ),

          tunnelAlert(
            'IpsecPhase1Down',
            'critical',
            whileSourceUp('ipsec_ike_sa_established == 0\n'),
            'IPsec tunnel {{ $labels.tunnel }}: Phase 1 (IKE SA) is down',
            |||
              Tunnel {{ $labels.tunnel }} has had no established IKE SA (Phase 1) for @for@: the gateways have no
              agreement, nothing passes. Local gateway {{ $labels.local_gateway }} at {{ $labels.location }}, remote
              gateway {{ $labels.remote_gateway }}. Check local internet connectivity and the remote gateway's
              reachability first.
            |||,
          ),

          // Partial loss on the internet path to the peer. Total loss is IpsecGatewayUnreachable's job (< 1).
          tunnelAlert(
            'IpsecGatewayPacketLoss',
            'warning',
            '(tunnel:ipsec_gateway_ping_loss:ratio_rate5m > %s < 1)\n' % promql.number(cfg.gatewayPacketLossRatio),
            'IPsec tunnel {{ $labels.tunnel }}: {{ $value | humanizePercentage }} packet loss to remote gateway {{ $labels.remote_gateway }}',
            |||
              {{ $value | humanizePercentage }} of the echo requests to the public address of remote gateway
              {{ $labels.remote_gateway }} (tunnel {{ $labels.tunnel }}) went unanswered over the last 5 minutes, for
              more than @for@. IPsec performs no better than the internet path under it. Local gateway
              {{ $labels.local_gateway }} at {{ $labels.location }}.
            |||,
          ),

          // Echo requests went out for 2 minutes and not one came back (requests that could not be sent do not count:
          // an unresolvable name is IpsecRemoteGatewayUnresolvable).
          tunnelAlert(
            'IpsecGatewayUnreachable',
            'critical',
            |||
              (
                %s > 0
                unless increase(ipsec_gateway_ping_responses_total[2m]) > 0
              )
            ||| % sent('gateway'),
            'IPsec tunnel {{ $labels.tunnel }}: remote gateway {{ $labels.remote_gateway }} does not answer pings',
            |||
              None of the echo requests sent to the public address of remote gateway {{ $labels.remote_gateway }}
              (tunnel {{ $labels.tunnel }}) has been answered for @unanswered@. Either the internet path or the peer is down,
              or the peer drops ICMP (ask the partner to allow it: it makes troubleshooting possible). Local gateway
              {{ $labels.local_gateway }} at {{ $labels.location }}.
            |||,
            unanswered('IpsecGatewayUnreachable'),
          ),

          // Pings through the tunnel to inside addresses get no reply, judged per network pair (each pair is its own
          // CHILD SA and desynchronizes on its own; a target belongs to the pair whose remote network holds it).
          // Critical, once per pair, when no target of the pair answers: the pair carries nothing back. Its page shows
          // the pair's traffic counters, the asymmetric-traffic evidence; IpsecTunnelAsymmetricTraffic of the same pair
          // inhibits it in Alertmanager (deploy/alertmanager), so one fault pages once.
          tunnelAlert(
            'IpsecInsideUnreachable',
            'critical',
            |||
              (
                sum without(target) %s > 0
                unless sum without(target) (increase(ipsec_inside_ping_responses_total[2m])) > 0
              )
            ||| % sent('inside'),
            'IPsec tunnel {{ $labels.tunnel }}: no inside address of {{ $labels.local_ts }} <-> {{ $labels.remote_ts }} answers through the tunnel',
            |||
              Echo requests sent through tunnel {{ $labels.tunnel }} to the inside addresses of network pair
              {{ $labels.local_ts }} <-> {{ $labels.remote_ts }}
              ({{ range $i, $s := query (printf "ipsec_inside_ping_requests_total{job=%q,instance=%q,tunnel=%q,local_ts=%q,remote_ts=%q}" $labels.job $labels.instance $labels.tunnel $labels.local_ts $labels.remote_ts) | sortByLabel "target" }}{{ if $i }}, {{ end }}{{ $s.Labels.target }}{{ end }})
              have had no reply for @unanswered@: the pair carries nothing back.
              {{ with query (printf "tunnel_pair:ipsec_child_sa_sent_packets:rate5m{job=%q,instance=%q,tunnel=%q,local_ts=%q,remote_ts=%q}" $labels.job $labels.instance $labels.tunnel $labels.local_ts $labels.remote_ts) }}Its CHILD SA sends {{ . | first | value | printf "%.3g" }} packets/s{{ end }}{{ with query (printf "tunnel_pair:ipsec_child_sa_received_packets:rate5m{job=%q,instance=%q,tunnel=%q,local_ts=%q,remote_ts=%q}" $labels.job $labels.instance $labels.tunnel $labels.local_ts $labels.remote_ts) }} and receives {{ . | first | value | printf "%.3g" }} packets/s (5m rate); sent without received means one side is desynchronized{{ end }}.
              {{ with query (printf "count(ipsec_inside_ping_requests_total{job=%q,instance=%q,tunnel=%q,local_ts=%q,remote_ts=%q})" $labels.job $labels.instance $labels.tunnel $labels.local_ts $labels.remote_ts) }}{{ if eq (. | first | value) 1.0 }}The pair has a single inside target: add a second inside target to tell a host fault from a desynchronized SA. {{ end }}{{ end }}Local
              gateway {{ $labels.local_gateway }} at {{ $labels.location }}, remote gateway {{ $labels.remote_gateway }}.
            |||,
            unanswered('IpsecInsideUnreachable'),
          ),
          // Warning when another target of the same pair answers: the pair works, the problem is local to that host.
          tunnelAlert(
            'IpsecInsideUnreachable',
            'warning',
            |||
              (
                %s > 0
                unless increase(ipsec_inside_ping_responses_total[2m]) > 0
                and ignoring(target) increase(ipsec_inside_ping_responses_total[2m]) > 0
              )
            ||| % sent('inside'),
            'IPsec tunnel {{ $labels.tunnel }}: inside address {{ $labels.target }} does not answer, other targets of {{ $labels.local_ts }} <-> {{ $labels.remote_ts }} do',
            |||
              Echo requests sent through tunnel {{ $labels.tunnel }} to inside address {{ $labels.target }} have had no
              reply for @unanswered@ while other inside targets of the same network pair {{ $labels.local_ts }} <->
              {{ $labels.remote_ts }} answer: that pair works, the problem is likely local to {{ $labels.target }} (host
              down, host firewall, route). Local gateway {{ $labels.local_gateway }} at {{ $labels.location }}, remote
              gateway {{ $labels.remote_gateway }}.
            |||,
            unanswered('IpsecInsideUnreachable'),
          ),

          // The observed public IP of this site changed in the last hour (an event: resolves an hour later).
          siteAlert(
            'IpsecPublicIpChanged',
            'warning',
            'increase(ipsec_public_ip_changes_total[1h]) > 0',
            'The public IP address of the IPsec site at {{ $labels.instance }} changed',
            |||
              The public IP address this site uses on the internet changed within the last hour; it is now
              {{ with query (printf "ipsec_public_ip_info{job=%q,instance=%q}" $labels.job $labels.instance) }}{{ . | first | label "address" }}{{ else }}unknown{{ end }}.
              Every partner whose gateway is configured with the old address must update it, or their tunnels to this
              site will fail.
            |||,
          ),
          // The observed public IP differs from site.public_ip, the address the partners are configured with. A
          // separate alert from the change event above, so that silencing one does not silence the other.
          siteAlert(
            'IpsecPublicIpUnexpected',
            'critical',
            'ipsec_public_ip_matches_expected == 0',
            'The IPsec site at {{ $labels.instance }} is not using its expected public IP address',
            |||
              This site reaches the internet from
              {{ with query (printf "ipsec_public_ip_info{job=%q,instance=%q}" $labels.job $labels.instance) }}{{ . | first | label "address" }}{{ else }}an unknown address{{ end }},
              not from the configured site.public_ip that partner gateways expect, for @for@. Tunnels fail as soon
              as the peers see the new address (new connections, rekeys).
            |||,
          ),

          tunnelAlert(
            'IpsecRemoteGatewayAddressChanged',
            'warning',
            '(increase(ipsec_remote_gateway_address_changes_total[1h]) > 0)\n',
            'IPsec tunnel {{ $labels.tunnel }}: remote gateway {{ $labels.remote_gateway }} changed its address',
            |||
              The remote gateway name {{ $labels.remote_gateway }} of tunnel {{ $labels.tunnel }} resolved to a new
              address within the last hour; it now resolves to
              {{ range $i, $s := query (printf "ipsec_remote_gateway_address_info{job=%q,instance=%q,tunnel=%q}" $labels.job $labels.instance $labels.tunnel) | sortByLabel "address" }}{{ if $i }}, {{ end }}{{ $s.Labels.address }}{{ end }} (local gateway
              {{ $labels.local_gateway }} at {{ $labels.location }}). Peers identified by IP address must be updated on
              this gateway; a public IP change is a common cause of a failing tunnel.
            |||,
          ),

          // The remote gateway's DNS name has not resolved for 5 minutes: it cannot be pinged (its requests count as
          // send errors), and the IKE daemon, resolving the same name, cannot reach the peer at the next (re)connection.
          tunnelAlert(
            'IpsecRemoteGatewayUnresolvable',
            'warning',
            '(ipsec_remote_gateway_resolution_success == 0)\n',
            'IPsec tunnel {{ $labels.tunnel }}: remote gateway name {{ $labels.remote_gateway }} does not resolve',
            |||
              The remote gateway name {{ $labels.remote_gateway }} of tunnel {{ $labels.tunnel }} has not resolved for
              @for@{{ with query (printf "ipsec_remote_gateway_address_info{job=%q,instance=%q,tunnel=%q}" $labels.job $labels.instance $labels.tunnel) }}
              (still probing its last address, {{ . | first | label "address" }}){{ else }}, and never did: the gateway cannot be pinged{{ end }}.
              The IKE daemon resolves the same name: new connections and reauthentications fail until it resolves again.
              Check the DNS record with the partner and this site's resolver. Local gateway {{ $labels.local_gateway }} at
              {{ $labels.location }}.
            |||,
          ),

          // Rekey times are computed from the clock; a drifting clock desynchronizes. Only answering servers count.
          siteAlert(
            'IpsecClockSkew',
            'warning',
            |||
              abs(ipsec_clock_offset_seconds) > %s
              and on(job, instance, server) ipsec_clock_probe_success == 1
            ||| % promql.number(cfg.clockSkewSeconds),
            'The clock of the IPsec site at {{ $labels.instance }} is off by more than %ss from {{ $labels.server }}' % promql.number(cfg.clockSkewSeconds),
            |||
              The clock of the host at {{ $labels.instance }} differs from time server {{ $labels.server }} by
              {{ with query (printf "ipsec_clock_offset_seconds{job=%q,instance=%q,server=%q}" $labels.job $labels.instance $labels.server) }}{{ . | first | value | humanize }}s{{ end }}
              (negative: local clock behind) for @for@. Rekey times are computed from the clock: a drifting clock
              causes desynchronization. Synchronize the gateway with a reliable NTP server.
            |||,
          ),

          // Configuration advice from the article; slow to change, so slow to alert.
          tunnelAlert(
            'IpsecBestPracticeViolated',
            'info',
            '(ipsec_best_practice == 0)\n',
            'IPsec tunnel {{ $labels.tunnel }} does not follow the best practice {{ $labels.practice }}',
            |||
              Tunnel {{ $labels.tunnel }} (local gateway {{ $labels.local_gateway }} at {{ $labels.location }}, remote
              gateway {{ $labels.remote_gateway }}) has not followed best practice {{ $labels.practice }} for @for@:
              {{ if eq $labels.practice "pfs" }}rekeyed CHILD SAs carry no DH group; enable Perfect Forward Secrecy, which
              also renegotiates Phase 2 more often.{{ else if eq $labels.practice "short_lifetimes" }}rekey lifetimes are
              long; the more time passes between renegotiations, the longer a desynchronization can last.{{ else if eq $labels.practice "phase2_two_thirds_phase1" }}the
              Phase 2 rekey time is not about two thirds of the Phase 1 rekey time, so both rekeys often coincide (rekey
              races).{{ else if eq $labels.practice "time_sync" }}the clock is not synchronized with a reliable time
              source; rekey times are computed from it.{{ else }}see the runbook.{{ end }}
            |||,
          ),

          // An IKE rekey and a CHILD rekey of a pair within about a minute of each other, counted in minutes over a
          // day. One collision shows in one or two minutes, so 3 minutes means at least two collisions.
          tunnelAlert(
            'IpsecRekeyCollision',
            'info',
            '(count_over_time(tunnel_pair:ipsec_rekeys_colliding:increase2m[1d]) >= %d)\n' % cfg.rekeyCollisionMinutes,
            'IPsec tunnel {{ $labels.tunnel }}: IKE and CHILD SA rekeys collide repeatedly on {{ $labels.local_ts }} <-> {{ $labels.remote_ts }}',
            |||
              On tunnel {{ $labels.tunnel }}, the IKE SA and the CHILD SA of network pair {{ $labels.local_ts }} <->
              {{ $labels.remote_ts }} were rekeyed within the same minute repeatedly over the last day
              ({{ $value }} minutes). Such rekey races confuse some gateways into keeping a pair on the old Phase 2 while
              the peer moved on (desynchronization). Set the Phase 2 lifetime to about two thirds of the Phase 1 lifetime.
              Local gateway {{ $labels.local_gateway }} at {{ $labels.location }}, remote gateway
              {{ $labels.remote_gateway }}.
            |||,
          ),

          // The exporter cannot read SA state from this source: the SA alerts of its tunnels are suspended meanwhile.
          siteAlert(
            'IpsecSourceDown',
            'critical',
            'ipsec_source_up == 0',
            'ipsec-exporter at {{ $labels.instance }} cannot read SA state from source {{ $labels.source }}',
            |||
              Collections from source {{ $labels.source }} have failed for @for@ (last success:
              {{ with query (printf "time() - ipsec_source_last_success_timestamp_seconds{job=%q,instance=%q,source=%q}" $labels.job $labels.instance $labels.source) }}{{ . | first | value | humanizeDuration }} ago{{ else }}never{{ end }}).
              Phase 1, Phase 2 and SPI alerts of its tunnels{{ with query (printf "ipsec_tunnel_info{job=%q,instance=%q,source=%q}" $labels.job $labels.instance $labels.source) | sortByLabel "tunnel" }}
              ({{ range $i, $s := . }}{{ if $i }}, {{ end }}{{ $s.Labels.tunnel }}{{ end }}){{ end }} are not evaluated
              meanwhile. For a local strongSwan, a dead charon (VICI socket gone) also means its
              tunnels are down.
            |||,
          ),

          // `up` has no ipsec_ prefix: a target is an exporter when its job matches exporterJobSelector or when it
          // exposed ipsec_exporter_build_info within the last day, whatever its job is called. With no build_info
          // series at all, service discovery lost every exporter; that label-free alert stays quiet while a down
          // exporter is still a target (its build_info goes stale after 5 minutes), so one dead exporter pages once,
          // not twice. No status link: the exporter is what does not answer.
          alert(
            'IpsecExporterDown',
            'critical',
            |||
              up{%(jobs)s} == 0
              or
              (up == 0 and on(job, instance) max_over_time(ipsec_exporter_build_info[1d]))
              or
              (
                absent(ipsec_exporter_build_info)
                unless on()
                  (up{%(jobs)s} == 0 or (up == 0 and on(job, instance) max_over_time(ipsec_exporter_build_info[1d])))
              )
            ||| % { jobs: cfg.exporterJobSelector },
            'ipsec-exporter {{ with $labels.instance }}at {{ . }} {{ end }}is down',
            |||
              {{ with $labels.instance }}Prometheus has failed to scrape ipsec-exporter at {{ . }} (job {{ $labels.job }})
              for @for@.{{ else }}No ipsec-exporter has been scraped for @for@ (no ipsec_exporter_build_info
              series at all): service discovery lost the exporters, or their scrape job was removed.{{ end }} The tunnels
              it watches are not monitored meanwhile: their alerts resolve, not because the tunnels work.
            |||,
            {},
          ),
        ],
      },
    ],
  },
}

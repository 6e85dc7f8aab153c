// Everything a deployment may want to change, in one place. Override it when importing the mixin:
//   (import 'mixin/mixin.libsonnet') + { _config+:: { ruleSelector: 'job="ipsec"' } }
// docs/ALERTS.md and docs/DASHBOARDS.md describe every field; scripts/generate-mixin.sh writes alerts/ and
// dashboards/ with these defaults.
{
  _config+:: {
    // Rules select the exporter's series by metric name, whatever the scrape job is called. A selector here is added
    // to every ipsec_* series the rules read (e.g. 'job="ipsec-exporter"' to ignore other Prometheus tenants).
    ruleSelector: '',
    // `up` has no ipsec_ prefix: IpsecExporterDown takes the targets of these jobs for exporters (and, whatever the
    // job, every target that exposed ipsec_exporter_build_info within the last day).
    exporterJobSelector: 'job=~".*ipsec.*"',

    // Thresholds (docs/ALERTS.md says why each value).
    gatewayPacketLossRatio: 0.05,
    // The exporter's default best_practices.max_clock_offset, so the alert and the time_sync practice agree.
    clockSkewSeconds: 1,
    // Minutes of a day with colliding IKE and CHILD rekeys; one collision shows in one or two minutes.
    rekeyCollisionMinutes: 3,

    // `for:` of each alert; the descriptions name these durations.
    alertFor: {
      IpsecTunnelAsymmetricTraffic: '5m',
      IpsecDuplicateChildSas: '5m',
      IpsecPhase2Missing: '2m',
      IpsecPhase1Down: '2m',
      IpsecGatewayPacketLoss: '10m',
      IpsecGatewayUnreachable: '1m',
      IpsecInsideUnreachable: '1m',
      IpsecPublicIpUnexpected: '5m',
      IpsecRemoteGatewayUnresolvable: '5m',
      IpsecClockSkew: '10m',
      IpsecBestPracticeViolated: '1h',
      IpsecSourceDown: '2m',
      IpsecExporterDown: '2m',
    },

    // runbook_url of an alert: the pattern with the alert name for %s.
    runbookUrlPattern: 'https://github.com/ipsec-exporter/ipsec-exporter/blob/main/docs/runbooks/%s.md',
    // Links to the exporter's own pages (report_url, status_url, the dashboards' report links) take `instance` for
    // the exporter's host:port. Behind TLS (--web-config): 'https'.
    exporterScheme: 'http',

    // Dashboards: every series a panel queries carries this selector, fed by the job and instance variables.
    dashboardSelector: 'job=~"$job", instance=~"$instance"',
    // Which series list the exporters in the job and instance variables.
    dashboardExporterMetric: 'ipsec_exporter_build_info',
    dashboardTags: ['ipsec', 'ipsec-exporter'],
    dashboardRefresh: '30s',
    dashboardTimeFrom: 'now-6h',
    dashboardUids: {
      overview: 'ipsec-exporter-overview',
      tunnel: 'ipsec-exporter-tunnel',
    },
  },
}

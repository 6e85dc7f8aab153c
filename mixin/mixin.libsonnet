// The ipsec-exporter monitoring mixin: Prometheus recording rules (prometheusRules), alerts (prometheusAlerts) and
// Grafana dashboards (grafanaDashboards), configured by _config (config.libsonnet). docs/ALERTS.md: how to import it.
(import 'config.libsonnet')
+ (import 'rules.libsonnet')
+ (import 'alerts.libsonnet')
+ (import 'dashboards/dashboards.libsonnet')

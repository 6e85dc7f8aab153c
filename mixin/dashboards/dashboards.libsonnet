// Grafana dashboards (grafanaDashboards: file name -> dashboard JSON), written to dashboards/ by scripts/generate-mixin.sh.
(import 'overview.libsonnet')
+ (import 'tunnel.libsonnet')

#!/usr/bin/env bash
# deploy/compose, every file checked by its own tool (docs/COMPOSE.md):
#  - compose.yaml against the Compose schema (docker-compose config -q, which needs no daemon), with and without
#    the demo profile;
#  - prometheus/prometheus.yml with promtool check config, its rule_files glob pointed at alerts/ as compose mounts it;
#  - alertmanager/alertmanager.yml with amtool check-config;
#  - exporter/config.yaml with ipsec-exporter check-config; the webhook receiver and gateway scripts parse.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/validate-deps.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bundle=deploy/compose

echo "-- compose.yaml"
docker-compose -f "$bundle/compose.yaml" config -q
docker-compose -f "$bundle/compose.yaml" --profile demo config -q
services=$(docker-compose -f "$bundle/compose.yaml" --profile demo config --services | sort | tr '\n' ' ')
[ "$services" = "alertmanager exporter gateway-branch gateway-hq grafana prometheus webhook " ] || { echo "FAIL: services: $services" >&2; exit 1; }

echo "-- prometheus.yml"
sed "s|/etc/prometheus/rules/|$PWD/alerts/|" "$bundle/prometheus/prometheus.yml" >"$work/prometheus.yml"
promtool check config "$work/prometheus.yml"

echo "-- alertmanager.yml"
amtool check-config "$bundle/alertmanager/alertmanager.yml"

echo "-- exporter, receiver, gateway scripts"
ci_exporter check-config --config "$bundle/exporter/config.yaml"
python3 -c "import ast, sys; ast.parse(open(sys.argv[1]).read())" "$bundle/webhook/receiver.py"
for script in "$bundle"/gateway/entrypoint.sh "$bundle"/gateway/drop-direction "$bundle"/gateway/restore; do sh -n "$script"; done
echo "-- compose-config: all checks passed"

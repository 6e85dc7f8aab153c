#!/usr/bin/env bash
# Alerting and recording rules, dashboards and the deploy examples, checked with the real promtool and amtool:
#  - promtool check rules / test rules on alerts/ (every alert just before and after its `for:`, non-firing cases);
#  - the shortened copy for end-to-end tests (scripts/shorten-rules.py) checks and fires as fast as documented;
#  - every dashboard query parses as PromQL (Grafana variables replaced by sample values);
#  - promtool check config on deploy/prometheus, amtool check-config on deploy/alertmanager.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "-- promtool check rules"
promtool check rules alerts/*.yaml
echo "-- promtool test rules"
promtool test rules alerts/tests/*.yaml

echo "-- shortened rules for end-to-end tests"
python3 scripts/shorten-rules.py alerts/ipsec-exporter.rules.yaml "$work/ipsec-exporter.rules.short.yaml"
promtool check rules "$work/ipsec-exporter.rules.short.yaml"
cp alerts/tests/shortened/*.test.yaml "$work/"
promtool test rules "$work"/*.test.yaml

echo "-- dashboard queries parse"
python3 - "$work/dashboard-queries.yaml" dashboards/*.json <<'PY'
import json, re, sys

def walk(node):
    if isinstance(node, dict):
        if isinstance(node.get("expr"), str):
            yield node["expr"]
        if node.get("type") == "query" and isinstance(node.get("query"), str):
            match = re.fullmatch(r"label_values\((.*),\s*\w+\)", node["query"])
            yield match.group(1) if match else node["query"]
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)

values = {"$__rate_interval": "1m", "$job": "ipsec-exporter", "$instance": "gw1:9478", "$tunnel": "hq-branch-b", "$target": "10.2.0.1"}
rules = []
for path in sys.argv[2:]:
    for expr in walk(json.load(open(path, encoding="utf-8"))):
        for variable, value in values.items():
            expr = expr.replace(variable, value)
        if "$" in expr:
            sys.exit(f"{path}: unknown Grafana variable in {expr!r}")
        rules.append({"record": f"dashboard_query_{len(rules)}", "expr": expr})
print(f"{len(rules)} queries from {len(sys.argv) - 2} dashboards")
with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump({"groups": [{"name": "dashboards", "rules": rules}]}, out)
PY
promtool check rules "$work/dashboard-queries.yaml"

echo "-- deploy examples"
promtool check config deploy/prometheus/prometheus.yml
amtool check-config deploy/alertmanager/alertmanager.yml

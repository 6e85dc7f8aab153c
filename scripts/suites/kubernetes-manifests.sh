#!/usr/bin/env bash
# deploy/kubernetes (docs/KUBERNETES.md):
#  - prometheusrule.yaml is what scripts/generate-prometheusrule.py makes of alerts/ (fails when stale), and its
#    spec passes promtool check rules;
#  - every manifest matches the Kubernetes / prometheus-operator API shapes (scripts/validate/kubernetes.mjs: the
#    kubernetes-models JSON schemas at run time, and their TypeScript types, which reject unknown fields);
#  - the ConfigMap's config.yaml passes `ipsec-exporter check-config`;
#  - kustomization.yaml lists every manifest.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/validate-deps.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "-- PrometheusRule generated from alerts/"
python3 scripts/generate-prometheusrule.py --check
ci_validate_deps
node -e '
const { parse } = require("./scripts/validate/node_modules/yaml");
const fs = require("fs");
const rule = parse(fs.readFileSync("deploy/kubernetes/prometheusrule.yaml", "utf8"));
fs.writeFileSync(process.argv[1], JSON.stringify(rule.spec));
' "$work/rules.json"
promtool check rules "$work/rules.json"

echo "-- API schemas"
node scripts/validate/kubernetes.mjs deploy/kubernetes

echo "-- the ConfigMap's configuration"
node -e '
const { parse } = require("./scripts/validate/node_modules/yaml");
const fs = require("fs");
fs.writeFileSync(process.argv[1], parse(fs.readFileSync("deploy/kubernetes/configmap.yaml", "utf8")).data["config.yaml"]);
' "$work/config.yaml"
ci_exporter check-config --config "$work/config.yaml"

echo "-- kustomization lists every manifest"
for manifest in deploy/kubernetes/*.yaml; do
  name=$(basename "$manifest")
  [ "$name" = kustomization.yaml ] || grep -qx "  - $name" deploy/kubernetes/kustomization.yaml || { echo "FAIL: $name not in kustomization.yaml" >&2; exit 1; }
done
echo "-- kubernetes-manifests: all checks passed"

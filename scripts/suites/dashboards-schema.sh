#!/usr/bin/env bash
# dashboards/*.json against Grafana's own schema with TypeScript (scripts/validate/dashboards.mjs, @grafana/schema
# pinned in scripts/validate/package-lock.json to the Grafana of deploy/compose), and the compose bundle's Grafana
# provisioning: the dashboard provider reads the directory compose mounts dashboards/ at, the datasource is
# Prometheus at the compose service. What this proves and does not: docs/DASHBOARDS.md.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/validate-deps.sh
ci_validate_deps

echo "-- dashboards against @grafana/schema"
node scripts/validate/dashboards.mjs dashboards/*.json

echo "-- Grafana provisioning of the compose bundle"
node -e '
const { parse } = require("./scripts/validate/node_modules/yaml");
const fs = require("fs");
const fail = (m) => { console.error("FAIL: " + m); process.exit(1); };
const dir = "deploy/compose/grafana/provisioning";
const ds = parse(fs.readFileSync(`${dir}/datasources/prometheus.yaml`, "utf8"));
const providers = parse(fs.readFileSync(`${dir}/dashboards/ipsec-exporter.yaml`, "utf8"));
const compose = parse(fs.readFileSync("deploy/compose/compose.yaml", "utf8"));
if (ds.apiVersion !== 1 || providers.apiVersion !== 1) fail("provisioning apiVersion must be 1");
const prometheus = ds.datasources?.find((d) => d.type === "prometheus");
if (!prometheus?.isDefault || prometheus.url !== "http://prometheus:9090") fail("no default Prometheus datasource at http://prometheus:9090");
const path = providers.providers?.[0]?.options?.path;
if (!compose.services.grafana.volumes.some((v) => v === `../../dashboards:${path}:ro`)) fail(`dashboard provider path ${path} is not where compose mounts dashboards/`);
console.log("datasource and dashboard provider match compose.yaml");
'
echo "-- dashboards-schema: all checks passed"

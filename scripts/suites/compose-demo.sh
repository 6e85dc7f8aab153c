#!/usr/bin/env bash
# The compose bundle's demo, end to end under podman-compose (docs/COMPOSE.md): two real strongSwan gateways
# (kernel-libipsec) with a tunnel and pings through it, the exporter reading the HQ gateway's VICI socket, Prometheus
# with our rules, Alertmanager, the example webhook receiver. Grafana is left out (no image obtainable here).
#  - the exporter sees the tunnel carry traffic both ways;
#  - `drop-direction` in the HQ gateway makes Alertmanager deliver IpsecTunnelAsymmetricTraffic (direction
#    sent_only, tunnel hq-branch) to the webhook receiver.
# CI runs the rules shortened 15 times (scripts/shorten-rules.py) with 1 s scrapes and evaluations, and Alertmanager
# without group_wait, so the alert arrives about a minute after the drop instead of ten.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
source scripts/lib/container-images.sh
ci_podman_setup
t0=$SECONDS
ci_ensure_monitoring_images
ci_build_exporter_image localhost/ipsec-exporter:ci
gateway_image=localhost/ipsec-exporter-demo-gateway:ci
podman build -q --format docker -t "$gateway_image" --build-arg BASE_IMAGE="$CI_BASE_IMAGE" deploy/compose/gateway >/dev/null
echo "-- images ready after $((SECONDS - t0))s"

work=$(mktemp -d)
project=ipsec-exporter-demo-$$
compose=(podman-compose -f "$root/deploy/compose/compose.yaml" -p "$project")
cleanup() {
  "${compose[@]}" down -v >/dev/null 2>&1 || true
  podman volume rm -f "${project}_charon-run" "${project}_prometheus-data" "${project}_alertmanager-data" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for service in gateway-hq gateway-branch exporter prometheus alertmanager webhook; do
    echo "--- log of $service" >&2; podman logs "${project}_${service}_1" 2>&1 | tail -15 >&2 || true
  done
  exit 1
}

mkdir -p "$work/rules"
python3 scripts/shorten-rules.py alerts/ipsec-exporter.rules.yaml "$work/rules/ipsec-exporter.rules.yaml" >/dev/null
sed 's/^\(  scrape_interval:\).*/\1 1s/; s/^\(  evaluation_interval:\).*/\1 1s/' deploy/compose/prometheus/prometheus.yml >"$work/prometheus.yml"
sed 's/^\(  group_wait:\).*/\1 1s/; s/^\(  group_interval:\).*/\1 1s/' deploy/compose/alertmanager/alertmanager.yml >"$work/alertmanager.yml"
grep -q 'scrape_interval: 1s' "$work/prometheus.yml" && grep -q 'group_wait: 1s' "$work/alertmanager.yml" || fail "CI copies of the configs"

export EXPORTER_IMAGE=localhost/ipsec-exporter:ci GATEWAY_IMAGE=$gateway_image \
  PROMETHEUS_IMAGE=$CI_PROMETHEUS_IMAGE ALERTMANAGER_IMAGE=$CI_ALERTMANAGER_IMAGE PYTHON_IMAGE=$CI_PYTHON_IMAGE \
  PROMETHEUS_CONFIG=$work/prometheus.yml ALERTMANAGER_CONFIG=$work/alertmanager.yml RULES_DIR=$work/rules \
  EXPORTER_PORT=$(ci_free_port) PROMETHEUS_PORT=$(ci_free_port) ALERTMANAGER_PORT=$(ci_free_port) WEBHOOK_PORT=$(ci_free_port) \
  GRAFANA_PORT=$(ci_free_port)
t1=$SECONDS
# podman-compose 1.0 ignores profiles: the services are named (Grafana left out).
"${compose[@]}" up -d gateway-hq gateway-branch exporter prometheus alertmanager webhook >"$work/up.log" 2>&1 ||
  { tail -30 "$work/up.log" >&2; fail "podman-compose up"; }

# Polls until a Python expression over the fetched JSON or text holds: poll SECONDS URL EXPRESSION DESCRIPTION
poll() {
  python3 - "$@" <<'PY' || fail "$4"
import json, sys, time, urllib.request
seconds, url, expression = int(sys.argv[1]), sys.argv[2], sys.argv[3]
deadline = time.monotonic() + seconds
last = None
while time.monotonic() < deadline:
    try:
        body = urllib.request.urlopen(url, timeout=3).read().decode()
        try:
            data = json.loads(body)
        except ValueError:
            data = body
        last = body[-600:]
        if eval(expression, {"data": data, "re": __import__("re")}):
            sys.exit(0)
    except OSError as e:
        last = str(e)
    time.sleep(0.5)
print(f"not within {seconds}s: {sys.argv[4]}; last answer: {last}", file=sys.stderr)
sys.exit(1)
PY
}

echo "-- the tunnel carries traffic both ways (exporter /metrics)"
metrics=http://127.0.0.1:$EXPORTER_PORT/metrics
both_ways='all(float(m) > 0 for m in re.findall(r"^ipsec_child_sa_(?:sent|received)_packets_total\{tunnel=\"hq-branch\"[^}]*\} (\S+)$", data, re.M)) and len(re.findall(r"^ipsec_child_sa_(?:sent|received)_packets_total\{tunnel=\"hq-branch\"", data, re.M)) == 2'
poll 120 "$metrics" "$both_ways" "packets sent and received on hq-branch"
echo "tunnel up and carrying traffic $((SECONDS - t1))s after podman-compose up"
poll 60 "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/query?query=tunnel_pair:ipsec_child_sa_received_packets:rate5m%3E0" \
  'len(data["data"]["result"]) == 1' "Prometheus sees packets received on the tunnel"

echo "-- drop-direction on the HQ gateway"
podman exec "${project}_gateway-hq_1" drop-direction
t2=$SECONDS
poll 240 "http://127.0.0.1:$WEBHOOK_PORT/alerts" \
  'any(a["status"] == "firing" and a["labels"].get("alertname") == "IpsecTunnelAsymmetricTraffic" and a["labels"].get("tunnel") == "hq-branch" and a["labels"].get("direction") == "sent_only" for a in data)' \
  "IpsecTunnelAsymmetricTraffic (sent_only, hq-branch) at the webhook receiver"
echo "IpsecTunnelAsymmetricTraffic reached the webhook $((SECONDS - t2))s after drop-direction"
echo "-- compose-demo: all checks passed in $((SECONDS - t0))s"

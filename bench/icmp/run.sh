#!/usr/bin/env bash
# ICMP probe benchmark: N targets (default 1,000) pinged every second for 60 s by
#   1. the exporter's probe engine (bench/icmp/ProbeBench: the exporter's own services via AddProbes, with a
#      /metrics render every 15 s as a Prometheus scrape causes),
#   2. fping -l -p 1000 (one packet every 1 ms across the targets: -i 1, else fping's default 10 ms spacing would
#      stretch a round over 1,000 targets to 10 s),
#   3. prometheus-blackbox-exporter's ICMP prober, driven the way it is used: a Prometheus scraping
#      /probe?module=icmp&target=... for every target every second (Prometheus's own CPU is reported apart).
# All three run at once, each in its own network namespace whose loopback answers every 127.0.0.0/8 target, so they
# share the machine's load but never see each other's echo replies. CPU seconds (utime+stime from /proc) are taken
# over the measurement window after a warm-up, so start-up (the .NET JIT) is reported separately.
# Usage (root): bench/icmp/run.sh [--targets 1000] [--seconds 60] [--warmup 15]
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

targets=1000
seconds=60
warmup=15
while [ $# -gt 0 ]; do
  case "$1" in
    --targets) targets=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    *) echo "usage: $0 [--targets N (a multiple of 5)] [--seconds S] [--warmup S]" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then
  echo "$0: run as root (network namespaces, raw sockets)" >&2
  exit 2
fi
if [ $((targets % 5)) -ne 0 ] || [ "$targets" -gt 1000 ]; then
  echo "$0: --targets must be a multiple of 5, at most 1000 (fping's -i 1 ms spacing fills 1 s with 1,000)" >&2
  exit 2
fi

missing=()
for package in fping prometheus-blackbox-exporter prometheus curl; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "== building bench/icmp/ProbeBench"
dotnet build bench/icmp/ProbeBench -c Release -nologo -v quiet >/dev/null

work=$(mktemp -d /tmp/icmp-bench.XXXXXX)
id=$$
ns_exporter=ibx-$id
ns_fping=ibf-$id
ns_blackbox=ibb-$id
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for ns in "$ns_exporter" "$ns_fping" "$ns_blackbox"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
for ns in "$ns_exporter" "$ns_fping" "$ns_blackbox"; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done

# The same address plan as ProbeBench: per tunnel one gateway 127.1.x.y and four inside targets 127.2.x.y.
tunnels=$((targets / 5))
python3 - "$tunnels" > "$work/targets.txt" <<'PY'
import sys
tunnels = int(sys.argv[1])
for t in range(tunnels):
    print(f"127.1.{t // 250}.{t % 250 + 1}")
for k in range(tunnels * 4):
    print(f"127.2.{k // 250}.{k % 250 + 1}")
PY

cat > "$work/blackbox.yml" <<'EOF'
modules:
  icmp:
    prober: icmp
    timeout: 2s
    icmp:
      preferred_ip_protocol: ip4
EOF
{
  echo "global: { scrape_interval: 1s, scrape_timeout: 1s }"
  echo "scrape_configs:"
  echo "  - job_name: blackbox-icmp"
  echo "    metrics_path: /probe"
  echo "    params: { module: [icmp] }"
  echo "    static_configs:"
  echo "      - targets:"
  sed 's/^/          - /' "$work/targets.txt"
  echo "    relabel_configs:"
  echo "      - { source_labels: [__address__], target_label: __param_target }"
  echo "      - { source_labels: [__param_target], target_label: instance }"
  echo "      - { target_label: __address__, replacement: '127.0.0.1:9115' }"
} > "$work/prometheus.yml"

cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
rss() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
hwm() { awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

echo "== starting (targets=$targets, warm-up ${warmup}s, window ${seconds}s)"
ip netns exec "$ns_exporter" dotnet bench/icmp/ProbeBench/bin/Release/net10.0/ProbeBench.dll "$tunnels" 4 $((warmup + seconds + 600)) 15 \
  > "$work/exporter.out" 2>&1 &
exporter=$!; pids+=("$exporter")
ip netns exec "$ns_fping" fping -l -q -p 1000 -i 1 -f "$work/targets.txt" > /dev/null 2> "$work/fping.err" &
fping_pid=$!; pids+=("$fping_pid")
ip netns exec "$ns_blackbox" prometheus-blackbox-exporter --config.file="$work/blackbox.yml" \
  --web.listen-address=127.0.0.1:9115 > "$work/blackbox.log" 2>&1 &
blackbox=$!; pids+=("$blackbox")
ip netns exec "$ns_blackbox" prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address=127.0.0.1:9090 > "$work/prometheus.log" 2>&1 &
prometheus=$!; pids+=("$prometheus")

sleep "$warmup"
for pid in "$exporter" "$fping_pid" "$blackbox" "$prometheus"; do
  kill -0 "$pid" 2>/dev/null || { echo "a contender died during the warm-up:"; tail -5 "$work"/*.out "$work"/*.err "$work"/*.log; exit 1; }
done
start_exporter=$(cpu "$exporter"); start_fping=$(cpu "$fping_pid"); start_blackbox=$(cpu "$blackbox"); start_prometheus=$(cpu "$prometheus")
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
window_start=$(date +%s)
sleep "$seconds"
end_exporter=$(cpu "$exporter"); end_fping=$(cpu "$fping_pid"); end_blackbox=$(cpu "$blackbox"); end_prometheus=$(cpu "$prometheus")
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
window_end=$(date +%s)
rss_exporter=$(rss "$exporter"); rss_fping=$(rss "$fping_pid"); rss_blackbox=$(rss "$blackbox"); rss_prometheus=$(rss "$prometheus")
hwm_exporter=$(hwm "$exporter"); hwm_fping=$(hwm "$fping_pid"); hwm_blackbox=$(hwm "$blackbox"); hwm_prometheus=$(hwm "$prometheus")

# Accuracy. Blackbox: probe_success over the window, from Prometheus.
query() {
  ip netns exec "$ns_blackbox" curl -sf --get "http://127.0.0.1:9090/api/v1/query" \
    --data-urlencode "query=$1" --data-urlencode "time=$window_end" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "nan")'
}
blackbox_probes=$(query "sum(count_over_time(probe_success{job=\"blackbox-icmp\"}[${seconds}s]))")
blackbox_failed=$(query "sum(count_over_time(probe_success{job=\"blackbox-icmp\"}[${seconds}s])) - sum(sum_over_time(probe_success{job=\"blackbox-icmp\"}[${seconds}s]))")
kill -INT "$fping_pid"; wait "$fping_pid" 2>/dev/null || true
kill -TERM "$exporter"; wait "$exporter" 2>/dev/null || true
read -r fping_sent fping_received < <(awk -F'[ /=,%]+' '/xmt\/rcv/ { for (i = 1; i <= NF; i++) if ($i == "loss") { s += $(i + 1); r += $(i + 2) } } END { print s + 0, r + 0 }' "$work/fping.err")
exporter_totals=$(grep '^targets=' "$work/exporter.out" || echo "no totals: $(tail -3 "$work/exporter.out")")

ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a / b:.2f}x' if b else 'n/a')" "$1" "$2"; }
delta() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
cpu_exporter=$(delta "$start_exporter" "$end_exporter")
cpu_fping=$(delta "$start_fping" "$end_fping")
cpu_blackbox=$(delta "$start_blackbox" "$end_blackbox")
cpu_prometheus=$(delta "$start_prometheus" "$end_prometheus")

cat <<EOF

## ICMP bench: $targets targets, 1 s interval, ${seconds} s window ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)
load average at start: $load_start; at end: $load_end

| prober | CPU s in window | vs fping | RSS MiB (peak) | accuracy on loopback |
|---|---|---|---|---|
| ipsec-exporter probe engine | $cpu_exporter (+ $start_exporter s start-up and warm-up) | $(ratio "$cpu_exporter" "$cpu_fping") | $rss_exporter ($hwm_exporter) | $exporter_totals |
| fping -l -p 1000 -i 1 | $cpu_fping | 1.00x | $rss_fping ($hwm_fping) | sent=$fping_sent received=$fping_received |
| blackbox_exporter icmp | $cpu_blackbox | $(ratio "$cpu_blackbox" "$cpu_fping") | $rss_blackbox ($hwm_blackbox) | probes=$blackbox_probes failed=$blackbox_failed |
| (Prometheus driving blackbox) | $cpu_prometheus | | $rss_prometheus ($hwm_prometheus) | |
EOF

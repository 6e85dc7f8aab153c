#!/usr/bin/env bash
# ICMP benchmark of the whole exporter: N loopback targets (default 1,000) pinged every second by
#   1. the real exporter process (`ipsec-exporter run`), with a VICI source on a real charon (testbed/testbed.sh), the
#      diagnosis, the site checks and the HTTP listener all running, and /metrics scraped every 15 s as Prometheus would;
#   2. fping -C (one packet every 1 ms across the targets: -i 1, else fping's default 10 ms spacing would stretch a
#      round over 1,000 targets to 10 s), which keeps every RTT and prints them at the end;
#   3. prometheus-blackbox-exporter's ICMP prober, driven the way it is used: a Prometheus scraping
#      /probe?module=icmp&target=... for every target every second (Prometheus's own CPU is reported apart).
# All run at once, each in its own network namespace whose loopback answers every 127.0.0.0/8 target, so they share
# the machine's load but never see each other's echo replies. CPU seconds (utime+stime from /proc) are taken over the
# window after a warm-up, so start-up (the .NET JIT) is reported separately. RTTs: the exporter's from its histograms
# over the window (mean exact from _sum/_count; p50/p99 interpolated within the 50 µs-doubling buckets, as
# histogram_quantile does), fping's from its own per-reply figures over the same seconds.
# --stress N runs `stress-ng --cpu N` beside them for the whole run.
# Usage (root): bench/icmp/run.sh [--targets 1000] [--seconds 60] [--warmup 20] [--stress 0] [--no-blackbox]
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

targets=1000
seconds=60
warmup=20
stress=0
blackbox=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --targets) targets=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --stress) stress=$2; shift 2 ;;
    --no-blackbox) blackbox=no; shift ;;
    *) echo "usage: $0 [--targets N (a multiple of 5)] [--seconds S] [--warmup S] [--stress CPUS] [--no-blackbox]" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then
  echo "$0: run as root (network namespaces, raw sockets, charon)" >&2
  exit 2
fi
if [ $((targets % 5)) -ne 0 ] || [ "$targets" -gt 1000 ]; then
  echo "$0: --targets must be a multiple of 5, at most 1000 (fping's -i 1 ms spacing fills 1 s with 1,000)" >&2
  exit 2
fi

# The bench's own tools (not the test suite's: .ci/apt-packages.txt), plus what testbed/testbed.sh needs.
missing=()
for package in fping prometheus-blackbox-exporter prometheus curl stress-ng python3 \
  strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins iproute2 nftables iputils-ping; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "== building the exporter (Release)"
dotnet build src/IpsecExporter -c Release -nologo -v quiet >/dev/null
exporter_dll=$root/src/IpsecExporter/bin/Release/net10.0/ipsec-exporter.dll

work=$(mktemp -d /tmp/icmp-bench.XXXXXX)
id=$$
testbed=ib$((id % 100000))
ns_exporter=ibx-$id
ns_fping=ibf-$id
ns_blackbox=ibb-$id
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for ns in "$ns_exporter" "$ns_fping" "$ns_blackbox"; do ip netns del "$ns" 2>/dev/null || true; done
  testbed/testbed.sh down --name "$testbed" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
for ns in "$ns_exporter" "$ns_fping" "$ns_blackbox"; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done
echo "== testbed $testbed (two charons, a real IKE SA and CHILD SAs)"
testbed/testbed.sh up --name "$testbed" > "$work/testbed.env"
vici=$(sed -n 's/^hq_vici=//p' "$work/testbed.env")
connection=$(sed -n 's/^hq_ike=//p' "$work/testbed.env")

# Per tunnel one gateway 127.1.x.y and four inside targets 127.2.x.y (from inside.source 127.0.0.1). Tunnel t0 is the
# testbed's established connection; the others name connections charon does not have (Phase 1 down), so the
# diagnosis has every kind of work.
tunnels=$((targets / 5))
mkdir "$work/exporter"  # its own directory: the exporter watches its configuration's directory
python3 - "$tunnels" "$vici" "$connection" "$work/targets.txt" > "$work/exporter/ipsec.yaml" <<'PY'
import sys
tunnels, vici, connection, targets_path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
gateways = [f"127.1.{t // 250}.{t % 250 + 1}" for t in range(tunnels)]
inside = [f"127.2.{k // 250}.{k % 250 + 1}" for k in range(tunnels * 4)]
with open(targets_path, "w") as targets:
    targets.write("\n".join(gateways + inside) + "\n")
print("site: { name: bench, public_ip_lookup: { method: none }, ntp_servers: [] }")
print(f'sources:\n  - {{ name: gw, type: vici, uri: "{vici}", interval: 5s }}')
# The p50/p99 below are interpolated within the buckets: 50 µs doubling (19), finer than the default.
buckets = ", ".join(f"{0.00005 * 2 ** i:g}" for i in range(19))
print(f"probes: {{ interval: 1s, timeout: 2s, rtt_buckets: [{buckets}] }}\ndiagnosis: {{ window: 2m }}\ntunnels:")
for t in range(tunnels):
    print(f"  - name: t{t}\n    source: gw\n    connection: {connection if t == 0 else f't{t}'}\n"
          f"    remote_gateway: {gateways[t]}\n    network_pairs: [ {{ local: 127.0.0.0/24, remote: 127.0.0.0/8 }} ]\n"
          f"    inside: {{ source: 127.0.0.1, targets: [{', '.join(inside[t * 4:t * 4 + 4])}] }}")
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
scrape() { ip netns exec "$ns_exporter" curl -sf http://127.0.0.1:9478/metrics; }

echo "== starting (targets=$targets, warm-up ${warmup}s, window ${seconds}s, stress-ng --cpu $stress, blackbox: $blackbox)"
if [ "$stress" -gt 0 ]; then
  stress-ng --cpu "$stress" --timeout $((warmup + seconds + 60)) --quiet &
  pids+=("$!")
fi
ip netns exec "$ns_exporter" dotnet "$exporter_dll" run --config "$work/exporter/ipsec.yaml" --listen 127.0.0.1:9478 \
  > "$work/exporter.log" 2>&1 &
exporter=$!; pids+=("$exporter")
# -C keeps every RTT; more rounds than the run lasts, stopped by SIGINT at the end of the window.
ip netns exec "$ns_fping" fping -C $((warmup + seconds + 60)) -q -p 1000 -i 1 -f "$work/targets.txt" > /dev/null 2> "$work/fping.err" &
fping_pid=$!; pids+=("$fping_pid")
fping_start=$(date +%s)
if [ "$blackbox" = yes ]; then
  ip netns exec "$ns_blackbox" prometheus-blackbox-exporter --config.file="$work/blackbox.yml" \
    --web.listen-address=127.0.0.1:9115 > "$work/blackbox.log" 2>&1 &
  blackbox_pid=$!; pids+=("$blackbox_pid")
  ip netns exec "$ns_blackbox" prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address=127.0.0.1:9090 > "$work/prometheus.log" 2>&1 &
  prometheus_pid=$!; pids+=("$prometheus_pid")
fi
contenders=("$exporter" "$fping_pid")
[ "$blackbox" = yes ] && contenders+=("$blackbox_pid" "$prometheus_pid")

sleep "$warmup"
for pid in "${contenders[@]}"; do
  kill -0 "$pid" 2>/dev/null || { echo "a contender died during the warm-up:"; tail -5 "$work"/*.log "$work"/*.err; exit 1; }
done
declare -A start end
for pid in "${contenders[@]}"; do start[$pid]=$(cpu "$pid"); done
scrape > "$work/metrics.start"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
window_start=$(date +%s)
# Prometheus-like scrapes of the exporter during the window (their cost is the exporter's).
for ((elapsed = 15; elapsed < seconds; elapsed += 15)); do sleep 15; scrape > /dev/null; done
sleep $((seconds - (seconds - 1) / 15 * 15))
for pid in "${contenders[@]}"; do end[$pid]=$(cpu "$pid"); done
scrape > "$work/metrics.end"
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
window_end=$(date +%s)
declare -A resident peak
for pid in "${contenders[@]}"; do resident[$pid]=$(rss "$pid"); peak[$pid]=$(hwm "$pid"); done

if [ "$blackbox" = yes ]; then
  query() {
    ip netns exec "$ns_blackbox" curl -sf --get "http://127.0.0.1:9090/api/v1/query" \
      --data-urlencode "query=$1" --data-urlencode "time=$window_end" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "nan")'
  }
  blackbox_probes=$(query "sum(count_over_time(probe_success{job=\"blackbox-icmp\"}[${seconds}s]))")
  blackbox_failed=$(query "sum(count_over_time(probe_success{job=\"blackbox-icmp\"}[${seconds}s])) - sum(sum_over_time(probe_success{job=\"blackbox-icmp\"}[${seconds}s]))")
  blackbox_rtt=$(query "avg(avg_over_time(probe_icmp_duration_seconds{job=\"blackbox-icmp\",phase=\"rtt\"}[${seconds}s])) * 1e6")
fi
kill -INT "$fping_pid"; wait "$fping_pid" 2>/dev/null || true
kernel_timestamps=$(grep -m1 '^ipsec_probe_kernel_timestamps ' "$work/metrics.end" | cut -d' ' -f2 || echo absent)

# The exporter over the window: counter deltas, and RTTs from the histogram deltas. fping over the same seconds of its
# per-target lists (one entry per second; the last, maybe in flight at SIGINT, is left out).
python3 - "$work/metrics.start" "$work/metrics.end" "$work/fping.err" $((window_start - fping_start)) "$seconds" > "$work/accuracy.txt" <<'PY'
import re, sys
def samples(path):
    values = {}
    for line in open(path):
        if line.startswith("ipsec_") and " " in line:
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values
start, end = samples(sys.argv[1]), samples(sys.argv[2])
delta = lambda name: end.get(name, 0) - start.get(name, 0)
def total(suffix):
    return sum(delta(n) for n in end if re.match(r"ipsec_(gateway|inside)_ping_" + suffix + r"(\{|$)", n))
requests, responses = total("requests_total"), total("responses_total")
late, duplicates = total("late_responses_total"), total("duplicate_responses_total")
rtt_sum, rtt_count = total("rtt_seconds_sum"), total("rtt_seconds_count")
buckets = {}
for name in end:
    m = re.match(r'ipsec_(gateway|inside)_ping_rtt_seconds_bucket\{.*le="([^"]+)"\}', name)
    if m:
        buckets[float(m.group(2))] = buckets.get(float(m.group(2)), 0) + delta(name)
bounds = sorted(buckets)
def quantile(q):
    rank, lower, below = q * buckets[bounds[-1]], 0.0, 0.0
    for bound in bounds:
        if buckets[bound] >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / max(buckets[bound] - below, 1)
        lower, below = bound, buckets[bound]
    return lower
# Unanswered: the replies still in the receive thread's 50 ms batch at the last scrape (loopback answers at once).
unanswered = requests - responses
print(f"exporter_requests={requests:.0f} exporter_responses={responses:.0f} exporter_late={late:.0f} exporter_duplicates={duplicates:.0f}")
print(f"exporter_unanswered={unanswered:.0f}")
print(f"exporter_mean_us={rtt_sum / rtt_count * 1e6:.1f} exporter_p50_us={quantile(0.5) * 1e6:.1f} exporter_p99_us={quantile(0.99) * 1e6:.1f}" if rtt_count else "exporter_mean_us=nan exporter_p50_us=nan exporter_p99_us=nan")
skip, seconds = int(sys.argv[4]), int(sys.argv[5])
rtts, sent, received = [], 0, 0
for line in open(sys.argv[3]):
    if " : " not in line:
        continue
    entries = line.split(" : ", 1)[1].split()[:-1][skip:skip + seconds]
    sent += len(entries)
    for entry in entries:
        if entry != "-":
            received += 1
            rtts.append(float(entry) * 1000)
rtts.sort()
pick = lambda q: rtts[min(len(rtts) - 1, int(q * len(rtts)))] if rtts else float("nan")
print(f"fping_sent={sent} fping_received={received}")
print(f"fping_mean_us={sum(rtts) / max(len(rtts), 1):.1f} fping_p50_us={pick(0.5):.1f} fping_p99_us={pick(0.99):.1f}")
PY
# shellcheck disable=SC1091
. "$work/accuracy.txt"

ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a / b:.2f}x' if b else 'n/a')" "$1" "$2"; }
delta() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
cpu_exporter=$(delta "${start[$exporter]}" "${end[$exporter]}")
cpu_fping=$(delta "${start[$fping_pid]}" "${end[$fping_pid]}")
# fping cannot always keep 1,000 targets at 1 Hz (-i 1 fills the second exactly): compare per probe sent too.
per_probe() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]) * 1e6:.1f}' if float(sys.argv[2]) else 'nan')" "$1" "$2"; }
per_probe_exporter=$(per_probe "$cpu_exporter" "$exporter_requests")
per_probe_fping=$(per_probe "$cpu_fping" "$fping_sent")

cat <<EOF

## ICMP bench: $targets targets, 1 s interval, ${seconds} s window, stress-ng --cpu $stress ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)
load average at start: $load_start; at end: $load_end; exporter kernel timestamps: $kernel_timestamps

| prober | CPU s in window | vs fping | CPU µs per probe (vs fping) | RSS MiB (peak) | requests / responses, loss | mean RTT µs | p50 µs | p99 µs | mean, p99 vs fping |
|---|---|---|---|---|---|---|---|---|---|
| ipsec-exporter (whole process) | $cpu_exporter (+ ${start[$exporter]} s start-up and warm-up) | $(ratio "$cpu_exporter" "$cpu_fping") | $per_probe_exporter ($(ratio "$per_probe_exporter" "$per_probe_fping")) | ${resident[$exporter]} (${peak[$exporter]}) | $exporter_requests / $exporter_responses, unanswered $exporter_unanswered, late $exporter_late, duplicates $exporter_duplicates | $exporter_mean_us | $exporter_p50_us | $exporter_p99_us | $(ratio "$exporter_mean_us" "$fping_mean_us"), $(ratio "$exporter_p99_us" "$fping_p99_us") |
| fping -C -p 1000 -i 1 | $cpu_fping | 1.00x | $per_probe_fping | ${resident[$fping_pid]} (${peak[$fping_pid]}) | $fping_sent / $fping_received | $fping_mean_us | $fping_p50_us | $fping_p99_us | |
EOF
if [ "$blackbox" = yes ]; then
  cpu_blackbox=$(delta "${start[$blackbox_pid]}" "${end[$blackbox_pid]}")
  cpu_prometheus=$(delta "${start[$prometheus_pid]}" "${end[$prometheus_pid]}")
  cat <<EOF
| blackbox_exporter icmp | $cpu_blackbox | $(ratio "$cpu_blackbox" "$cpu_fping") | | ${resident[$blackbox_pid]} (${peak[$blackbox_pid]}) | probes $blackbox_probes, failed $blackbox_failed | $blackbox_rtt (its rtt phase) | | | |
| (Prometheus driving blackbox) | $cpu_prometheus | | | ${resident[$prometheus_pid]} (${peak[$prometheus_pid]}) | | | | | |
EOF
fi

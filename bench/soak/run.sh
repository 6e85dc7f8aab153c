#!/usr/bin/env bash
# Soak of the whole exporter (docs/PERFORMANCE.md "Soak"): the Release exporter (`ipsec-exporter run`) for N minutes
# against the scripted VICI server of bench/vici-hub/server.cs in churn mode (every CHILD SA rekeyed every 8 s, the
# replaced SA listed by the next poll as DELETED or REKEYED beside the new one, or simply replaced, in turn; every 5th
# IKE SA rekeyed every 30 s; child-rekey and ike-rekey events; counters growing), with TARGETS/5 tunnels, each probing its own loopback gateway 127.1.x.y and 4 inside
# targets 127.<2+t/256>.<t%256>.1-4 from 127.0.0.1 every second (every 127/8 address answers on Linux's loopback), the
# source read every 2 s. bench/soak/monitor.py samples /proc/PID every second and scrapes /metrics every 5 s, checks
# every counter and histogram series for monotonicity and ipsec_source_up, compares RSS (window means: the GC's
# sawtooth averages out), threads, fds and sockets of the first and last window after the warm-up, and checks the
# counted traffic and rekeys against the server's schedule. Exits non-zero when a bound is violated (or the exporter
# logged an error).
# Usage: bench/soak/run.sh [--minutes 10] [--targets 1000] [--warmup 60] [--out DIR (keeps samples and logs)]
# Needs dotnet, python3 and raw ICMP sockets (root, as CI runs it) or a ping_group_range that lets datagram ICMP
# sockets be opened. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=10; targets=1000; warmup=60; out=""
child_rekey=8; ike_rekey=30; ike_churn_every=5; interval=2; inside=4
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--minutes N] [--targets N (a multiple of 5)] [--warmup SECONDS] [--out DIR]" >&2; exit 2 ;;
  esac
done
if [ $((targets % (inside + 1))) -ne 0 ]; then
  echo "$0: --targets must be a multiple of $((inside + 1)) (a gateway and $inside inside targets per tunnel)" >&2
  exit 2
fi
tunnels=$((targets / (inside + 1)))

work=$(mktemp -d /tmp/soak.XXXXXX)
pids=()
cleanup() {
  # The exporter first: stopping the server under it would log a lost VICI connection.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done
  if [ -n "$out" ]; then mkdir -p "$out" && cp -r "$work"/. "$out"/; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building the exporter and the scripted VICI server (Release)"
dotnet build src/IpsecExporter -c Release -nologo -v quiet >/dev/null
dotnet build -c Release bench/vici-hub/server.cs -nologo -v quiet >/dev/null
exporter_dll=src/IpsecExporter/bin/Release/net10.0/ipsec-exporter.dll

mkdir "$work/exporter"  # its own directory: the exporter watches its configuration's directory
sock=$work/charon.vici; config=$work/exporter/ipsec.yaml
dotnet run -c Release --no-build bench/vici-hub/server.cs -- "$sock" "$tunnels" "$config" \
  --child-rekey "$child_rekey" --ike-rekey "$ike_rekey" --inside "$inside" --interval "$interval" >"$work/server.log" 2>&1 &
pids+=("$!")
for _ in $(seq 300); do [[ -S "$sock" && -s "$config" ]] && break; sleep 0.2; done
[[ -S "$sock" ]] || { echo "the VICI server did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
# The diagnosis keeps per-target probe histories as long as its window (default 2 minutes): a window shorter than the
# warm-up has them full before the first measured window, so what grows after it is a leak, not a buffer filling.
echo "diagnosis: { window: $((warmup / 2 > 10 ? warmup / 2 : 10))s }" >>"$config"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dotnet "$exporter_dll" run --config "$config" --listen "127.0.0.1:$port" >"$work/exporter.log" 2>&1 &
exporter=$!; pids+=("$exporter")
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { echo "the exporter did not become ready:" >&2; tail -20 "$work/exporter.log" >&2; exit 1; }

echo "== soak: $minutes min, $targets probe targets ($tunnels tunnels, $((2 * tunnels)) CHILD SAs rekeyed every ${child_rekey}s," \
  "$((tunnels / ike_churn_every)) IKE SAs every ${ike_rekey}s), warm-up ${warmup}s ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
status=0
python3 bench/soak/monitor.py --pid "$exporter" --url "http://127.0.0.1:$port/metrics" --seconds $((minutes * 60)) \
  --warmup "$warmup" --source-interval "$interval" --child-rekey "$child_rekey" --ike-rekey "$ike_rekey" \
  --ike-churn-every "$ike_churn_every" --pair-bytes-per-second 8400 --targets "$targets" --samples "$work/samples.csv" || status=$?
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
# Every episode is logged once: the log stays short. An error logged at all fails the soak.
echo "exporter log: $(wc -l <"$work/exporter.log") lines, $(grep -c ' warn: ' "$work/exporter.log" || true) warnings, $(grep -cE ' (fail|crit): ' "$work/exporter.log" || true) errors"
if grep -qE ' (fail|crit): ' "$work/exporter.log"; then
  echo "VIOLATION: the exporter logged errors:"; grep -E -A3 ' (fail|crit): ' "$work/exporter.log" | head -20
  status=1
fi
exit "$status"

#!/usr/bin/env bash
# Hub-scale benchmark (docs/PERFORMANCE.md): for each tunnel count, a VICI server shaped like a hub's charon
# (bench/vici-hub/server.cs), then
#   - swanctl --list-sas --raw against it (the reference), and the exporter's VICI collection (bench/vici-collect.cs);
#   - the exporter itself (Release build) with one tunnel per IKE SA: 20 /metrics scrapes (time, size), 20 asking for
#     gzip (time, size), RSS (VmRSS) and CPU (utime+stime from /proc/PID/stat) over a window at the default 5 s source interval.
# With --rekeys S, instead: rekeys seen only by polling. The server runs with --child-rekey S --no-events (every CHILD SA
# rekeyed every S seconds in turn as the old SA listed DELETED beside the new one, listed REKEYED, or simply replaced;
# the event registrations confirmed but no event sent), the exporter at its default 5 s interval; after the warm-up the
# server's clock is frozen (its `freeze` command, through a FIFO on its standard input), and once two polls have seen
# the frozen state its report and /metrics are taken, it resumes for the window, and the same again at the end.
# bench/vici-hub/rekey-check.py then compares, per pair, the growth of ipsec_child_sa_rekeys_total with the rekeys the
# server made and of the byte counters with the bytes its SAs carried; exits non-zero when a pair is off.
# Usage: bench/vici-hub/run.sh [--tunnels "100 1000 10000"] [--window 60] [--warmup 30] [--rekeys S]
# Needs: dotnet, swanctl (strongswan-swanctl), curl; python3 for --rekeys. Run from the repository root.
set -euo pipefail
tunnels="100 1000 10000"; window=60; warmup=30; rekeys=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tunnels) tunnels="$2"; shift 2 ;;
    --window) window="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --rekeys) rekeys="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d /tmp/vici-hub.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
dotnet build -c Release src/IpsecExporter >/dev/null
dotnet build -c Release bench/vici-hub/server.cs >/dev/null 2>&1
dotnet build -c Release bench/vici-collect.cs >/dev/null 2>&1
exporter=src/IpsecExporter/bin/Release/net10.0/ipsec-exporter
ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
start_exporter() {
  port=$(( 19000 + RANDOM % 1000 ))
  "$exporter" run --config "$2" --listen "127.0.0.1:$port" >"$work/exporter-$1.log" 2>&1 &
  exp=$!; pids+=("$exp")
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
}
# Freezes the server's clock, waits for its report (written once two polls saw the frozen state), takes /metrics.
freeze() {
  echo "freeze $work/$1.tsv" >&3
  for _ in $(seq 600); do [[ -s "$work/$1.tsv" ]] && break; sleep 0.1; done
  [[ -s "$work/$1.tsv" ]] || { echo "the server wrote no report for $1" >&2; exit 1; }
  curl -sf -o "$work/$1.prom" "http://127.0.0.1:$port/metrics"
}
status=0
for n in $tunnels; do
  sock="$work/charon-$n.vici"; config="$work/config-$n.yaml"
  if [[ -n "$rekeys" ]]; then
    rm -f "$work/control"; mkfifo "$work/control"
    dotnet run -c Release --no-build bench/vici-hub/server.cs -- "$sock" "$n" "$config" --child-rekey "$rekeys" --no-events \
      <"$work/control" >"$work/server-$n.log" 2>&1 &
    server=$!; pids+=("$server")
    exec 3>"$work/control"
    for _ in $(seq 100); do [[ -S "$sock" && -s "$config" ]] && break; sleep 0.2; done
    start_exporter "$n" "$config"
    echo "tunnels=$n child_sas=$((2 * n)) CHILD rekey every ${rekeys}s, no events, warm-up ${warmup}s, window ${window}s ($(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg))"
    sleep "$warmup"
    freeze "base-$n"
    echo resume >&3
    sleep "$window"
    freeze "final-$n"
    python3 bench/vici-hub/rekey-check.py "$work/base-$n.tsv" "$work/base-$n.prom" "$work/final-$n.tsv" "$work/final-$n.prom" | sed 's/^/  /' || status=1
    echo "  load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); exporter log: $(grep -cE ' (warn|fail|crit): ' "$work/exporter-$n.log" || true) warnings or errors"
    kill "$exp" "$server"; wait "$exp" "$server" 2>/dev/null || true
    exec 3>&-
    continue
  fi
  dotnet run -c Release --no-build bench/vici-hub/server.cs -- "$sock" "$n" "$config" >"$work/server-$n.log" 2>&1 &
  server=$!; pids+=("$server")
  for _ in $(seq 100); do [[ -S "$sock" && -s "$config" ]] && break; sleep 0.2; done
  swan=()
  for _ in 1 2 3 4 5; do
    start=$(date +%s%N); swanctl --list-sas --raw --uri "unix://$sock" >/dev/null 2>&1; end=$(date +%s%N)
    swan+=($(( (end - start) / 1000000 )))
  done
  swan_median=$(printf '%s\n' "${swan[@]}" | sort -n | sed -n 3p)
  collect=$(dotnet run -c Release --no-build bench/vici-collect.cs -- "unix://$sock" 10 2>/dev/null | tail -2 | tr "\n" " ")
  start_exporter "$n" "$config"
  sleep "$warmup"
  times=(); size=0; gz=0
  for _ in $(seq 20); do
    read -r t s < <(curl -s -o /dev/null -w '%{time_total} %{size_download}\n' "http://127.0.0.1:$port/metrics")
    times+=("$t"); size=$s
    sleep 0.5
  done
  # The same 20 scrapes asking for gzip, as Prometheus does (curl keeps the body compressed: only the exporter's work).
  gz_times=()
  for _ in $(seq 20); do
    read -r t gz < <(curl -s -H 'Accept-Encoding: gzip' -o /dev/null -w '%{time_total} %{size_download}\n' "http://127.0.0.1:$port/metrics")
    gz_times+=("$t")
    sleep 0.5
  done
  p99=$(printf '%s\n' "${times[@]}" | sort -n | tail -1)
  p50=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 10p)
  gz_p99=$(printf '%s\n' "${gz_times[@]}" | sort -n | tail -1)
  gz_p50=$(printf '%s\n' "${gz_times[@]}" | sort -n | sed -n 10p)
  before=$(cpu_ticks "$exp"); sleep "$window"; after=$(cpu_ticks "$exp")
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$exp/status")
  cpu=$(awk -v d=$((after - before)) -v t="$ticks" -v w="$window" 'BEGIN { printf "%.1f", 100 * d / t / w }')
  echo "tunnels=$n child_sas=$((2 * n)) swanctl_list_sas_ms_median=$swan_median"
  echo "  $collect"
  echo "  scrape p50=${p50}s max(p99 of 20)=${p99}s metrics_bytes=$size per_tunnel=$((size / n)) gzip_bytes=$gz"
  echo "  gzip scrape p50=${gz_p50}s max(p99 of 20)=${gz_p99}s"
  echo "  rss_kib=$rss after $((warmup + window + 25))s; cpu=${cpu}% of a core over ${window}s at 5s interval"
  kill "$exp" "$server"; wait "$exp" "$server" 2>/dev/null || true
done
exit "$status"

#!/usr/bin/env bash
# What the exporter keeps live at hub scale, by type (figures in docs/PERFORMANCE.md): starts bench/vici-hub/server.cs
# with N tunnels and the Release exporter on its configuration (as run.sh does), waits until the diagnosis window has
# filled, takes a process dump and prints the live heap by type (largest last), the total, and RSS at the dump.
#
# Usage: bench/vici-hub/live-heap.sh [--tunnels 1000] [--warmup 150] [--top 40] [--keep DUMP]
# Needs dotnet, curl and the dotnet-dump tool (`dotnet tool install -g dotnet-dump`). Run from the repository root.
set -euo pipefail
tunnels=1000; warmup=150; top=40; keep=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tunnels) tunnels="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --top) top="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
dump_tool=$(command -v dotnet-dump || echo "$HOME/.dotnet/tools/dotnet-dump")
[[ -x "$dump_tool" ]] || { echo "dotnet-dump not found: dotnet tool install -g dotnet-dump" >&2; exit 1; }
dotnet build -c Release src/IpsecExporter >/dev/null
. "$(dirname "$0")/hub.sh"
start_hub vici-heap "$tunnels"
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
echo "tunnels=$tunnels warm-up ${warmup}s ($(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg))"
sleep "$warmup"
# One scrape first, so that what a scrape keeps (pooled blocks) is counted as it is between scrapes.
curl -sf -o /dev/null "http://127.0.0.1:$port/metrics"
rss=$(awk '/VmRSS/ {print $2}' "/proc/$exp/status")
"$dump_tool" collect -p "$exp" -o "$work/core" >/dev/null
"$dump_tool" analyze "$work/core" -c "dumpheap -stat -live" -c "exit" >"$work/live.txt"
grep -E '^[0-9a-f]{12,} ' "$work/live.txt" | tail -n "$top" | awk '{size=$3; gsub(",", "", size); count=$2; $1=$2=$3=""; printf "%10.2f MB %10s %s\n", size / 1e6, count, $0}'
total=$(grep -E '^Total ' "$work/live.txt" | tail -1 | awk '{gsub(",", "", $4); print $4}')
echo "live heap $(awk -v t="$total" -v n="$tunnels" 'BEGIN {printf "%.1f MB (%.2f KB per tunnel)", t / 1e6, t / n / 1e3}'); RSS $((rss / 1024)) MiB at the dump; load $(cut -d' ' -f1-3 /proc/loadavg)"
[[ -z "$keep" ]] || cp "$work/core" "$keep"

#!/usr/bin/env bash
# RSS, CPU and the GC's heap at hub scale under given runtime settings (figures in docs/PERFORMANCE.md): starts
# bench/vici-hub/server.cs with N tunnels and the Release exporter (built before) on its configuration with the given
# environment (e.g. DOTNET_GCConserveMemory=7, which takes precedence over runtimeconfig.json), measures CPU
# (utime+stime) and VmRSS every 2 s over the last 30 s of SECONDS, then the GC's last-collection figures.
#
# Usage: bench/vici-hub/gc-settings.sh TUNNELS SECONDS [NAME=VALUE...]
# Needs dotnet and the dotnet-counters tool (`dotnet tool install -g dotnet-counters`). Run from the repository root.
set -euo pipefail
n=$1; secs=$2; shift 2
counters=$(command -v dotnet-counters || echo "$HOME/.dotnet/tools/dotnet-counters")
. "$(dirname "$0")/hub.sh"
start_hub vici-gc "$n" "$@"
sleep $((secs - 30))
cpu_before=$(awk '{print $14 + $15}' "/proc/$exp/stat")
rss=()
for _ in $(seq 15); do rss+=("$(awk '/VmRSS/ {print $2}' "/proc/$exp/status")"); sleep 2; done
cpu_after=$(awk '{print $14 + $15}' "/proc/$exp/stat")
"$counters" collect -p "$exp" --counters System.Runtime --refresh-interval 2 --format csv -o "$work/gc.csv" --duration 00:00:03 >/dev/null 2>&1 || true
echo -n "[$*] tunnels=$n cpu=$(awk -v a="$cpu_before" -v b="$cpu_after" -v t="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", (b - a) * 100 / 30 / t}')% over $((secs - 30))-${secs}s; "
printf '%s\n' "${rss[@]}" | awk '{s += $1; if (min == "" || $1 < min) min = $1; if ($1 > max) max = $1} END {printf "rss min/mean/max %d/%d/%d MiB; ", min / 1024, s / NR / 1024, max / 1024}'
[[ -s "$work/gc.csv" ]] && awk -F, '/committed_size|heap.size|fragmentation/ {v[$3] = $5} END {for (k in v) printf "%s=%.1fMB ", k, v[k] / 1e6}' "$work/gc.csv" | sed 's/dotnet.gc.last_collection.//g; s/ (By)//g; s/gc.heap.generation=//g'
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# Where the exporter's CPU goes at hub scale (figures in docs/PERFORMANCE.md): starts bench/vici-hub/server.cs with N
# tunnels and the Release exporter (built before) on its configuration with the given environment, as gc-settings.sh
# does, waits SECONDS, samples its managed threads for 40 s (dotnet-trace, dotnet-sampled-thread-time) and prints the
# frames that held the CPU samples: by self time (the frame just under CPU_TIME) and inclusive, the exporter's own.
# GC work shows as PollGCWorker or under the allocating frame; the native background GC thread is not sampled, so the
# process's CPU over the trace is printed beside the sampled total.
#
# Usage: bench/vici-hub/cpu-profile.sh TUNNELS SECONDS [NAME=VALUE...] (keeps the trace as /tmp/vici-hub-cpu.speedscope.json)
# Needs dotnet, python3 and the dotnet-trace tool (`dotnet tool install -g dotnet-trace`). Run from the repository root.
set -euo pipefail
n=$1; secs=$2; shift 2
trace_tool=$(command -v dotnet-trace || echo "$HOME/.dotnet/tools/dotnet-trace")
[[ -x "$trace_tool" ]] || { echo "dotnet-trace not found: dotnet tool install -g dotnet-trace" >&2; exit 1; }
. "$(dirname "$0")/hub.sh"
start_hub vici-cpu "$n" "$@"
sleep "$secs"
cpu_before=$(awk '{print $14 + $15}' "/proc/$exp/stat")
"$trace_tool" collect -p "$exp" --profile dotnet-sampled-thread-time --format Speedscope --duration 00:00:40 -o "$work/cpu.nettrace" >"$work/trace.log" 2>&1
cpu_after=$(awk '{print $14 + $15}' "/proc/$exp/stat")
cp "$work/cpu.speedscope.json" /tmp/vici-hub-cpu.speedscope.json
echo "[$*] tunnels=$n: process CPU over the trace $(awk -v a="$cpu_before" -v b="$cpu_after" -v t="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", (b - a) / t}') s"
python3 - "$work/cpu.speedscope.json" <<'PY'
import collections, json, sys
profile = json.load(open(sys.argv[1]))
frames = [f["name"] for f in profile["shared"]["frames"]]
cpu = frames.index("CPU_TIME")
own, inclusive, total = collections.Counter(), collections.Counter(), 0.0
for thread in profile["profiles"]:
    stack, last = [], thread["startValue"]
    for event in thread["events"]:
        if stack and stack[-1] == cpu:
            elapsed = event["at"] - last
            total += elapsed
            if len(stack) > 1:
                own[stack[-2]] += elapsed
            for frame in set(stack[:-1]):
                inclusive[frame] += elapsed
        last = event["at"]
        if event["type"] == "O":
            stack.append(event["frame"])
        elif stack:
            stack.pop()
print(f"sampled CPU {total / 1000:.2f} s; by self time:")
for frame, ms in own.most_common(15):
    print(f"  {ms:7.0f} ms {100 * ms / total:5.1f} %  {frames[frame][:140]}")
print("inclusive, the exporter's own frames:")
for frame, ms in [(f, ms) for f, ms in inclusive.most_common() if frames[f].startswith("ipsec-exporter!")][:25]:
    print(f"  {ms:7.0f} ms {100 * ms / total:5.1f} %  {frames[frame][:140]}")
PY

# Sourced by gc-settings.sh, cpu-profile.sh and live-heap.sh: starts bench/vici-hub/server.cs with N tunnels and the Release
# exporter (built before) on its configuration, with the given environment; sets work (a temporary folder, removed on
# exit with both processes), exp (the exporter's pid) and port (where it listens, on 127.0.0.1).
# Usage: start_hub PREFIX TUNNELS [NAME=VALUE...]
start_hub() {
  local prefix=$1 tunnels=$2
  shift 2
  work=$(mktemp -d "/tmp/$prefix.XXXXXX")
  hub_pids=()
  trap 'for p in "${hub_pids[@]}"; do kill "$p" 2>/dev/null || true; done; pkill -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
  dotnet build -c Release bench/vici-hub/server.cs >/dev/null 2>&1
  dotnet run -c Release --no-build bench/vici-hub/server.cs -- "$work/charon.vici" "$tunnels" "$work/config.yaml" >"$work/server.log" 2>&1 &
  hub_pids+=("$!")
  for _ in $(seq 100); do [[ -S "$work/charon.vici" && -s "$work/config.yaml" ]] && break; sleep 0.2; done
  port=$((19000 + RANDOM % 1000))
  env "$@" src/IpsecExporter/bin/Release/net10.0/ipsec-exporter run --config "$work/config.yaml" --listen "127.0.0.1:$port" >"$work/exporter.log" 2>&1 &
  exp=$!
  hub_pids+=("$exp")
}

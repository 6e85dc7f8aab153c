#!/usr/bin/env bash
# The container image as users run it (Dockerfile, docs/CONTAINER.md), built with podman from local stand-in base
# images (scripts/lib/container-images.sh) and run:
#  - the image carries the OCI labels and the HEALTHCHECK (podman build --format docker keeps it);
#  - started with only NET_RAW (every other capability dropped), it serves /metrics on its published port;
#  - `podman healthcheck run` passes (run on demand: no systemd timer here, --health-interval disable), and fails for a container whose exporter listens elsewhere;
#  - the exporter runs as a non-root user whose effective capabilities are NET_RAW alone, and the log says it
#    probes with raw ICMP sockets; without NET_RAW but with ping_group_range open, the log says datagram sockets.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/container-images.sh
ci_podman_setup
t0=$SECONDS
ci_ensure_dotnet_images
echo "-- stand-in base images ready after $((SECONDS - t0))s"

image=localhost/ipsec-exporter:ci
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
t1=$SECONDS
ci_build_exporter_image "$image"
echo "-- image built in $((SECONDS - t1))s"

containers=()
run_log=$(mktemp)
cleanup() { for c in "${containers[@]}"; do podman rm -f -t 0 "$c" >/dev/null 2>&1 || true; done; rm -f "$run_log"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for c in "${containers[@]}"; do echo "--- log of $c" >&2; podman logs "$c" 2>&1 | tail -20 >&2 || true; done; exit 1; }

# Waits up to $2 seconds for the log of container $1 to contain $3.
wait_for_log() {
  local deadline=$((SECONDS + $2))
  until podman logs "$1" 2>&1 | grep -qF -- "$3"; do
    [ $SECONDS -lt $deadline ] || fail "no '$3' in the log of $1 within $2s"
    sleep 0.2
  done
}

echo "-- labels and HEALTHCHECK"
podman image inspect "$image" --format '{{index .Labels "org.opencontainers.image.title"}} {{index .Labels "org.opencontainers.image.version"}} {{index .Labels "org.opencontainers.image.revision"}}' |
  grep -qx "ipsec-exporter $version $revision" || fail "OCI title/version/revision labels missing"
podman image inspect "$image" --format '{{.Config.Healthcheck.Test}}' | grep -q 'healthcheck' || fail "no HEALTHCHECK in the image"

echo "-- run with only NET_RAW"
port=$(ci_free_port)
name=ipsec-exporter-ci-$$
containers+=("$name")
t2=$SECONDS
# Without systemd podman cannot arm the timer and says so on stderr: shown only when the run fails.
podman run -d -q --name "$name" --health-interval disable --cap-drop ALL --cap-add NET_RAW -p "127.0.0.1:$port:9478" "$image" >/dev/null 2>"$run_log" ||
  { cat "$run_log" >&2; fail "podman run"; }
metrics=$(python3 - "$port" <<'PY'
import sys, time, urllib.request
deadline = time.monotonic() + 30
while True:
    try:
        print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=2).read().decode())
        break
    except OSError as e:
        if time.monotonic() > deadline:
            sys.exit(f"/metrics not served within 30s: {e}")
        time.sleep(0.1)
PY
) || fail "/metrics from the published port"
echo "-- /metrics served $((SECONDS - t2))s after podman run"
grep -q "^ipsec_exporter_build_info{.*version=\"$version\"" <<<"$metrics" || fail "no ipsec_exporter_build_info with version $version in /metrics"
# The example config's VICI socket is not mounted: the source is down, and says so.
grep -q '^ipsec_source_up{source="gw"} 0' <<<"$metrics" || fail "ipsec_source_up{source=\"gw\"} 0 missing"

echo "-- podman healthcheck run"
podman healthcheck run "$name" || fail "healthcheck of a running exporter did not pass"

echo "-- non-root, NET_RAW only"
status=$(podman exec "$name" cat /proc/1/status)
uid=$(awk '/^Uid:/ { print $3 }' <<<"$status")
[ "$uid" != 0 ] || fail "the exporter runs as root"
# CAP_NET_RAW is capability 13.
capabilities=$(awk '/^CapEff:/ { print $2 }' <<<"$status")
[ "$capabilities" = 0000000000002000 ] || fail "effective capabilities $capabilities, expected NET_RAW alone (0000000000002000)"
wait_for_log "$name" 20 "ICMP probes over IPv4 use Raw sockets"
echo "uid $uid, CapEff $capabilities, raw ICMP"

echo "-- no capabilities, ping_group_range open: datagram ICMP; a healthcheck that must fail"
other=ipsec-exporter-ci-$$-b
containers+=("$other")
podman run -d -q --name "$other" --health-interval disable --cap-drop ALL --sysctl "net.ipv4.ping_group_range=0 2147483647" "$image" \
  run --config /etc/ipsec-exporter/config.yaml --listen 0.0.0.0:9479 >/dev/null 2>"$run_log" || { cat "$run_log" >&2; fail "podman run"; }
wait_for_log "$other" 20 "ICMP probes over IPv4 use Datagram sockets"
# It listens on 9479; the image's HEALTHCHECK asks 9478.
if podman healthcheck run "$other"; then fail "healthcheck passed for an exporter that is not on the checked port"; fi
echo "-- container-image: all checks passed in $((SECONDS - t0))s"

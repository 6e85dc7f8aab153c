#!/usr/bin/env bash
# deploy/systemd/ipsec-exporter.service, checked with systemd's own tools (docs/SYSTEMD.md):
#  - `systemd-analyze verify` in a scratch root holding the unit, systemd's units, /bin/kill and the exporter as
#    `dotnet publish` lays it out (so ExecStart names the real apphost): any message (an unknown key is only a
#    warning) fails the suite;
#  - `systemd-analyze security --offline` exposure at most 2.0 ("OK"), and the capability, user and reload lines
#    the deployment depends on.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
unit=deploy/systemd/ipsec-exporter.service
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "-- systemd-analyze verify"
mkdir -p "$root/etc/systemd/system" "$root/usr/lib/systemd" "$root/bin" "$root/opt/ipsec-exporter"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp /bin/kill "$root/bin/"
cp "$unit" "$root/etc/systemd/system/"
# scripts/test.sh has built the solution already: reuse that build when it is there.
dotnet publish src/IpsecExporter/IpsecExporter.csproj -c Release -o "$root/opt/ipsec-exporter" --nologo -v quiet --no-build >/dev/null 2>&1 ||
  dotnet publish src/IpsecExporter/IpsecExporter.csproj -c Release -o "$root/opt/ipsec-exporter" --nologo -v quiet >/dev/null
"$root/opt/ipsec-exporter/ipsec-exporter" --version | grep -q '^ipsec-exporter ' || fail "the published apphost does not run"
messages=$(systemd-analyze verify --root="$root" /etc/systemd/system/ipsec-exporter.service 2>&1) || fail "verify: $messages"
[ -z "$messages" ] || fail "verify printed: $messages"

echo "-- systemd-analyze security"
report=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) || true
exposure=$(sed -n 's/.*Overall exposure level for ipsec-exporter.service: \([0-9.]*\).*/\1/p' <<<"$report")
[ -n "$exposure" ] || fail "no exposure level in: $report"
echo "exposure $exposure"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= 2.0 else 1)" "$exposure" || fail "exposure $exposure above 2.0"

echo "-- the lines the deployment depends on"
for line in 'User=ipsec-exporter' 'SupplementaryGroups=ipsec' 'AmbientCapabilities=CAP_NET_RAW' 'CapabilityBoundingSet=CAP_NET_RAW' \
  'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ExecReload=/bin/kill -HUP $MAINPID' \
  'ExecStart=/opt/ipsec-exporter/ipsec-exporter run --config /etc/ipsec-exporter/config.yaml'; do
  grep -qxF -- "$line" "$unit" || fail "$unit lacks: $line"
done
echo "-- systemd-unit: all checks passed"

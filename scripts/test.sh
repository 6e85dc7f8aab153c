#!/usr/bin/env bash
# Runs every test suite of ipsec-exporter and ends with one line "N passed, N failed".
# Needs root: the tests start real strongSwan gateways in network namespaces, real ICMP, dnsmasq, chrony, Prometheus.
# Missing Debian packages from .ci/apt-packages.txt are installed first.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/test.sh: run as root (sudo): the tests create network namespaces and raw sockets" >&2
  exit 2
fi

mapfile -t packages < <(grep -v '^\s*#' .ci/apt-packages.txt | tr -s ' \t' '\n' | grep -v '^$' | sort -u)
# A package counts as there when installed or provided by an installed one (NodeSource's nodejs provides npm and
# conflicts with Debian's: installing Debian's npm next to it would remove it).
provided=" $(dpkg-query -W -f='${db:Status-Abbrev} ${Provides}\n' 2>/dev/null | awk '/^ii/ { $1 = ""; print }' | sed 's/([^)]*)//g; s/,/ /g' | tr -s ' \n' ' ') "
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || [[ $provided == *" $package "* ]] || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
    echo "scripts/test.sh: apt-get install failed" >&2; echo "0 passed, 1 failed"; exit 1; }
fi

passed=0
failed=0
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

echo "== build (warnings are errors: Directory.Build.props)"
if ! dotnet build ipsec-exporter.sln -c Release -nologo -v quiet; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

echo "== dotnet test"
dotnet test ipsec-exporter.sln -c Release --no-build --nologo \
  --logger "trx;LogFilePrefix=results" --results-directory "$results" \
  --blame-hang-timeout 10m 2>&1 | tee "$results/dotnet.log"
dotnet_status=${PIPESTATUS[0]}
# Count from the trx files: one per test assembly.
read -r p f < <(python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
p = f = 0
for path in glob.glob(sys.argv[1] + "/*.trx"):
    counters = ET.parse(path).getroot().find(".//{*}Counters")
    p += int(counters.get("passed", 0)); f += int(counters.get("failed", 0)) + int(counters.get("error", 0)) + int(counters.get("timeout", 0)) + int(counters.get("aborted", 0))
print(p, f)
PY
)
passed=$((passed + p)); failed=$((failed + f))
if [ "$dotnet_status" -ne 0 ] && [ "$f" -eq 0 ]; then
  echo "dotnet test exited $dotnet_status without a failed test (crash or hang)"
  failed=$((failed + 1))
fi

# Further suites (promtool rule tests, ...) add to the totals here.
for suite in "$root"/scripts/suites/*.sh; do
  [ -e "$suite" ] || continue
  name=$(basename "$suite" .sh)
  echo "== $name"
  if bash "$suite"; then passed=$((passed + 1)); else echo "suite $name FAILED"; failed=$((failed + 1)); fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

# Sourced by the suites that run scripts/validate/ (TypeScript schema checks): installs its npm packages exactly as
# package-lock.json pins them (npm ci), once per lockfile: a stamp in node_modules remembers the lockfile it matches.
ci_validate_deps() {
  local dir=scripts/validate stamp
  stamp=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  [ "$(cat "$dir/node_modules/.lockfile-sha256" 2>/dev/null)" = "$stamp" ] && return 0
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || return 1
  echo "$stamp" >"$dir/node_modules/.lockfile-sha256"
}

# The exporter's build output (scripts/test.sh builds the solution first); built here when a suite runs alone.
ci_exporter() {
  local dll=src/IpsecExporter/bin/Release/net10.0/ipsec-exporter.dll
  [ -e "$dll" ] || dotnet build src/IpsecExporter -c Release -nologo -v quiet >/dev/null || return 1
  dotnet "$dll" "$@"
}

# Sourced by the container suites: podman configured for this host, and local stand-ins for the base images no
# registry serves here (docs/CONTAINER.md, "Building without a registry").
#
# Everything lives under $CI_CONTAINERS (default /var/cache/ipsec-exporter-ci, outside the repo): podman's
# configuration and its own image store, so the stand-ins survive between runs (a warm run reuses them) and a fresh
# machine builds them from scratch (debootstrap, about a minute). Delete the directory to start cold.
CI_CONTAINERS=${CI_CONTAINERS:-/var/cache/ipsec-exporter-ci}
CI_BASE_IMAGE=localhost/ipsec-exporter-ci/debian-base:bookworm

# crun fails on this kind of host (setrlimit RLIMIT_NOFILE, "cgroups in hybrid mode"), and podman's default nofile
# ulimit is above the host's hard limit: runc and lowered ulimits, for this script's podman only (CONTAINERS_CONF
# replaces /etc/containers/containers.conf, which stays untouched).
# Inside a container (../shared/tools/fresh-machine runs the suites in one) overlay cannot stack on overlay and the
# cgroup file system is read-only: there the store is vfs and containers run without cgroups, which runc refuses and
# crun does; builds then use chroot isolation (no runtime at all).
ci_podman_setup() {
  mkdir -p "$CI_CONTAINERS/storage" /run/ipsec-exporter-ci
  local driver=overlay runtime=runc cgroups=enabled
  [ "$(stat -f -c %T "$CI_CONTAINERS")" != overlayfs ] || driver=vfs
  if awk '$3 ~ /^cgroup2?$/ && $4 ~ /^ro(,|$)/ { found = 1 } END { exit !found }' /proc/mounts; then
    runtime=crun cgroups=disabled
    export BUILDAH_ISOLATION=chroot
  fi
  cat >"$CI_CONTAINERS/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
cgroups = "$cgroups"
[engine]
runtime = "$runtime"
CONF
  cat >"$CI_CONTAINERS/storage.conf" <<CONF
[storage]
driver = "$driver"
graphroot = "$CI_CONTAINERS/storage"
runroot = "/run/ipsec-exporter-ci/storage"
CONF
  export CONTAINERS_CONF="$CI_CONTAINERS/containers.conf" CONTAINERS_STORAGE_CONF="$CI_CONTAINERS/storage.conf"
  [ "$driver$runtime" = overlayrunc ] || echo "container images: inside a container: $driver storage, $runtime without cgroups: $cgroups"
}

# The host's Debian mirror (the first .../debian URI of its apt sources).
ci_debian_mirror() {
  local mirror
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -v '^\s*#' | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -1 | tr -d ' ') || true
  echo "${mirror:-http://deb.debian.org/debian}"
}

# debootstrap --variant=minbase bookworm, plus what a .NET image has: TLS and the CA bundle.
ci_ensure_base_image() {
  podman image exists "$CI_BASE_IMAGE" && return 0
  local rootfs t0=$SECONDS
  rootfs=$(mktemp -d /tmp/ipsec-exporter-ci-rootfs.XXXXXX)
  echo "container images: debootstrap bookworm from $(ci_debian_mirror)"
  if ! debootstrap --variant=minbase --include=ca-certificates,libssl3 bookworm "$rootfs" "$(ci_debian_mirror)" >"$rootfs.log" 2>&1; then
    tail -20 "$rootfs.log" >&2; rm -rf "$rootfs" "$rootfs.log"; return 1
  fi
  tar -C "$rootfs" -c . | podman import -q - "$CI_BASE_IMAGE" >/dev/null
  rm -rf "$rootfs" "$rootfs.log"
  echo "container images: $CI_BASE_IMAGE built in $((SECONDS - t0))s"
}

# Builds image $1 from the Containerfile on stdin (FROM the base) unless it exists; $2... are extra podman build
# arguments (volumes that bring host files in at build time only).
ci_ensure_image() {
  local image=$1; shift
  podman image exists "$image" && return 0
  local context t0=$SECONDS
  context=$(mktemp -d /tmp/ipsec-exporter-ci-context.XXXXXX)
  cat >"$context/Containerfile"
  podman build -q --format docker -t "$image" "$@" "$context" >/dev/null || { rm -rf "$context"; return 1; }
  rm -rf "$context"
  echo "container images: $image built in $((SECONDS - t0))s"
}

# The stand-ins for mcr.microsoft.com/dotnet/aspnet and /sdk, made of the host's own SDK (tagged by its version, so
# an SDK update builds new ones). Sets CI_RUNTIME_IMAGE and CI_SDK_IMAGE.
ci_ensure_dotnet_images() {
  ci_ensure_base_image || return 1
  local dotnet_root version trust
  dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
  version=$(dotnet --version)
  CI_RUNTIME_IMAGE=localhost/ipsec-exporter-ci/dotnet-aspnet:$version
  CI_SDK_IMAGE=localhost/ipsec-exporter-ci/dotnet-sdk:$version
  ci_ensure_image "$CI_RUNTIME_IMAGE" -v "$dotnet_root:/host-dotnet:ro" <<CONTAINERFILE || return 1
FROM $CI_BASE_IMAGE
RUN mkdir -p /usr/share/dotnet && cp -a /host-dotnet/dotnet /host-dotnet/host /host-dotnet/shared /usr/share/dotnet/ \
 && ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=true DOTNET_NOLOGO=1
CONTAINERFILE
  # The host's trust store comes in at build time (NuGet fails with UntrustedRoot without it where HTTPS is
  # intercepted); it is never committed. Revocation servers may be unreachable: offline checks keep restores fast.
  trust=$(mktemp -d /tmp/ipsec-exporter-ci-trust.XXXXXX)
  cp /etc/ssl/certs/ca-certificates.crt "$trust/"
  ci_ensure_image "$CI_SDK_IMAGE" -v "$dotnet_root:/host-dotnet:ro" -v "$trust:/host-trust:ro" <<CONTAINERFILE || { rm -rf "$trust"; return 1; }
FROM $CI_BASE_IMAGE
RUN cp -a /host-dotnet /usr/share/dotnet && ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \
 && cp /host-trust/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=true DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 NUGET_CERT_REVOCATION_MODE=offline
CONTAINERFILE
  rm -rf "$trust"
}

# Stand-ins for the official Prometheus, Alertmanager and Python images: the base plus Debian's packages, with the
# official images' entry points. Sets CI_PROMETHEUS_IMAGE, CI_ALERTMANAGER_IMAGE, CI_PYTHON_IMAGE.
ci_ensure_monitoring_images() {
  ci_ensure_base_image || return 1
  CI_PROMETHEUS_IMAGE=localhost/ipsec-exporter-ci/prometheus:bookworm
  CI_ALERTMANAGER_IMAGE=localhost/ipsec-exporter-ci/alertmanager:bookworm
  CI_PYTHON_IMAGE=localhost/ipsec-exporter-ci/python:bookworm
  local image package entrypoint
  while read -r image package entrypoint; do
    ci_ensure_image "$image" <<CONTAINERFILE || return 1
FROM $CI_BASE_IMAGE
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $package >/dev/null \
 && rm -rf /var/lib/apt/lists/*
ENTRYPOINT $entrypoint
CONTAINERFILE
  done <<IMAGES
$CI_PROMETHEUS_IMAGE prometheus ["/usr/bin/prometheus"]
$CI_ALERTMANAGER_IMAGE prometheus-alertmanager ["/usr/bin/prometheus-alertmanager"]
$CI_PYTHON_IMAGE python3 []
IMAGES
}

# Builds the project's image ($1) from the Dockerfile on the stand-ins. podman 4.3 reuses a cached LABEL layer when
# only a build argument's value changed: the labels that change with every commit are also given with --label.
ci_build_exporter_image() {
  local image=$1 version revision
  ci_ensure_dotnet_images || return 1
  version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)
  revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
  podman build -q --format docker -t "$image" \
    --build-arg SDK_IMAGE="$CI_SDK_IMAGE" --build-arg RUNTIME_IMAGE="$CI_RUNTIME_IMAGE" \
    --build-arg VERSION="$version" --build-arg REVISION="$revision" \
    --label org.opencontainers.image.revision="$revision" --label org.opencontainers.image.created="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    . >/dev/null
}

# A TCP port free on 127.0.0.1 right now.
ci_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

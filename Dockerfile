# ipsec-exporter container image (docs/CONTAINER.md).
#   podman build --format docker -t ipsec-exporter .      (docker build -t ipsec-exporter .)
# The base images are build arguments so the image can be built where registries are out of reach, from local
# stand-ins (scripts/suites/container-image.sh builds it that way in CI).
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0

FROM ${SDK_IMAGE} AS build
WORKDIR /src
# Restore first: the package layer is reused while only the sources change.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/IpsecExporter/IpsecExporter.csproj src/IpsecExporter/
RUN dotnet restore src/IpsecExporter/IpsecExporter.csproj
COPY src/ src/
# A one-shot build gains nothing from the compiler server, and under buildah's chroot isolation it outlives the build.
RUN dotnet publish src/IpsecExporter/IpsecExporter.csproj -c Release -o /app --no-restore --nologo -p:UseSharedCompilation=false

FROM ${RUNTIME_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=unknown
# The official .NET images' unprivileged "app" user; any non-zero UID works (no home directory is needed).
ARG APP_UID=1654
LABEL org.opencontainers.image.title="ipsec-exporter" \
      org.opencontainers.image.description="Prometheus exporter that tells whether IPsec tunnels really carry traffic (strongSwan VICI, ICMP probes, diagnosis)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.documentation="docs/CONTAINER.md in the source"
COPY --from=build /app /app
# Replace it with a bind mount or a ConfigMap: -v ./config.yaml:/etc/ipsec-exporter/config.yaml:ro
COPY config.example.yaml /etc/ipsec-exporter/config.yaml
# Runtime needs, all granted at `run` time, none baked in:
#  - ICMP probes: --cap-add NET_RAW (raw sockets). Without it the exporter uses unprivileged datagram ICMP sockets when
#    net.ipv4.ping_group_range covers its group (--sysctl net.ipv4.ping_group_range="0 2147483647"); the log says
#    which ("ICMP probes over IPv4 use Raw|Datagram sockets").
#  - strongSwan: mount charon's VICI socket (-v /var/run/charon.vici:/var/run/charon.vici) and join the socket's
#    group (--group-add "$(stat -c %g /var/run/charon.vici)"): charon creates it mode 0770.
# A generation 0 of 32 MB, as deploy/systemd sets it: a hub's collection then mostly dies young instead of being
# promoted into generation 2 (docs/PERFORMANCE.md, "The generation 0 budget"); the runtime reads it only from the environment.
ENV DOTNET_GCgen0size=0x2000000
USER ${APP_UID}
EXPOSE 9478
# Runs inside the container: no curl needed. With another --listen, override the HEALTHCHECK to match.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["dotnet", "/app/ipsec-exporter.dll", "healthcheck"]
ENTRYPOINT ["dotnet", "/app/ipsec-exporter.dll"]
CMD ["run", "--config", "/etc/ipsec-exporter/config.yaml"]

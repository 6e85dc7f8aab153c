# Multi-stage build. Base images are arguments so a build can use local stand-ins where registries are unreachable.
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0

FROM ${SDK_IMAGE} AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ipsec-exporter.sln ./
COPY src/ src/
RUN dotnet publish src/IpsecExporter/IpsecExporter.csproj -c Release -o /app --nologo

FROM ${RUNTIME_IMAGE}
WORKDIR /app
COPY --from=build /app ./
COPY config.example.yaml /etc/ipsec-exporter/config.yaml
# Raw ICMP sockets need CAP_NET_RAW (run with --cap-add NET_RAW); the VICI socket must be mounted,
# e.g. -v /var/run/charon.vici:/var/run/charon.vici.
EXPOSE 9478
ENTRYPOINT ["dotnet", "/app/ipsec-exporter.dll"]
CMD ["run", "--config", "/etc/ipsec-exporter/config.yaml"]

#!/usr/bin/env bash
# The BenchmarkDotNet micro-benchmarks (bench/IpsecExporter.Benchmarks, docs/PERFORMANCE.md "Micro-benchmarks") keep
# compiling against the exporter, warnings as errors (Directory.Build.props), and list every benchmark; the file-based
# bench and recording scripts (`dotnet run FILE.cs`) keep compiling too, as nothing else builds them. Nothing is
# measured here: the figures come from running them by hand on a quiet machine.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
project=bench/IpsecExporter.Benchmarks

echo "-- build"
dotnet build "$project" -c Release -nologo -v quiet

echo "-- every benchmark listed"
listed=$(dotnet run --project "$project" -c Release --no-build -- --list flat)
for benchmark in ViciDecoderBenchmarks.DecodeFrames ViciDecoderBenchmarks.DecodeAndMap TunnelModelBenchmarks.OnCollected MetricsRenderingBenchmarks.Render \
    ScrapeRendererBenchmarks.Writer ScrapeRendererBenchmarks.PrometheusNetBeforeCollect ScrapeRendererBenchmarks.WriterGzipFastest ScrapeRendererBenchmarks.WriterGzipOptimal \
    DiagnosisRoundBenchmarks.Round DiagnosisRoundBenchmarks.Write; do
  grep -q "IpsecExporter.Benchmarks.$benchmark\$" <<<"$listed" || { echo "FAIL: $benchmark not listed in: $listed" >&2; exit 1; }
done
echo "-- file-based scripts compile"
for script in bench/vici-collect.cs bench/vici-hub/server.cs bench/basic-auth-flood.cs scripts/record-vici-fixture.cs; do
  dotnet build "$script" -c Release -nologo -v quiet || { echo "FAIL: $script does not compile" >&2; exit 1; }
done
echo "-- benchmarks-build: all checks passed"

#!/usr/bin/env bash
# CI's 3-minute soak (bench/soak/run.sh, docs/PERFORMANCE.md "Soak"): the Release exporter at 1,000 probe targets
# against the scripted VICI server with its SA set churning (a CHILD SA rekey every 8 s per pair, REKEYED/DELETED SAs
# lingering, IKE rekeys, rekey events), 90 s warm-up (the GC's budgets and the model's buffers settle in about
# that), then: RSS growth under 5% (mean of the first 45 s against the mean of the last 45 s: the GC's sawtooth,
# drops of 8-40 MiB every 4-55 s, averages out) and no thread, fd or socket growth
# between them, every counter and histogram series monotonic over every scrape,
# ipsec_source_up 1, traffic and rekeys counted once, no error in the log. bench/soak/run.sh builds what it needs and
# stops everything it started, also on failure. About 3.5 minutes.
# Exits 77 when no ICMP socket can be opened (not root and outside net.ipv4.ping_group_range): nothing to soak then.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
  read -r low high </proc/sys/net/ipv4/ping_group_range
  if ! id -G | tr ' ' '\n' | awk -v low="$low" -v high="$high" '$1 >= low && $1 <= high { found = 1 } END { exit !found }'; then
    echo "soak: not root and no group of this user in net.ipv4.ping_group_range ($low $high): no ICMP socket, not run"
    exit 77
  fi
fi
exec bench/soak/run.sh --minutes 3 --warmup 90 --targets 1000

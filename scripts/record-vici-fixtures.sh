#!/usr/bin/env bash
# Re-records the VICI golden fixtures (tests/IpsecExporter.Tests/Fixtures/vici/SCENARIO/) from a real testbed:
#   NN.bin         what charon sent for one collection (version, stats, list-sas, list-conns), raw frames
#   NN.events.bin  the events charon sent before that collection (child-rekey, child-updown, ...), raw frames
# The expected.prom files beside them are reviewed by hand: re-recording changes SPIs and may change counters.
# Run as root from anywhere; uses testbed index 91 (the fixtures' configuration expects 10.91.x.x).
set -euo pipefail
cd "$(dirname "$0")/.."
out=tests/IpsecExporter.Tests/Fixtures/vici
tb=testbed/testbed.sh
name="rec$$"
trap '"$tb" down --name "$name" >/dev/null 2>&1 || true' EXIT

"$tb" up --name "$name" --index 91 >/dev/null
uri=$(sed -n 's/^hq_vici=//p' "/run/ipsec-testbed/$name/summary.env")
dotnet build scripts/record-vici-fixture.cs -nologo -v quiet >/dev/null

record() { dotnet run --no-build scripts/record-vici-fixture.cs -- "$@"; }
collect() { mkdir -p "$out/$1"; record collect "$uri" "$out/$1/$2.bin"; }
ping_hq() { "$tb" ping --name "$name" "$@" >/dev/null || true; }

# events SCENARIO NN SECONDS COMMAND...: records events while COMMAND runs, for SECONDS in total.
events() {
    local scenario="$1" nn="$2" seconds="$3" fifo; shift 3
    mkdir -p "$out/$scenario"
    fifo=$(mktemp -u); mkfifo "$fifo"
    record events "$uri" "$out/$scenario/$nn.events.bin" "$seconds" >"$fifo" &
    local recorder=$!
    read -r ready <"$fifo" && [[ "$ready" == READY ]]
    "$@"
    wait "$recorder"
    rm -f "$fifo"
}

# healthy: traffic both ways on net1 (IPv4) and net6 (IPv6), net2 idle.
ping_hq --count 5 --interval 0.1
ping_hq --count 3 --interval 0.1 --target fd00:91:2::1
collect healthy 01

# desync: ESP arriving at HQ is dropped; HQ keeps sending, receives nothing.
"$tb" drop-direction --name "$name" --side hq 2>/dev/null
ping_hq --count 4 --interval 0.1
collect desync 01
"$tb" restore --name "$name" 2>/dev/null

# duplicate: a second CHILD SA with net1's selectors.
"$tb" duplicate-child --name "$name" 2>/dev/null
ping_hq --count 3 --interval 0.1
collect duplicate 01
"$tb" restore --name "$name" 2>/dev/null

# rekey: net1 rekeyed (with PFS) and the IKE SA rekeyed, traffic before, during and after the overlap.
ping_hq --count 3 --interval 0.1
collect rekey 01
rekey_all() {
    ping_hq --count 2 --interval 0.1
    "$tb" rekey --name "$name" --child net1 >/dev/null 2>&1
    ping_hq --count 2 --interval 0.1
    "$tb" rekey --name "$name" --ike >/dev/null 2>&1
}
events rekey 02 3 rekey_all
collect rekey 02
sleep 7   # the replaced CHILD SA lingers (state DELETED) for a few seconds
ping_hq --count 2 --interval 0.1
collect rekey 03

# phase2-missing: net2 deleted, the IKE SA stays.
collect phase2-missing 01
events phase2-missing 02 3 "$tb" terminate-child --name "$name" --child net2
collect phase2-missing 02

# phase1-down: the IKE SA and with it every CHILD SA deleted.
ping_hq --count 2 --interval 0.1
collect phase1-down 01
events phase1-down 02 3 "$tb" terminate-ike --name "$name"
collect phase1-down 02
echo "recorded into $out"

#!/usr/bin/env bash
# selftest.sh - exercises every testbed.sh verb against real charons and checks its effect
# through the VICI sockets that `up` prints (the same way the exporter will see it).
# Usage: sudo testbed/selftest.sh        (about 1-2 minutes; leaves nothing behind)
set -euo pipefail

TB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/testbed.sh"
A="st$$a" B="st$$b"
FAILS=0

pass() { echo "PASS  $*"; }
fail() { echo "FAIL  $*"; FAILS=$((FAILS + 1)); }
check() {  # check DESCRIPTION COMMAND...
    local what="$1"; shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}

cleanup() { "$TB" down --name "$A" 2>/dev/null || true; "$TB" down --name "$B" 2>/dev/null || true; }
trap cleanup EXIT

# summary KEY from a testbed's `info` output
declare -A SUM
load_summary() {  # load_summary PREFIX NAME
    local k v
    while IFS='=' read -r k v; do SUM["$1.$k"]="$v"; done < <("$TB" info --name "$2")
}

# Raw VICI dump via the printed URI; swanctl's own plugin chatter goes to stderr.
raw() { swanctl --list-sas --raw --uri "$1" 2>/dev/null; }

# child_sum URI CHILD FIELD: sum FIELD over INSTALLED SAs of that child config name
child_sum() {
    raw "$1" | grep -oE "name=$2 [^}]*" | grep 'state=INSTALLED' |
        grep -oE " $3=[0-9]+" | cut -d= -f2 | awk '{s+=$1} END {print s+0}'
}
child_field() {  # first INSTALLED SA of CHILD: value of FIELD (empty if absent)
    raw "$1" | grep -oE "name=$2 [^}]*" | grep 'state=INSTALLED' | head -1 |
        grep -oE " $3=[^ ]+" | cut -d= -f2 || true
}
count_installed() { raw "$1" | grep -oE "name=$2 [^}]*state=INSTALLED" | wc -l; }
count_ts() {  # INSTALLED SAs with the given local/remote selectors
    raw "$1" | grep -oE "\{name=[^}]*\}" | grep 'state=INSTALLED' |
        grep -c "local-ts=\[$2\] remote-ts=\[$3\]" || true
}
ike_state() { raw "$1" | grep -oE "^list-sa event \{[a-z]+ \{uniqueid=[0-9]+ version=2 state=[A-Z_]+" | sed 's/.*state=//' | head -1; }
ike_count() { raw "$1" | grep -c '^list-sa event' || true; }

gt() { (($1 > $2)); }
eq() { [[ "$1" == "$2" ]]; }
ping_ok() { "$TB" ping --name "$1" --count "${3:-3}" --target "$2" >/dev/null 2>&1; }
ping_fails() { ! ping_ok "$@"; }

echo "== up (two testbeds, different options)"
t0=$(date +%s%3N)
"$TB" up --name "$A" >/dev/null
t1=$(date +%s%3N)
"$TB" up --name "$B" --ike-rekey 30s --child-rekey 20s --pfs no >/dev/null
t2=$(date +%s%3N)
echo "   up $A: $((t1 - t0)) ms, up $B: $((t2 - t1)) ms"
load_summary A "$A"; load_summary B "$B"
AH="${SUM[A.hq_vici]}" AB="${SUM[A.br_vici]}" BH="${SUM[B.hq_vici]}"
check "indexes differ (${SUM[A.index]} vs ${SUM[B.index]})" test "${SUM[A.index]}" != "${SUM[B.index]}"
check "IKE SA ESTABLISHED on $A hq" eq "$(ike_state "$AH")" ESTABLISHED
check "IKE SA ESTABLISHED on $A br" eq "$(ike_state "$AB")" ESTABLISHED

echo "== traffic through every pair"
IFS=, read -r -a targets <<<"${SUM[A.br_inside_targets]}"
for t in "${targets[@]}"; do check "ping $t" ping_ok "$A" "$t"; done
for c in net1 net2 net6; do
    before_hq_out=$(child_sum "$AH" $c bytes-out) before_hq_in=$(child_sum "$AH" $c bytes-in)
    before_br_in=$(child_sum "$AB" $c bytes-in) before_br_out=$(child_sum "$AB" $c bytes-out)
    tgt="${SUM[A.pair_${c}_targets]%%,*}"
    ping_ok "$A" "$tgt" 4 || true
    check "$c hq bytes-out grows" gt "$(child_sum "$AH" $c bytes-out)" "$before_hq_out"
    check "$c hq bytes-in grows" gt "$(child_sum "$AH" $c bytes-in)" "$before_hq_in"
    check "$c br bytes-in grows" gt "$(child_sum "$AB" $c bytes-in)" "$before_br_in"
    check "$c br bytes-out grows" gt "$(child_sum "$AB" $c bytes-out)" "$before_br_out"
done

echo "== isolation"
b_before=$(child_sum "$BH" net1 bytes-out)
ping_ok "$A" "${targets[0]}" 5 || true
check "traffic in $A leaves $B's counters alone" eq "$(child_sum "$BH" net1 bytes-out)" "$b_before"
check "$A-hq cannot reach $B's public address" \
    bash -c "! ip netns exec '$A-hq' ping -c1 -W1 '${SUM[B.br_public]}' >/dev/null 2>&1"

echo "== drop-direction --side hq"
"$TB" drop-direction --name "$A" --side hq 2>/dev/null
o=$(child_sum "$AH" net1 bytes-out) i=$(child_sum "$AH" net1 bytes-in) bi=$(child_sum "$AB" net1 bytes-in)
check "ping fails while HQ drops incoming ESP" ping_fails "$A" "${targets[0]}"
check "hq bytes-out still grows" gt "$(child_sum "$AH" net1 bytes-out)" "$o"
check "hq bytes-in flat" eq "$(child_sum "$AH" net1 bytes-in)" "$i"
check "br bytes-in grows" gt "$(child_sum "$AB" net1 bytes-in)" "$bi"
ike_spi() { raw "$1" | grep -oE 'initiator-spi=[0-9a-f]+' | head -1; }
spi_before=$(ike_spi "$AH")
"$TB" rekey --name "$A" --ike >/dev/null 2>&1
sleep 1
check "IKE rekey works under drop: new IKE SPI" test "$(ike_spi "$AH")" != "$spi_before"
check "IKE rekey works under drop: ESTABLISHED" eq "$(ike_state "$AH")" ESTABLISHED
"$TB" restore --name "$A" 2>/dev/null
check "ping works after restore" ping_ok "$A" "${targets[0]}"

echo "== drop-random --side br --percent 50"
"$TB" drop-random --name "$A" --side br --percent 50 2>/dev/null
out=$("$TB" ping --name "$A" --count 60 --interval 0.05 --target "${targets[0]}" 2>/dev/null || true)
loss=$(grep -oE '[0-9.]+% packet loss' <<<"$out" | cut -d% -f1 | cut -d. -f1)
check "random loss between 10% and 95% (got ${loss}%)" bash -c "((${loss:-0} >= 10 && ${loss:-0} <= 95))"
"$TB" restore --name "$A" 2>/dev/null

echo "== drop-child --child net2 at hq, drop-echo of one net1 target at br"
n="${SUM[A.index]}"
"$TB" drop-child --name "$A" --side hq --child net2 2>/dev/null
"$TB" drop-echo --name "$A" --side br --target "10.$n.2.20" 2>/dev/null
check "net1's other target still answers" ping_ok "$A" "10.$n.2.1"
check "the target whose echo is dropped does not" ping_fails "$A" "10.$n.2.20"
o=$(child_sum "$AH" net2 bytes-out) i=$(child_sum "$AH" net2 bytes-in) n1=$(child_sum "$AH" net1 bytes-in)
check "net2 carries nothing back" ping_fails "$A" "10.$n.4.1"
check "net2: hq bytes-out grows" gt "$(child_sum "$AH" net2 bytes-out)" "$o"
check "net2: hq bytes-in flat" eq "$(child_sum "$AH" net2 bytes-in)" "$i"
ping_ok "$A" "10.$n.2.1" >/dev/null
check "net1: hq bytes-in still grows" gt "$(child_sum "$AH" net1 bytes-in)" "$n1"
"$TB" restore --name "$A" 2>/dev/null
check "net2 answers after restore" ping_ok "$A" "10.$n.4.1"
check "the dropped target answers after restore" ping_ok "$A" "10.$n.2.20"

echo "== duplicate-child"
n="${SUM[A.index]}"
"$TB" duplicate-child --name "$A" 2>/dev/null
check "hq: 2 INSTALLED SAs with net1's selectors" eq "$(count_ts "$AH" "10.$n.1.0/24" "10.$n.2.0/24")" 2
check "br: 2 INSTALLED SAs with net1's selectors" eq "$(count_ts "$AB" "10.$n.2.0/24" "10.$n.1.0/24")" 2
check "br: both are named net1" eq "$(count_installed "$AB" net1)" 2
"$TB" restore --name "$A" 2>/dev/null
check "restore removes the duplicate" eq "$(count_ts "$AH" "10.$n.1.0/24" "10.$n.2.0/24")" 1

echo "== rekey --child (PFS on $A, none on $B)"
spi=$(child_field "$AH" net1 spi-in)
check "net1 (made in IKE_AUTH) has no dh-group before its first rekey" eq "$(child_field "$AH" net1 dh-group)" ""
"$TB" rekey --name "$A" --child net1 >/dev/null 2>&1
sleep 1
check "net1 has new SPIs" test "$(child_field "$AH" net1 spi-in)" != "$spi"
check "net1 dh-group after rekey with PFS" eq "$(child_field "$AH" net1 dh-group)" ECP_256
"$TB" rekey --name "$B" --child net1 >/dev/null 2>&1
sleep 1
check "no dh-group after rekey without PFS" eq "$(child_field "$BH" net1 dh-group)" ""

echo "== terminate-child / terminate-ike / initiate"
"$TB" terminate-child --name "$A" --child net2 >/dev/null 2>&1
sleep 2
check "net2 gone" eq "$(count_installed "$AH" net2)" 0
check "net1 still there" eq "$(count_installed "$AH" net1)" 1
check "IKE still ESTABLISHED" eq "$(ike_state "$AH")" ESTABLISHED
"$TB" initiate --name "$A" --child net2 --wait 2>/dev/null
check "net2 back after initiate" eq "$(count_installed "$AH" net2)" 1
"$TB" terminate-ike --name "$A" >/dev/null 2>&1
check "no IKE SA after terminate-ike" eq "$(ike_count "$AH")" 0
check "no IKE SA on br either" eq "$(ike_count "$AB")" 0
"$TB" initiate --name "$A" --wait 2>/dev/null
check "all back after initiate" ping_ok "$A" "${targets[0]}"

echo "== restart-charon"
"$TB" restart-charon --name "$A" --side br --signal KILL --wait 2>/dev/null
check "br crash+restart: ping works" ping_ok "$A" "${targets[0]}"
check "br crash+restart: hq holds exactly one IKE SA" eq "$(ike_count "$AH")" 1
"$TB" restart-charon --name "$A" --side hq --wait 2>/dev/null
check "hq restart: ping works" ping_ok "$A" "${targets[0]}"
check "hq restart: br holds exactly one IKE SA" eq "$(ike_count "$AB")" 1

echo "== automatic rekey with short lifetimes on $B (child 20s)"
u=$(child_field "$BH" net1 uniqueid)
deadline=$(($(date +%s) + 40))
while eq "$(child_field "$BH" net1 uniqueid)" "$u" && (($(date +%s) < deadline)); do sleep 1; done
check "net1 rekeyed by itself (uniqueid $u -> $(child_field "$BH" net1 uniqueid))" \
    test "$(child_field "$BH" net1 uniqueid)" != "$u"

echo "== down"
pids=$(cat /run/ipsec-testbed/{"$A","$B"}/{hq,br}/charon.pid 2>/dev/null | tr '\n' ' ')
"$TB" down --name "$A" 2>/dev/null
"$TB" down --name "$B" 2>/dev/null
"$TB" down --name "$A" 2>/dev/null   # idempotent
check "no namespaces left" bash -c "! ip netns list | grep -qE '^($A|$B)-'"
check "no /etc/netns dirs left" bash -c "! ls /etc/netns 2>/dev/null | grep -qE '^($A|$B)-'"
check "no state dirs left" bash -c "[[ ! -e /run/ipsec-testbed/$A && ! -e /run/ipsec-testbed/$B ]]"
check "all 4 charons ($pids) gone" bash -c "for p in $pids; do [[ -d /proc/\$p ]] && exit 1; done; [[ \$(wc -w <<<'$pids') -eq 4 ]]"

echo
if ((FAILS)); then echo "selftest: $FAILS check(s) FAILED"; exit 1; fi
echo "selftest: all checks passed"

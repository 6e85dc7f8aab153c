#!/usr/bin/env bash
# testbed.sh - real strongSwan site-to-site tunnels in network namespaces, for testing
# ipsec-exporter against a live charon (VICI) instead of mocks.
#
# One testbed = two namespaces (ID-hq, ID-br), each running its own charon with userspace ESP
# (kernel-libipsec, because the kernel here has no ESP), joined by a veth "public" link.
# Everything is derived from the testbed name, so several testbeds can run side by side.
# See testbed/README.md for the address plan, every verb and an example session.

set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly TEMPLATES="$SCRIPT_DIR/templates"
readonly STATE_ROOT=/run/ipsec-testbed
readonly CHARON_BIN=/usr/lib/ipsec/charon
# Verified plugin list (see /work/shared/TESTBED.md): kdf is required for IKE, no curve25519.
readonly PLUGINS="kdf random nonce openssl aes sha1 sha2 hmac gcm pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici updown"
readonly PACKAGES="strongswan-charon strongswan-swanctl libcharon-extra-plugins iputils-ping nftables iproute2 util-linux"
# Child configs, one per network pair; same names on both gateways.
readonly CHILDREN=(net1 net2 net6)
readonly DUP_CHILD=net1dup
readonly NFT_TABLE=ipsec_testbed
readonly HQ_CONN=branch   # IKE connection name on HQ (it points at the branch)
readonly BR_CONN=hq       # IKE connection name on the branch

usage() {
    cat <<EOF
Usage: testbed.sh VERB --name ID [options]      (root only)

Lifecycle
  up --name ID [--index N] [--ike-rekey 8h] [--child-rekey 5h20m] [--pfs yes|no] [--timeout 60]
                     create netns ID-hq/ID-br, start both charons, establish IKE SA + CHILD SAs
                     net1, net2, net6; wait until all are INSTALLED; print key=value summary
  down --name ID     kill both charons, remove namespaces, /etc/netns/ID-*, state dir (idempotent)
  info --name ID     print the key=value summary of a running testbed again
  list               list testbeds (name and index)
  wait --name ID [--timeout 60]
                     wait until the IKE SA and every CHILD SA are INSTALLED on both sides
  status --name ID [--raw]
                     swanctl --list-sas on both gateways

Traffic
  ping --name ID [--count 3] [--target IP] [--from hq|br] [--interval 0.2]
                     ping through the tunnel from an inside address (default: HQ 10.N.1.1 ->
                     10.N.2.1; the source is chosen to match the target's network pair)

Faults (all act on the named testbed)
  drop-direction --name ID --side hq|br
                     drop ESP arriving at that side (IKE still passes): one direction stalls
  drop-random --name ID --side hq|br --percent N
                     drop N% of ESP and of ICMP to that side's public address
  drop-child --name ID --side hq|br --child NAME
                     drop the ESP of that child's INSTALLED SA arriving at that side (by its inbound
                     SPI; the other children keep flowing): that one pair desynchronized, until the
                     SA is rekeyed
  drop-echo --name ID --side hq|br --target IP
                     drop ICMP echo requests to that inside address at that side: a host that does
                     not answer while its network pair works
  restore --name ID  remove all nftables faults and the duplicate child (SAs that were
                     terminated stay down: use 'initiate')
  duplicate-child --name ID
                     load child config $DUP_CHILD (same selectors as net1) on HQ and initiate it:
                     two INSTALLED CHILD SAs with identical selectors
  rekey --name ID [--child NAME | --ike] [--reauth]
                     swanctl --rekey on HQ (default: --ike)
  terminate-child --name ID --child NAME
                     delete that CHILD SA from HQ; the IKE SA stays up, nothing re-initiates it
  terminate-ike --name ID
                     delete the IKE SA (and with it all CHILD SAs) from HQ
  initiate --name ID [--child NAME] [--side hq|br] [--wait] [--timeout 60]
                     (re-)establish one child or all of them
  restart-charon --name ID --side hq|br [--signal TERM|KILL] [--no-initiate] [--wait] [--timeout 60]
                     stop that side's charon (SIGTERM by default, KILL = crash) and start it
                     again; unless --no-initiate, the restarted side re-initiates all children

Durations use strongSwan syntax: 30s, 20m, 8h, 5h20m is accepted and converted to seconds.
EOF
}

die() { echo "testbed: error: $*" >&2; exit 1; }
log() { echo "testbed: $*" >&2; }

# ---------------------------------------------------------------------------------------------
# Options and derived names
# ---------------------------------------------------------------------------------------------

NAME="" INDEX="" IKE_REKEY=8h CHILD_REKEY=5h20m PFS=yes TIMEOUT=60 SIDE="" PERCENT=""
CHILD="" IKE_FLAG=0 REAUTH=0 COUNT=3 TARGET="" FROM=hq INTERVAL=0.2 WAIT=0 NO_INITIATE=0
SIGNAL=TERM RAW=0

parse_opts() {
    while (($#)); do
        case "$1" in
            --name) NAME="${2:?--name needs a value}"; shift ;;
            --index) INDEX="${2:?--index needs a value}"; shift ;;
            --ike-rekey) IKE_REKEY="${2:?}"; shift ;;
            --child-rekey) CHILD_REKEY="${2:?}"; shift ;;
            --pfs) PFS="${2:?}"; shift ;;
            --timeout) TIMEOUT="${2:?}"; shift ;;
            --side) SIDE="${2:?}"; shift ;;
            --percent) PERCENT="${2:?}"; shift ;;
            --child) CHILD="${2:?}"; shift ;;
            --ike) IKE_FLAG=1 ;;
            --reauth) REAUTH=1 ;;
            --count) COUNT="${2:?}"; shift ;;
            --target) TARGET="${2:?}"; shift ;;
            --from) FROM="${2:?}"; shift ;;
            --interval) INTERVAL="${2:?}"; shift ;;
            --wait) WAIT=1 ;;
            --no-initiate) NO_INITIATE=1 ;;
            --signal) SIGNAL="${2:?}"; shift ;;
            --raw) RAW=1 ;;
            -h|--help) usage; exit 0 ;;
            *) usage >&2; die "unknown option '$1'" ;;
        esac
        shift
    done
}

# strongSwan accepts 30s/20m/8h/1d but not compound values; turn "5h20m" into seconds.
to_seconds() {
    local v="$1" total=0 num unit
    [[ "$v" =~ ^([0-9]+[smhd]?)+$ ]] || die "bad duration '$v' (use e.g. 30s, 20m, 8h, 5h20m)"
    while [[ -n "$v" ]]; do
        [[ "$v" =~ ^([0-9]+)([smhd]?)(.*)$ ]]
        num="${BASH_REMATCH[1]}" unit="${BASH_REMATCH[2]}" v="${BASH_REMATCH[3]}"
        case "$unit" in
            ""|s) total=$((total + 10#$num)) ;;
            m) total=$((total + 10#$num * 60)) ;;
            h) total=$((total + 10#$num * 3600)) ;;
            d) total=$((total + 10#$num * 86400)) ;;
        esac
    done
    ((total > 0)) || die "duration must be > 0"
    echo "$total"
}

require_name() {
    [[ -n "$NAME" ]] || { usage >&2; die "--name ID is required"; }
    # <= 10 chars so that "ID-hq0" (veth) stays within the 15-char interface name limit.
    [[ "$NAME" =~ ^[a-z0-9][a-z0-9-]{0,9}$ ]] ||
        die "--name must be 1-10 chars of [a-z0-9-], starting with a letter or digit"
}

require_side() {
    [[ "$SIDE" == hq || "$SIDE" == br ]] || die "--side hq|br is required"
}

# Names that depend only on the testbed name.
set_names() {
    NS_HQ="$NAME-hq" NS_BR="$NAME-br"
    VETH_HQ="$NAME-hq0" VETH_BR="$NAME-br0"
    STATE="$STATE_ROOT/$NAME"
}

# Addresses that depend on the subnet index N (1..200), unique per running testbed.
set_addresses() {
    local n="$INDEX"
    HQ_PUBLIC="198.18.$n.1" BR_PUBLIC="198.18.$n.2"   # 198.18.0.0/15: benchmarking range
    NET1_HQ="10.$n.1.0/24" NET1_BR="10.$n.2.0/24"
    NET2_HQ="10.$n.3.0/24" NET2_BR="10.$n.4.0/24"
    NET6_HQ="fd00:$n:1::/64" NET6_BR="fd00:$n:2::/64"
    # Inside addresses live on lo (no dummy links on this kernel).
    HQ_INSIDE=("10.$n.1.1" "10.$n.3.1" "fd00:$n:1::1")
    BR_INSIDE=("10.$n.2.1" "10.$n.2.20" "10.$n.4.1" "fd00:$n:2::1" "fd00:$n:2::20")
    HQ_ID="hq.$NAME.testbed" BR_ID="br.$NAME.testbed"
    PSK="testbed-$NAME-psk-not-a-secret"
}

side_ns() { [[ "$1" == hq ]] && echo "$NS_HQ" || echo "$NS_BR"; }
side_conn() { [[ "$1" == hq ]] && echo "$HQ_CONN" || echo "$BR_CONN"; }
side_public() { [[ "$1" == hq ]] && echo "$HQ_PUBLIC" || echo "$BR_PUBLIC"; }
vici_path() { echo "$STATE/$1/charon.vici"; }

# Load the saved parameters of an existing testbed.
load_state() {
    require_name
    set_names
    [[ -f "$STATE/testbed.env" ]] || die "testbed '$NAME' is not up (no $STATE/testbed.env)"
    # shellcheck disable=SC1091  # written by cmd_up from validated values only
    source "$STATE/testbed.env"
    set_addresses
}

require_root() { ((EUID == 0)) || die "must run as root (namespaces, nftables, charon)"; }

# The project installs what it uses; only touch apt when something is actually missing.
ensure_deps() {
    local missing=0 c
    for c in swanctl nft ping ip unshare flock setsid; do
        command -v "$c" >/dev/null || missing=1
    done
    [[ -x "$CHARON_BIN" ]] || missing=1
    [[ -e /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ]] || missing=1
    if ((missing)); then
        log "installing missing packages: $PACKAGES"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PACKAGES >&2
    fi
    [[ -c /dev/net/tun ]] || die "/dev/net/tun missing: kernel-libipsec needs a TUN device"
}

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

# swanctl inside a side's namespace: it reads /etc/netns/NS/strongswan.conf (socket path) and
# /etc/netns/NS/swanctl/swanctl.conf through the bind mounts `ip netns exec` sets up.
swan() {
    local side="$1"; shift
    # Safety net only: a wedged charon must not hang the caller (initiate/terminate have their
    # own, shorter --timeout).
    timeout 90 ip netns exec "$(side_ns "$side")" swanctl "$@"
}

in_ns() {
    local side="$1"; shift
    ip netns exec "$(side_ns "$side")" "$@"
}

now_ms() { date +%s%3N; }

# Replace @KEY@ placeholders in a template file: render FILE KEY VALUE [KEY VALUE ...]
render() {
    local text
    text="$(<"$1")"; shift
    while (($#)); do
        text="${text//"@$1@"/"$2"}"
        shift 2
    done
    printf '%s\n' "$text"
}

esp_proposal() {
    # net2 uses a non-AEAD suite so VICI shows integ-alg and a MODP group too.
    local child="$1" base group
    case "$child" in
        net2) base=aes128-sha256 group=modp2048 ;;
        *) base=aes256gcm16 group=ecp256 ;;
    esac
    if [[ "$PFS" == yes ]]; then echo "$base-$group"; else echo "$base"; fi
}

# child blocks for one side; the optional 2nd argument adds the duplicate of net1.
render_children() {
    local side="$1" with_dup="${2:-0}" child lts rts rekey
    local -a list=("${CHILDREN[@]}")
    ((with_dup)) && list+=("$DUP_CHILD")
    for child in "${list[@]}"; do
        case "$child" in
            net1|"$DUP_CHILD") lts="$NET1_HQ" rts="$NET1_BR" ;;
            net2) lts="$NET2_HQ" rts="$NET2_BR" ;;
            net6) lts="$NET6_HQ" rts="$NET6_BR" ;;
        esac
        [[ "$side" == br ]] && { local t="$lts"; lts="$rts"; rts="$t"; }
        # charon's duplicate check compares whole child configs (not names): an identical copy
        # of net1 is refused with "existing duplicate", so the copy differs in rekey_time.
        rekey="$CHILD_REKEY_S"
        [[ "$child" == "$DUP_CHILD" ]] && rekey=$((CHILD_REKEY_S + 7))
        render "$TEMPLATES/child.conf.in" CHILD "$child" LOCAL_TS "$lts" REMOTE_TS "$rts" \
            ESP_PROPOSALS "$(esp_proposal "${child/$DUP_CHILD/net1}")" CHILD_REKEY "$rekey"
    done
}

render_swanctl() {
    local side="$1" with_dup="${2:-0}" lpub rpub lid rid
    if [[ "$side" == hq ]]; then
        lpub="$HQ_PUBLIC" rpub="$BR_PUBLIC" lid="$HQ_ID" rid="$BR_ID"
    else
        lpub="$BR_PUBLIC" rpub="$HQ_PUBLIC" lid="$BR_ID" rid="$HQ_ID"
    fi
    render "$TEMPLATES/swanctl.conf.in" NS "$(side_ns "$side")" CONN "$(side_conn "$side")" \
        LOCAL_PUBLIC "$lpub" REMOTE_PUBLIC "$rpub" IKE_REKEY "$IKE_REKEY_S" \
        LOCAL_ID "$lid" REMOTE_ID "$rid" HQ_ID "$HQ_ID" BR_ID "$BR_ID" PSK "$PSK" \
        CHILDREN "$(render_children "$side" "$with_dup")"
}

# ---------------------------------------------------------------------------------------------
# SA inspection (parses `swanctl --list-sas --raw`, i.e. exactly what VICI returns)
# ---------------------------------------------------------------------------------------------

# Prints one line per SA: "ike NAME STATE" and "child NAME STATE LOCAL_TS REMOTE_TS".
# The raw format is nested "key {k=v k=v sub {..}}" with list values as [a b].
sa_table() {
    local side="$1"
    timeout 10 ip netns exec "$(side_ns "$side")" swanctl --list-sas --noblock --raw 2>/dev/null | awk '
        {
            # tokens: "name {", "}", "k=v", lists "k=[a b]"
            line = $0
            gsub(/\{/, " { ", line); gsub(/\}/, " } ", line)
            n = split(line, tok, /[ \t]+/)
            for (i = 1; i <= n; i++) {
                t = tok[i]
                if (t == "") continue
                if (t == "{") { depth++; sect[depth] = prev; kind[depth] = ""; continue }
                if (t == "}") {
                    if (kind[depth] == "ike") print "ike", sect[depth], st[depth]
                    if (kind[depth] == "child") print "child", nm[depth], st[depth], lts[depth], rts[depth]
                    depth--; continue
                }
                if (t ~ /^[a-z-]+=\[/) {          # list value, may span tokens
                    key = substr(t, 1, index(t, "=") - 1); val = substr(t, index(t, "[") + 1)
                    while (val !~ /\]$/ && i < n) { i++; val = val "," tok[i] }
                    sub(/\]$/, "", val)
                    if (key == "local-ts") lts[depth] = val
                    if (key == "remote-ts") rts[depth] = val
                    continue
                }
                if (t ~ /=/) {
                    key = substr(t, 1, index(t, "=") - 1); val = substr(t, index(t, "=") + 1)
                    if (key == "version") kind[depth] = "ike"
                    if (key == "name") { nm[depth] = val; kind[depth] = "child" }
                    if (key == "state") st[depth] = val
                    continue
                }
                prev = t
            }
        }'
}

# True when the IKE SA is ESTABLISHED and every child config has an INSTALLED SA, on both sides.
all_ready() {
    local side table child
    for side in hq br; do
        table="$(sa_table "$side")" || return 1
        grep -q "^ike $(side_conn "$side") ESTABLISHED$" <<<"$table" || return 1
        for child in "${CHILDREN[@]}"; do
            grep -q "^child $child INSTALLED " <<<"$table" || return 1
        done
    done
}

wait_ready() {
    local timeout="$1" deadline
    deadline=$(($(now_ms) + timeout * 1000))
    until all_ready; do
        (($(now_ms) < deadline)) || return 1
        sleep 0.2
    done
}

wait_for() {  # wait_for TIMEOUT_S DESCRIPTION COMMAND...
    local timeout="$1" what="$2" deadline; shift 2
    deadline=$(($(now_ms) + timeout * 1000))
    until "$@"; do
        (($(now_ms) < deadline)) || { log "timed out after ${timeout}s waiting for $what"; return 1; }
        sleep 0.1
    done
}

# ---------------------------------------------------------------------------------------------
# charon processes
# ---------------------------------------------------------------------------------------------

charon_pid() {  # prints the pid if that side's charon is alive
    local pidfile="$STATE/$1/charon.pid" pid
    [[ -f "$pidfile" ]] || return 1
    pid="$(tr -dc '0-9' <"$pidfile")"
    [[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == charon ]] || return 1
    echo "$pid"
}

# Bounded: a connected-but-unserved VICI socket would block swanctl forever.
vici_up() { timeout 5 ip netns exec "$(side_ns "$1")" swanctl --stats >/dev/null 2>&1; }

start_charon() {
    local side="$1" dir="$STATE/$1" ns
    ns="$(side_ns "$side")"
    rm -f "$dir/charon.pid" "$dir/charon.vici"
    echo "=== charon start $(date '+%F %T') ===" >>"$dir/charon.out"
    # Each charon needs its own /run (fixed /run/charon.pid): in a private mount namespace,
    # bind-mount this side's state dir over /run. The pid file, VICI socket and log then appear
    # in $dir on the host. setsid + redirections: charon must not hold the caller's terminal,
    # stdout pipe (a test reading our output would never see EOF) or our lock fd.
    # shellcheck disable=SC2016  # $1/$2 are expanded by the inner sh
    setsid ip netns exec "$ns" unshare -m --propagation private \
        sh -c 'mount --bind "$1" /run && exec "$2"' \
        sh "$dir" "$CHARON_BIN" </dev/null >>"$dir/charon.out" 2>&1 9>&- &
    local pid=$! deadline=$(($(now_ms) + 15000))
    until vici_up "$side"; do
        # setsid/ip/unshare/sh all exec, so $! is charon itself: fail fast if it died.
        kill -0 "$pid" 2>/dev/null || { log "charon ($side) exited during startup"; return 1; }
        (($(now_ms) < deadline)) || { log "charon ($side) VICI socket not up after 15s"; return 1; }
        sleep 0.1
    done
    log "charon $side running (pid $pid, ns $ns)"
}

stop_charon() {
    local side="$1" sig="${2:-TERM}" pid ns p
    ns="$(side_ns "$side")"
    if pid="$(charon_pid "$side")"; then
        kill "-$sig" "$pid" 2>/dev/null || true
        wait_for 10 "charon ($side) to exit" charon_gone "$pid" || {
            kill -KILL "$pid" 2>/dev/null || true
            wait_for 5 "charon ($side) to die" charon_gone "$pid" || true
        }
    fi
    # Anything else we started in that namespace (e.g. a charon whose pid file was lost).
    if ip netns list | grep -qw "^$ns"; then
        for p in $(ip netns pids "$ns" 2>/dev/null); do
            if [[ "$(cat "/proc/$p/comm" 2>/dev/null)" == charon ]]; then
                kill -KILL "$p" 2>/dev/null || true
            fi
        done
    fi
    rm -f "$STATE/$side/charon.pid" "$STATE/$side/charon.vici"
}

# Gone or pid reused. A zombie still counts as present: `down` returns only once the process
# has been reaped, so a `pgrep charon` right after it sees nothing.
charon_gone() { [[ ! -d "/proc/$1" ]] || [[ "$(cat "/proc/$1/comm" 2>/dev/null)" != charon ]]; }

load_config() {
    local side="$1" file="${2:-/etc/swanctl/swanctl.conf}"
    swan "$side" --load-all --noprompt --file "$file" >>"$STATE/$side/swanctl.out" 2>&1 ||
        { cat "$STATE/$side/swanctl.out" >&2; die "swanctl --load-all failed on $side"; }
}

# Children are initiated explicitly (start_action = none everywhere), so anything we terminate
# stays down until asked for.
initiate_children() {
    local side="$1"; shift
    local child rc=0 t=$((TIMEOUT < 20 ? TIMEOUT : 20))
    ((t > 0)) || t=1
    for child in "$@"; do
        swan "$side" --initiate --child "$child" --timeout "$t" >>"$STATE/$side/swanctl.out" 2>&1 ||
            { log "initiate $child from $side failed (see $STATE/$side/swanctl.out)"; rc=1; }
    done
    return $rc
}

dump_logs() {
    local side
    for side in hq br; do
        [[ -d "$STATE/$side" ]] || continue
        echo "----- $side: charon.log (last 80 lines) -----" >&2
        tail -n 80 "$STATE/$side/charon.log" >&2 2>/dev/null || true
        echo "----- $side: charon.out / swanctl.out (last 20 lines) -----" >&2
        tail -n 20 "$STATE/$side/charon.out" "$STATE/$side/swanctl.out" >&2 2>/dev/null || true
    done
}

# ---------------------------------------------------------------------------------------------
# up / down
# ---------------------------------------------------------------------------------------------

testbed_exists() {
    [[ -d "$STATE" || -e "/run/netns/$NS_HQ" || -e "/run/netns/$NS_BR" ||
       -d "/etc/netns/$NS_HQ" || -d "/etc/netns/$NS_BR" ]]
}

indexes_in_use() {
    local f
    for f in "$STATE_ROOT"/*/testbed.env; do
        [[ -f "$f" ]] && sed -n 's/^INDEX=//p' "$f"
    done
    return 0
}

# Pick the subnet index: --index N, or a hash of the name, probing past indexes in use.
allocate_index() {
    local used want i
    used=" $(indexes_in_use | tr '\n' ' ') "
    if [[ -n "$INDEX" ]]; then
        if ! [[ "$INDEX" =~ ^[0-9]+$ ]] || ((10#$INDEX < 1 || 10#$INDEX > 200)); then
            die "--index must be 1..200"
        fi
        INDEX=$((10#$INDEX))
        [[ "$used" != *" $INDEX "* ]] || die "index $INDEX is already used by another testbed"
        return
    fi
    want=$(($(cksum <<<"$NAME" | cut -d' ' -f1) % 200 + 1))
    for ((i = 0; i < 200; i++)); do
        INDEX=$(((want - 1 + i) % 200 + 1))
        [[ "$used" == *" $INDEX "* ]] || return 0
    done
    die "no free subnet index (200 testbeds running?)"
}

create_network() {
    local a
    ip netns add "$NS_HQ"
    ip netns add "$NS_BR"
    ip -n "$NS_HQ" link set lo up
    ip -n "$NS_BR" link set lo up
    # The veth pair is created directly inside the namespaces: it never exists in the root
    # namespace, so names cannot collide with the host or other testbeds.
    ip -n "$NS_HQ" link add name "$VETH_HQ" type veth peer name "$VETH_BR" netns "$NS_BR"
    ip -n "$NS_HQ" addr add "$HQ_PUBLIC/24" dev "$VETH_HQ"
    ip -n "$NS_BR" addr add "$BR_PUBLIC/24" dev "$VETH_BR"
    ip -n "$NS_HQ" link set "$VETH_HQ" up
    ip -n "$NS_BR" link set "$VETH_BR" up
    # Host routes (/32, /128) on lo: a prefix on lo would make the whole subnet local.
    for a in "${HQ_INSIDE[@]}"; do add_lo_addr "$NS_HQ" "$a"; done
    for a in "${BR_INSIDE[@]}"; do add_lo_addr "$NS_BR" "$a"; done
}

add_lo_addr() {
    if [[ "$2" == *:* ]]; then
        ip -n "$1" -6 addr add "$2/128" dev lo nodad
    else
        ip -n "$1" addr add "$2/32" dev lo
    fi
}

write_configs() {
    local side ns
    for side in hq br; do
        ns="$(side_ns "$side")"
        mkdir -p "/etc/netns/$ns/swanctl" "$STATE/$side"
        # Empty credential dirs: swanctl --load-all complains about each missing one.
        (cd "/etc/netns/$ns/swanctl" &&
            mkdir -p x509 x509ca x509ocsp x509aa x509ac x509crl pubkey private rsa ecdsa bliss pkcs8 pkcs12)
        render "$TEMPLATES/strongswan.conf.in" NS "$ns" SIDE_DIR "$STATE/$side" PLUGINS "$PLUGINS" \
            >"/etc/netns/$ns/strongswan.conf"
        render_swanctl "$side" >"/etc/netns/$ns/swanctl/swanctl.conf"
        chmod 600 "/etc/netns/$ns/swanctl/swanctl.conf"
    done
}

print_summary() {
    cat <<EOF
name=$NAME
index=$INDEX
state_dir=$STATE
ns_hq=$NS_HQ
ns_br=$NS_BR
hq_vici=unix://$(vici_path hq)
br_vici=unix://$(vici_path br)
hq_vici_path=$(vici_path hq)
br_vici_path=$(vici_path br)
hq_log=$STATE/hq/charon.log
br_log=$STATE/br/charon.log
hq_public=$HQ_PUBLIC
br_public=$BR_PUBLIC
hq_veth=$VETH_HQ
br_veth=$VETH_BR
hq_ike=$HQ_CONN
br_ike=$BR_CONN
hq_id=$HQ_ID
br_id=$BR_ID
hq_inside=$(IFS=,; echo "${HQ_INSIDE[*]}")
br_inside_targets=$(IFS=,; echo "${BR_INSIDE[*]}")
pairs=$(IFS=,; echo "${CHILDREN[*]}")
pair_net1=$NET1_HQ>$NET1_BR
pair_net1_source=${HQ_INSIDE[0]}
pair_net1_targets=${BR_INSIDE[0]},${BR_INSIDE[1]}
pair_net2=$NET2_HQ>$NET2_BR
pair_net2_source=${HQ_INSIDE[1]}
pair_net2_targets=${BR_INSIDE[2]}
pair_net6=$NET6_HQ>$NET6_BR
pair_net6_source=${HQ_INSIDE[2]}
pair_net6_targets=${BR_INSIDE[3]},${BR_INSIDE[4]}
ike_rekey_seconds=$IKE_REKEY_S
child_rekey_seconds=$CHILD_REKEY_S
pfs=$PFS
EOF
}

UP_DONE=0
up_cleanup() {
    local rc=$?
    ((UP_DONE)) && return 0
    trap - EXIT INT TERM
    log "up failed (rc=$rc); charon logs follow, then the testbed is torn down"
    dump_logs
    teardown
    exit $((rc == 0 ? 1 : rc))
}

cmd_up() {
    require_root
    require_name
    set_names
    [[ "$PFS" == yes || "$PFS" == no ]] || die "--pfs must be yes or no"
    [[ "$TIMEOUT" =~ ^[0-9]+$ ]] || die "--timeout must be seconds"
    IKE_REKEY_S="$(to_seconds "$IKE_REKEY")"
    CHILD_REKEY_S="$(to_seconds "$CHILD_REKEY")"
    ensure_deps
    local t0; t0="$(now_ms)"

    mkdir -p "$STATE_ROOT"
    chmod 755 "$STATE_ROOT"
    # The lock makes "name free?" + index allocation + claiming the state dir atomic
    # between concurrent `up`s. Its fd is not passed on to charon (see start_charon).
    exec 9>"$STATE_ROOT/.lock"
    flock 9
    testbed_exists && die "testbed '$NAME' already exists (run: testbed.sh down --name $NAME)"
    allocate_index
    mkdir -p "$STATE/hq" "$STATE/br"
    chmod 700 "$STATE"
    cat >"$STATE/testbed.env" <<EOF
INDEX=$INDEX
IKE_REKEY_S=$IKE_REKEY_S
CHILD_REKEY_S=$CHILD_REKEY_S
PFS=$PFS
EOF
    exec 9>&-
    set_addresses

    trap up_cleanup EXIT
    trap 'exit 130' INT TERM
    create_network
    write_configs
    start_charon hq
    start_charon br
    load_config hq
    load_config br
    initiate_children hq "${CHILDREN[@]}" || true   # the wait below is the real check
    if ! wait_ready "$TIMEOUT"; then
        log "IKE/CHILD SAs not all INSTALLED within ${TIMEOUT}s"
        sa_table hq >&2 || true
        exit 1
    fi
    UP_DONE=1
    trap - EXIT INT TERM
    print_summary >"$STATE/summary.env"
    cat "$STATE/summary.env"
    echo "up_ms=$(($(now_ms) - t0))"
}

# Remove everything of one testbed; safe to call on partial or missing state.
teardown() {
    local side ns
    for side in hq br; do
        stop_charon "$side" KILL 2>/dev/null || true
    done
    for ns in "$NS_HQ" "$NS_BR"; do
        # Deleting the namespace deletes its veth end (and with it the peer), ipsec0 and nft.
        ip netns del "$ns" 2>/dev/null || true
        rm -rf "/etc/netns/${ns:?}"
    done
    rm -rf "${STATE:?}"
    rmdir /etc/netns 2>/dev/null || true
}

cmd_down() {
    require_root
    require_name
    set_names
    local side pid pids=()
    # Graceful first (charon sends DELETEs), both at once, then teardown kills whatever is left.
    for side in hq br; do
        if pid="$(charon_pid "$side" 2>/dev/null)"; then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
    done
    for pid in "${pids[@]}"; do
        wait_for 10 "charon $pid to exit" charon_gone "$pid" || true
    done
    teardown
    log "testbed '$NAME' is down"
}

cmd_info() { require_root; load_state; print_summary; }

cmd_list() {
    local d
    for d in "$STATE_ROOT"/*/; do
        [[ -f "$d/testbed.env" ]] || continue
        echo "$(basename "$d") index=$(sed -n 's/^INDEX=//p' "$d/testbed.env")"
    done
}

cmd_wait() {
    require_root; load_state
    local t0; t0="$(now_ms)"
    wait_ready "$TIMEOUT" || { sa_table hq >&2; sa_table br >&2; die "not all SAs INSTALLED after ${TIMEOUT}s"; }
    log "all SAs INSTALLED after $(($(now_ms) - t0)) ms"
}

cmd_status() {
    require_root; load_state
    local side args=(--list-sas --noblock)
    ((RAW)) && args+=(--raw)
    for side in hq br; do
        echo "===== $side ($(side_ns "$side"), unix://$(vici_path "$side")) ====="
        swan "$side" "${args[@]}" || true
    done
}

# ---------------------------------------------------------------------------------------------
# Traffic
# ---------------------------------------------------------------------------------------------

# Source address on the pinging side that belongs to the same network pair as the target.
pick_source() {
    local from="$1" target="$2" n="$INDEX"
    case "$from:$target" in
        hq:*:*) echo "fd00:$n:1::1" ;;
        br:*:*) echo "fd00:$n:2::1" ;;
        hq:10.$n.4.*|hq:10.$n.3.*) echo "10.$n.3.1" ;;
        br:10.$n.3.*|br:10.$n.4.*) echo "10.$n.4.1" ;;
        hq:*) echo "10.$n.1.1" ;;
        br:*) echo "10.$n.2.1" ;;
    esac
}

cmd_ping() {
    require_root; load_state
    [[ "$FROM" == hq || "$FROM" == br ]] || die "--from must be hq or br"
    [[ "$COUNT" =~ ^[0-9]+$ ]] || die "--count must be a number"
    local target="$TARGET"
    [[ -n "$target" ]] || { [[ "$FROM" == hq ]] && target="${BR_INSIDE[0]}" || target="${HQ_INSIDE[0]}"; }
    local src; src="$(pick_source "$FROM" "$target")"
    in_ns "$FROM" ping -n -c "$COUNT" -i "$INTERVAL" -W 2 -I "$src" "$target"
}

# ---------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------

# One inet table per namespace; each fault is a tagged rule so it can be replaced.
nft_fault() {  # nft_fault SIDE TAG RULE...
    local side="$1" tag="$2"; shift 2
    in_ns "$side" nft -f - <<EOF
table inet $NFT_TABLE {
    chain input {
        type filter hook input priority filter - 10; policy accept;
    }
}
EOF
    local h
    for h in $(in_ns "$side" nft -a list chain inet "$NFT_TABLE" input |
               awk -v t="\"$tag\"" '$0 ~ "comment " t { print $NF }'); do
        in_ns "$side" nft delete rule inet "$NFT_TABLE" input handle "$h"
    done
    local rule
    for rule in "$@"; do
        # shellcheck disable=SC2086  # rule is a word list for nft
        in_ns "$side" nft add rule inet "$NFT_TABLE" input $rule comment "\"$tag\""
    done
}

# ESP travels as ESP-in-UDP on 4500 (encap = yes). IKE uses the same port, but IKE packets
# start with the 4-byte non-ESP marker 0; ESP starts with the (non-zero) SPI. Matching the first
# payload word (@th,64,32 = 4 bytes after the UDP header) drops ESP only, so DPD/rekeys still
# work. A 1-byte NAT-T keepalive is too short for the match and passes too.
readonly ESP_IN_UDP="udp dport 4500 @th,64,32 != 0"

cmd_drop_direction() {
    require_root; load_state; require_side
    nft_fault "$SIDE" drop-direction "$ESP_IN_UDP counter drop" "meta l4proto esp counter drop"
    log "dropping ESP arriving at $SIDE ($(side_public "$SIDE")); 'restore' to undo"
}

# The inbound SPI of a child's INSTALLED SA at a side (hex, as VICI prints it), from the raw listing.
child_spi_in() {  # child_spi_in SIDE CHILD
    swan "$1" --list-sas --noblock --raw 2>/dev/null | grep -oE "name=$2 [^}]*" | grep 'state=INSTALLED' | head -1 |
        grep -oE ' spi-in=[0-9a-f]+' | cut -d= -f2
}

cmd_drop_child() {
    require_root; load_state; require_side
    [[ -n "$CHILD" ]] || die "--child NAME is required"
    local spi; spi="$(child_spi_in "$SIDE" "$CHILD")"
    [[ -n "$spi" ]] || die "no INSTALLED SA of child '$CHILD' on $SIDE"
    # The SPI is the first word of ESP (after the UDP header for ESP-in-UDP): IKE and the other children pass.
    nft_fault "$SIDE" "drop-child-$CHILD" "udp dport 4500 @th,64,32 == 0x$spi counter drop" "esp spi 0x$spi counter drop"
    log "dropping ESP of $CHILD (SPI 0x$spi) arriving at $SIDE; 'restore' to undo"
}

cmd_drop_echo() {
    require_root; load_state; require_side
    [[ "$TARGET" =~ ^[0-9.]+$ ]] || die "--target IPv4 address is required"
    nft_fault "$SIDE" "drop-echo-$TARGET" "ip daddr $TARGET icmp type echo-request counter drop"
    log "dropping echo requests to $TARGET at $SIDE; 'restore' to undo"
}

cmd_drop_random() {
    require_root; load_state; require_side
    if ! [[ "$PERCENT" =~ ^[0-9]+$ ]] || ((10#$PERCENT > 100)); then
        die "--percent 0..100 is required"
    fi
    PERCENT=$((10#$PERCENT))
    local pub; pub="$(side_public "$SIDE")"
    nft_fault "$SIDE" drop-random \
        "$ESP_IN_UDP numgen random mod 100 < $PERCENT counter drop" \
        "meta l4proto esp numgen random mod 100 < $PERCENT counter drop" \
        "ip daddr $pub meta l4proto icmp numgen random mod 100 < $PERCENT counter drop"
    log "dropping ${PERCENT}% of ESP and ICMP arriving at $SIDE ($pub); 'restore' to undo"
}

cmd_restore() {
    require_root; load_state
    local side
    for side in hq br; do
        in_ns "$side" nft delete table inet "$NFT_TABLE" 2>/dev/null || true
    done
    if [[ -f "$STATE/dup-active" ]]; then
        swan hq --terminate --child "$DUP_CHILD" --timeout 10 >>"$STATE/hq/swanctl.out" 2>&1 || true
        load_config hq   # reloading the normal file unloads the duplicate child config
        rm -f "$STATE/dup-active"
    fi
    log "faults removed"
}

# charon (5.9.8) refuses a second SA of the same child config ("existing duplicate"), so the
# duplicate comes from a second child config with net1's selectors, initiated by hand. The
# branch matches it to its own net1 config: both sides end up with two net1-selector SAs.
cmd_duplicate_child() {
    require_root; load_state
    [[ ! -f "$STATE/dup-active" ]] || die "duplicate child already loaded ('restore' first)"
    local ns; ns="$(side_ns hq)"
    render_swanctl hq 1 >"/etc/netns/$ns/swanctl/swanctl-dup.conf"
    chmod 600 "/etc/netns/$ns/swanctl/swanctl-dup.conf"
    load_config hq /etc/swanctl/swanctl-dup.conf
    touch "$STATE/dup-active"
    initiate_children hq "$DUP_CHILD" || die "initiating $DUP_CHILD failed"
    wait_for "$TIMEOUT" "$DUP_CHILD INSTALLED" dup_installed ||
        die "duplicate child did not come up"
    log "two CHILD SAs with selectors $NET1_HQ === $NET1_BR (net1 and $DUP_CHILD)"
}

dup_installed() {
    sa_table hq | grep -q "^child $DUP_CHILD INSTALLED " &&
        [[ "$(sa_table br | grep -c "^child net1 INSTALLED ")" -ge 2 ]]
}

cmd_rekey() {
    require_root; load_state
    if [[ -n "$CHILD" ]]; then
        ((IKE_FLAG == 0)) || die "use either --child NAME or --ike"
        ((REAUTH == 0)) || die "--reauth applies to --ike only"
        swan hq --rekey --child "$CHILD"
    else
        local args=(--rekey --ike "$HQ_CONN")
        ((REAUTH)) && args+=(--reauth)
        swan hq "${args[@]}"
    fi
    if ((WAIT)); then cmd_wait; fi
}

cmd_terminate_child() {
    require_root; load_state
    [[ -n "$CHILD" ]] || die "--child NAME is required"
    swan hq --terminate --child "$CHILD" --timeout 15
}

cmd_terminate_ike() {
    require_root; load_state
    swan hq --terminate --ike "$HQ_CONN" --timeout 15
}

cmd_initiate() {
    require_root; load_state
    [[ -n "$SIDE" ]] || SIDE=hq
    require_side
    if [[ -n "$CHILD" ]]; then
        initiate_children "$SIDE" "$CHILD"
    else
        initiate_children "$SIDE" "${CHILDREN[@]}"
    fi
    if ((WAIT)); then cmd_wait; fi
}

# The restarted side initiates: its first IKE SA carries INITIAL_CONTACT, which makes the peer
# drop the stale IKE SA it still has after a crash (SIGKILL sends no DELETE).
cmd_restart_charon() {
    require_root; load_state; require_side
    [[ "$SIGNAL" == TERM || "$SIGNAL" == KILL ]] || die "--signal must be TERM or KILL"
    local t0; t0="$(now_ms)"
    stop_charon "$SIDE" "$SIGNAL"
    start_charon "$SIDE"
    load_config "$SIDE"
    if ((NO_INITIATE)); then
        log "charon $SIDE restarted; nothing initiated (--no-initiate)"
        return 0
    fi
    initiate_children "$SIDE" "${CHILDREN[@]}" || true
    if ((WAIT)); then
        wait_ready "$TIMEOUT" || { dump_logs; die "SAs not re-established within ${TIMEOUT}s"; }
        log "re-established after $(($(now_ms) - t0)) ms"
    fi
}

# ---------------------------------------------------------------------------------------------

main() {
    (($#)) || { usage >&2; exit 2; }
    local verb="$1"; shift
    parse_opts "$@"
    case "$verb" in
        up) cmd_up ;;
        down) cmd_down ;;
        info) cmd_info ;;
        list) cmd_list ;;
        wait) cmd_wait ;;
        status) cmd_status ;;
        ping) cmd_ping ;;
        drop-direction) cmd_drop_direction ;;
        drop-random) cmd_drop_random ;;
        drop-child) cmd_drop_child ;;
        drop-echo) cmd_drop_echo ;;
        restore) cmd_restore ;;
        duplicate-child) cmd_duplicate_child ;;
        rekey) cmd_rekey ;;
        terminate-child) cmd_terminate_child ;;
        terminate-ike) cmd_terminate_ike ;;
        initiate) cmd_initiate ;;
        restart-charon) cmd_restart_charon ;;
        -h|--help|help) usage ;;
        *) usage >&2; die "unknown verb '$verb'" ;;
    esac
}

main "$@"

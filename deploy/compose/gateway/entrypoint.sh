#!/bin/sh
# Starts charon for one side of the demo tunnel (SIDE, PEER, LOCAL_NET, REMOTE_NET, INSIDE_ADDRESS,
# PEER_INSIDE_ADDRESS, INITIATE), then, on the initiating side, keeps the tunnel up and pings through it: the
# traffic generator that keeps the exporter's counters moving.
set -eu
# The inside address the pings come from; charon routes the remote network through ipsec0 with this source.
ip addr add "$INSIDE_ADDRESS/32" dev lo
cat >/etc/strongswan.conf <<CONF
charon {
    load = kdf random nonce openssl aes sha1 sha2 hmac gcm pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici updown
    # The VICI socket goes to the volume the exporter mounts, owned by group ipsec (GID 990, mode 0770).
    group = ipsec
    plugins {
        vici {
            socket = unix:///run/charon/charon.vici
        }
    }
}
swanctl {
    socket = unix:///run/charon/charon.vici
}
CONF
cat >/etc/swanctl/swanctl.conf <<CONF
connections {
    demo {
        version = 2
        remote_addrs = $PEER
        proposals = aes256-sha256-ecp256
        encap = yes
        dpd_delay = 10s
        local {
            auth = psk
            id = $SIDE
        }
        remote {
            auth = psk
            id = $(echo "$PEER" | sed 's/^gateway-//')
        }
        children {
            net {
                local_ts = $LOCAL_NET
                remote_ts = $REMOTE_NET
                esp_proposals = aes256gcm16-ecp256
                start_action = none
                dpd_action = restart
            }
        }
    }
}
secrets {
    ike-demo {
        id-hq = hq
        id-branch = branch
        secret = "demo-only-not-a-secret"
    }
}
CONF
chmod 600 /etc/swanctl/swanctl.conf
mkdir -p /run/charon
/usr/lib/ipsec/charon &
charon=$!
until swanctl --stats >/dev/null 2>&1; do
    kill -0 "$charon" || exit 1
    sleep 0.2
done
swanctl --load-all --noprompt >/dev/null
echo "gateway $SIDE: charon up, tunnel $LOCAL_NET <-> $REMOTE_NET configured"
if [ "$INITIATE" = yes ]; then
    (
        while :; do
            if ! swanctl --list-sas --noblock 2>/dev/null | grep -q INSTALLED; then
                swanctl --initiate --child net --timeout 10 >/dev/null 2>&1 && echo "gateway $SIDE: tunnel up" || true
            fi
            # Traffic through the tunnel: 5 pings a second, for 10 s, then look at the tunnel again.
            ping -q -n -i 0.2 -w 10 -I "$INSIDE_ADDRESS" "$PEER_INSIDE_ADDRESS" >/dev/null 2>&1 || true
        done
    ) &
    traffic=$!
fi
# PID 1 gets no default signal handling: stop charon (and the traffic) on docker/podman stop.
trap 'kill ${traffic:-} "$charon" 2>/dev/null; exit 0' TERM INT
wait "$charon"

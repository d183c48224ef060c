#!/usr/bin/env bash
# Zone transfers, policydns against Knot and BIND in the same run (a benchmark, not a test):
#
#  1. AXFR of a 200,000-record zone: each server serves the same generated file, pinned to core 0;
#     one client (examples/xfr_bench.rs, core 1) transfers it ROUNDS times; median and best.
#  2. Reload → change served by secondaries: each server in turn is the primary of a small zone
#     with a BIND and a Knot secondary (same configs for every primary). Per round the zone file
#     gets a new serial and address, the primary reloads (SIGHUP; `knotc zone-reload` for Knot),
#     NOTIFY → SOA → IXFR follow, and the client polls both secondaries' SOA every 0.5 ms until
#     they show the new serial. Median over RELOADS rounds.
#
#   bench/transfer.sh
#   RECORDS=200000 ROUNDS=5 RELOADS=10 bench/transfer.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${RECORDS:-200000}
ROUNDS=${ROUNDS:-5}
RELOADS=${RELOADS:-10}
# Which servers to run as primaries in part 2, and whether to run part 1.
PRIMARIES=${PRIMARIES:-policydns knot bind}
AXFR=${AXFR:-1}
want() { [[ " $PRIMARIES " == *" $1 "* ]]; }
P=${PORT_BASE:-15560}
. bench/common.sh transfer named knotd knotc python3 taskset

[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet --bin policydns --example xfr_bench
BIN=${POLICYDNS_BIN:-target/release/policydns}
XB=target/release/examples/xfr_bench

wait_serial() { # addr zone serial
    for _ in $(seq 1 1500); do
        if [ "$(dig +tries=1 +time=1 @"${1%:*}" -p "${1##*:}" "$2" SOA +short 2>/dev/null | awk '{print $3}')" = "$3" ]; then
            return 0
        fi
        sleep 0.02
    done
    echo "transfer.sh: $1 never served $2 serial $3" >&2
    return 1
}

start() { # name cpu cmd... (background, pinned; pid in $last_pid)
    local name=$1 cpu=$2; shift 2
    taskset -c "$cpu" "$@" >"$work/$name.log" 2>&1 &
    last_pid=$!
    pids+=("$last_pid")
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

named_conf() { # dir port zone-stanza
    cat > "$1/named.conf" <<EOF
options { directory "$1"; listen-on port $2 { 127.0.0.1; }; listen-on-v6 { none; };
  pid-file none; recursion no; dnssec-validation no; session-keyfile "$1/session.key";
  notify explicit; notify-delay 0; allow-transfer { 127.0.0.1; }; ixfr-from-differences yes; $4 };
controls { };
$3
EOF
}

knot_conf() { # dir port zone-lines
    cat > "$1/knot.conf" <<EOF
server:
    listen: 127.0.0.1@$2
    rundir: "$1"
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$1"
log:
  - target: stderr
    any: info
remote:
  - id: bind_secondary
    address: 127.0.0.1@$((P + 11))
  - id: knot_secondary
    address: 127.0.0.1@$((P + 12))
  - id: primary
    address: 127.0.0.1@$((P + 10))
acl:
  - id: local
    address: 127.0.0.1
    action: [transfer, notify]
template:
  - id: default
    storage: "$1"
    zonefile-sync: -1
    acl: local
zone:
$3
EOF
}

# ---------------------------------------------------------------- 1. AXFR of a large zone
if [ "$AXFR" = 1 ]; then
python3 bench/gen_big_zone.py "$work/big.test.zone" "$RECORDS"
echo "AXFR of big.test. ($(wc -l < "$work/big.test.zone") lines), $ROUNDS rounds, server on core 0, client on core 1"
mkdir -p "$work/k1" "$work/b1"
knot_conf "$work/k1" $((P + 2)) "  - domain: big.test.
    file: \"$work/big.test.zone\"
    zonefile-load: whole
    journal-content: none"
named_conf "$work/b1" $((P + 3)) "zone \"big.test\" { type primary; file \"$work/big.test.zone\"; };" ""
axfr_row() { # name port
    wait_serial "127.0.0.1:$2" big.test. 1
    printf '%-10s %s\n' "$1" "$(taskset -c 1 "$XB" axfr "127.0.0.1:$2" big.test. "$ROUNDS")"
}
start policydns 0 "$BIN" serve --listen "127.0.0.1:$((P + 1))" --udp-workers 1 --zone "big.test.=$work/big.test.zone" --allow-transfer 127.0.0.1
axfr_row policydns $((P + 1)); stop "$last_pid"
start knot 0 knotd -c "$work/k1/knot.conf"
axfr_row knot $((P + 2)); stop "$last_pid"
start bind 0 named -g -c "$work/b1/named.conf"
axfr_row bind $((P + 3)); stop "$last_pid"
fi

# ---------------------------------------------------------------- 2. reload → secondaries
zone_text() { # serial address
    cat <<EOF
\$ORIGIN xfr.test.
\$TTL 300
@    IN SOA ns1 hostmaster $1 3600 600 86400 60
     IN NS  ns1
ns1  IN A   192.0.2.53
www  IN A   $2
EOF
    # Some bulk, so the zone is not trivially small.
    local i
    for i in $(seq 1 200); do echo "h$i IN A 10.0.$((i / 250)).$((i % 250))"; done
}

secondaries() { # start a BIND and a Knot secondary of 127.0.0.1@P+10
    rm -rf "$work/bs" "$work/ks"; mkdir -p "$work/bs" "$work/ks"
    named_conf "$work/bs" $((P + 11)) "zone \"xfr.test\" { type secondary; primaries port $((P + 10)) { 127.0.0.1; }; file \"$work/bs/xfr.test.bk\"; };" ""
    knot_conf "$work/ks" $((P + 12)) "  - domain: xfr.test.
    master: primary"
    start bind-secondary 1 named -g -c "$work/bs/named.conf"; bs_pid=$last_pid
    start knot-secondary 1 knotd -c "$work/ks/knot.conf"; ks_pid=$last_pid
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

echo
echo "Reload on the primary → new serial served by the secondaries (ms; median of $RELOADS)"
printf '%-10s %14s %14s\n' primary "BIND secondary" "Knot secondary"
reload_rows() { # name trigger...
    local name=$1 i; shift
    : > "$work/times"
    for i in $(seq 2 $((RELOADS + 1))); do
        zone_text "$i" "192.0.2.$i" > "$work/xfr.test.zone"
        taskset -c 1 "$XB" reload "127.0.0.1:$((P + 11)),127.0.0.1:$((P + 12))" xfr.test. "$i" "$@" >> "$work/times"
        # Secondaries throttle refreshes that follow each other closely (BIND by ~190 ms, Knot
        # by 300-700 ms, whoever the primary is): rounds are spaced past that.
        sleep "${PAUSE:-1.5}"
    done
    printf '%-10s %14s %14s\n' "$name" "$(awk '{print $1}' "$work/times" | median)" "$(awk '{print $2}' "$work/times" | median)"
}

if want policydns; then
zone_text 1 192.0.2.1 > "$work/xfr.test.zone"
secondaries
start policydns-primary 0 "$BIN" serve --listen "127.0.0.1:$((P + 10))" --udp-workers 1 --zone "xfr.test.=$work/xfr.test.zone" \
    --allow-transfer 127.0.0.1 --notify "127.0.0.1:$((P + 11))" --notify "127.0.0.1:$((P + 12))"
pp=$last_pid
wait_serial "127.0.0.1:$((P + 11))" xfr.test. 1; wait_serial "127.0.0.1:$((P + 12))" xfr.test. 1
reload_rows policydns --hup "$pp"
stop "$pp"; stop "$bs_pid"; stop "$ks_pid"
fi

if want knot; then
zone_text 1 192.0.2.1 > "$work/xfr.test.zone"
secondaries
mkdir -p "$work/kp"
knot_conf "$work/kp" $((P + 10)) "  - domain: xfr.test.
    file: \"$work/xfr.test.zone\"
    zonefile-load: difference
    journal-content: changes
    notify: [bind_secondary, knot_secondary]"
start knot-primary 0 knotd -c "$work/kp/knot.conf"; kp=$last_pid
wait_serial "127.0.0.1:$((P + 11))" xfr.test. 1; wait_serial "127.0.0.1:$((P + 12))" xfr.test. 1
reload_rows knot knotc -c "$work/kp/knot.conf" zone-reload xfr.test.
stop "$kp"; stop "$bs_pid"; stop "$ks_pid"
fi

if want bind; then
zone_text 1 192.0.2.1 > "$work/xfr.test.zone"
secondaries
mkdir -p "$work/bp"
named_conf "$work/bp" $((P + 10)) "zone \"xfr.test\" { type primary; file \"$work/xfr.test.zone\"; };" \
    "also-notify { 127.0.0.1 port $((P + 11)); 127.0.0.1 port $((P + 12)); };"
start bind-primary 0 named -g -c "$work/bp/named.conf"; bp=$last_pid
wait_serial "127.0.0.1:$((P + 11))" xfr.test. 1; wait_serial "127.0.0.1:$((P + 12))" xfr.test. 1
reload_rows bind --hup "$bp"
stop "$bp"; stop "$bs_pid"; stop "$ks_pid"
fi

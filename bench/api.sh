#!/usr/bin/env bash
# The Route 53 API (a benchmark, not a test): policydns serving the API to boto3, with its
# changes journaled (fsync, group commit) and served before the 200; beside moto_server, a Knot
# and a BIND secondary, and the query path's numbers from bench/compare.sh in the same run.
#
#  1. fill: create bench.test. and CREATE RECORDS record sets, 500 a batch (one client)
#  2. change -> served: CHANGES UPSERTs of probe.bench.test. A; from each 200, raw UDP queries
#     until the new address is answered (p50/p99/max), and the API call itself (p50/p99)
#  3. sustained: CLIENTS processes (not threads: one Python process's GIL would set the rate),
#     each its own boto3 client, UPSERT their own name for SECONDS; then one client process (what
#     group commit buys); batches/s, server CPU per batch, the clients' CPU summed
#     restart: the server is restarted on the same state directory (journal replay timed)
#  4. Knot secondary (skipped if knotd is absent): first transfer, then KNOT_CHANGES UPSERTs
#     each timed from the 200 to Knot answering the new address
# 4b. BIND secondary (named; skipped if absent), after Knot is stopped: the same, BIND_CHANGES
#  5. moto_server beside it: create-zone, 1,000 records, 20 single UPSERTs, full listings,
#     p50 per call on moto and on policydns (API only: moto answers no DNS)
#  then bench/compare.sh quick (R=1 D=5) for the query path, unless COMPARE=0.
#
#   bench/api.sh
#   RECORDS=5000 CHANGES=30 SECONDS=3 CLIENTS=8 POLICYDNS=/tmp/policydns-debug bench/api.sh
#
# Knobs: RECORDS=100000 CHANGES=200 SECONDS=10 (or DURATION) CLIENTS=8 KNOT_CHANGES=$CHANGES
# KNOT_PAUSE=1.5 (s between Knot changes: Knot puts off a refresh that follows another closely,
# by up to ~1 s, so back-to-back changes measure Knot's throttle; 0 shows it)
# BIND=1 BIND_CHANGES=$KNOT_CHANGES BIND_PAUSE=$KNOT_PAUSE (BIND puts off a close refresh too)
# CLIENT_CPUS=1-(nproc-1) (cores of the sustained part's client processes, taskset style; every
# core but the server's 0, so only core 1 on two cores)
# SMALL_RECORDS=1000 MOTO=1 KNOT=1 COMPARE=1 COMPARE_R=1 COMPARE_D=5 PORT_BASE=15640 (ports
# +1..+5) WAIT=600 (s, start-up and transfer limits) POLICYDNS=path (or POLICYDNS_BIN; default
# target/release/policydns, built first unless NO_BUILD=1 or a binary is given) PYTHON=the venv
# python with boto3 and moto[server] (~/.cache/policydns-venv/bin/python)
# RESULTS=bench/results/api-latest.txt (the JSON goes beside it, api-latest.json, and the
# compare.sh run to api-compare-latest.txt) SIGN=1 (create a key-signing key and enable DNSSEC
# signing after the fill: parts 2-4 then change a signed zone) KEEP=1 (keep the work dir with the servers' logs).
# Cores: policydns and moto_server on core 0 (one UDP worker), the driver, Knot and BIND on
# core 1 (the sustained part's clients on CLIENT_CPUS).
set -Eeuo pipefail
cd "$(dirname "$0")/.."
RECORDS=${RECORDS:-100000}
CHANGES=${CHANGES:-200}
# SECONDS is bash's own clock; the value given in the environment is read with printenv.
DURATION=${DURATION:-$(printenv SECONDS || echo 10)}
CLIENTS=${CLIENTS:-8}
KNOT_CHANGES=${KNOT_CHANGES:-$CHANGES}
KNOT_PAUSE=${KNOT_PAUSE:-1.5}
SMALL_RECORDS=${SMALL_RECORDS:-1000}
MOTO=${MOTO:-1}
KNOT=${KNOT:-1}
BIND=${BIND:-1}
BIND_CHANGES=${BIND_CHANGES:-$KNOT_CHANGES}
BIND_PAUSE=${BIND_PAUSE:-$KNOT_PAUSE}
COMPARE=${COMPARE:-1}
WAIT=${WAIT:-600}
P=${PORT_BASE:-15640}
DNS_PORT=$((P + 1)) API_PORT=$((P + 2)) KNOT_PORT=$((P + 3)) MOTO_PORT=$((P + 4)) BIND_PORT=$((P + 5))
KEY=AKIDBENCH:benchsecret
PY=${PYTHON:-$HOME/.cache/policydns-venv/bin/python}
RESULTS=${RESULTS:-bench/results/api-latest.txt}
JSON=${RESULTS%.txt}.json
COMPARE_RESULTS=$(dirname "$RESULTS")/api-compare-latest.txt
. bench/common.sh api python3 taskset

trap on_error ERR

policydns_binary
[ -x "$PY" ] || die "no python at $PY (PYTHON=path; scripts/install-python-deps.sh makes the venv)"
"$PY" -c 'import boto3' 2>/dev/null || die "$PY has no boto3"
(( $(nproc) >= 2 )) || die "needs two cores (this machine has $(nproc))"
CLIENT_CPUS=${CLIENT_CPUS:-$( (( $(nproc) > 2 )) && echo "1-$(($(nproc) - 1))" || echo 1)}
knotd=$(command -v knotd || true)
named=$(command -v named || true)

ports_free $DNS_PORT $API_PORT $KNOT_PORT $MOTO_PORT $BIND_PORT

wait_tcp() { # port pid what: until something accepts on 127.0.0.1:port (pid must live)
    local i
    for i in $(seq 1 $((WAIT * 20))); do
        kill -0 "$2" 2>/dev/null || die "$3 exited during start-up"
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    die "$3 does not listen on 127.0.0.1:$1 after ${WAIT}s"
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

start_policydns() { # extra args... -> $srv
    taskset -c 0 "$BIN" serve --listen "127.0.0.1:$DNS_PORT" --udp-workers 1 \
        --api-listen "127.0.0.1:$API_PORT" --api-key "$KEY" --state-dir "$work/state" "$@" \
        >>"$work/policydns.log" 2>&1 &
    srv=$!
    pids+=("$srv")
}

driver() { # api_bench.py arguments (pinned to core 1)
    taskset -c 1 "$PY" bench/api_bench.py --endpoint "http://127.0.0.1:$API_PORT" \
        --dns "127.0.0.1:$DNS_PORT" --key "$KEY" --json "$JSON" --records "$RECORDS" \
        --small-records "$SMALL_RECORDS" --changes "$CHANGES" --seconds "$DURATION" \
        --clients "$CLIENTS" --client-cpus "$CLIENT_CPUS" --knot-changes "$KNOT_CHANGES" \
        --knot-pause "$KNOT_PAUSE" --bind-changes "$BIND_CHANGES" --bind-pause "$BIND_PAUSE" \
        --wait "$WAIT" "$@"
}

mkdir -p "$(dirname "$RESULTS")"
rm -f "$JSON"
say "policydns: $BIN; RECORDS=$RECORDS CHANGES=$CHANGES SECONDS=$DURATION CLIENTS=$CLIENTS (on cores $CLIENT_CPUS); work dir $work"
[ -z "$note" ] || say "$note"

# ---------------------------------------------------------------- policydns, moto: parts 5, 1-3
start_policydns
wait_tcp "$API_PORT" "$srv" policydns
driver --parts "" --server-pid "$srv" \
    --meta "date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')" \
    --meta "host=$(uname -srm), $(nproc) cpus, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)" \
    --meta "binary=$BIN" --meta "note=$note"

if [ "$MOTO" = 1 ] && [ -x "$(dirname "$PY")/moto_server" ]; then
    taskset -c 0 "$(dirname "$PY")/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$work/moto.log" 2>&1 &
    moto=$!
    pids+=("$moto")
    wait_tcp "$MOTO_PORT" "$moto" moto_server
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing driver --parts moto \
        --server-pid "$srv" --moto-endpoint "http://127.0.0.1:$MOTO_PORT" --moto-pid "$moto"
    stop "$moto"
else
    say "moto_server not run (MOTO=$MOTO; looked for $(dirname "$PY")/moto_server) -- part 5 skipped"
fi

# SIGN=1: the zone is signed (Route 53's DNSSEC operations) before the changes are measured.
driver --parts "fill$([ "${SIGN:-0}" = 1 ] && echo ,sign),served,sustained" --server-pid "$srv"
stop "$srv"

# ---------------------------------------------------------------- restart with [api] transfer settings; parts 4, 4b
# Both secondaries are notified (they run one after the other, so each misses the NOTIFYs sent
# while it is down: policydns warns "NOTIFY not acknowledged" for those, counted apart below).
notify="\"127.0.0.1:$KNOT_PORT\""
[ "$BIND" = 1 ] && [ -n "$named" ] && notify+=", \"127.0.0.1:$BIND_PORT\""
cat >"$work/api.toml" <<EOF
[api]
allow_transfer = ["127.0.0.1"]
notify = [$notify]
EOF
journal_bytes=$(cat "$work/state/api/"* 2>/dev/null | wc -c)
started=$(date +%s.%N)
start_policydns --config "$work/api.toml"
driver --parts replay --server-pid "$srv" --started-at "$started" --journal-bytes "$journal_bytes"

if [ "$KNOT" = 1 ] && [ -n "$knotd" ]; then
    mkdir -p "$work/knot"
    cat >"$work/knot/knot.conf" <<EOF
server:
    rundir: "$work/knot"
    listen: 127.0.0.1@$KNOT_PORT
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$work/knot"
log:
  - target: stderr
    any: info
remote:
  - id: primary
    address: 127.0.0.1@$DNS_PORT
acl:
  - id: notify_from_primary
    address: 127.0.0.1
    action: notify
template:
  - id: default
    storage: "$work/knot"
    zonefile-sync: -1
zone:
  - domain: bench.test
    master: primary
    acl: notify_from_primary
EOF
    kstarted=$(date +%s.%N)
    taskset -c 1 "$knotd" -c "$work/knot/knot.conf" >"$work/knot.log" 2>&1 &
    knot=$!
    pids+=("$knot")
    driver --parts knot --server-pid "$srv" --knot "127.0.0.1:$KNOT_PORT" --knot-started-at "$kstarted"
    grep -q "IXFR, incoming" "$work/knot.log" || say "WARNING: Knot's log shows no incoming IXFR (did it AXFR every change?)"
    stop "$knot"
else
    why="knotd not found (apt-get install -y knot)"; [ "$KNOT" = 1 ] || why="KNOT=$KNOT"
    say "Knot secondary part skipped: $why"
    driver --parts "" --skip-knot "$why"
fi

if [ "$BIND" = 1 ] && [ -n "$named" ]; then
    mkdir -p "$work/bind"
    cat >"$work/bind/named.conf" <<EOF
options {
    directory "$work/bind";
    pid-file "$work/bind/named.pid";
    session-keyfile "$work/bind/session.key";
    listen-on port $BIND_PORT { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    dnssec-validation no;
    notify no;
    allow-query { any; };
};
controls { };
zone "bench.test" {
    type secondary;
    primaries { 127.0.0.1 port $DNS_PORT; };
    file "$work/bind/bench.test.db";
    allow-notify { 127.0.0.1; };
};
EOF
    bstarted=$(date +%s.%N)
    # No -u: as root, named -g runs as root, which does for a throwaway work directory.
    taskset -c 1 "$named" -g -c "$work/bind/named.conf" -n 1 >"$work/bind.log" 2>&1 &
    bind=$!
    pids+=("$bind")
    driver --parts bind --server-pid "$srv" --bind "127.0.0.1:$BIND_PORT" --bind-started-at "$bstarted"
    # named -g logs each transfer in ("transfer of 'bench.test/IN' from ...: Transfer status:
    # success", then "Transfer completed: 1 messages, 6 records, ...") without saying IXFR or
    # AXFR: a transfer of RECORDS or more records is a full one, the first one should be the
    # only one.
    read -r xfrs full < <(awk -v big="$RECORDS" '/bench.test\/IN.*Transfer completed:/ {
        n++; for (i = 2; i <= NF; i++) if ($i ~ /^records/ && $(i - 1) + 0 >= big) f++ }
        END { print n + 0, f + 0 }' "$work/bind.log")
    say "BIND's log: $xfrs transfers in, $full of them full (>= $RECORDS records), $((xfrs - full)) incremental"
    (( xfrs > full )) || say "WARNING: BIND's log shows no incoming IXFR (did it AXFR every change?)"
    (( full <= 1 )) || say "WARNING: BIND took $full full transfers (AXFR after the first one?)"
    stop "$bind"
else
    why="named not found (apt-get install -y bind9)"; [ "$BIND" = 1 ] || why="BIND=$BIND"
    say "BIND secondary part skipped: $why"
    driver --parts "" --skip-bind "$why"
fi
stop "$srv"
notify_warn="NOTIFY not acknowledged"
errors=$(grep -E ' (ERROR|WARN) ' "$work/policydns.log" | grep -c -v "$notify_warn" || true)
[ "$errors" = 0 ] || { say "policydns logged $errors ERROR/WARN lines; the first ones:"; { grep -E ' (ERROR|WARN) ' "$work/policydns.log" | grep -v "$notify_warn" | head -n5 >&2; } || true; }
unacked=$(grep -c "$notify_warn" "$work/policydns.log" || true)
[ "$unacked" = 0 ] || say "policydns: $unacked NOTIFYs not acknowledged (expected for a secondary while it was down), by target:$(grep "$notify_warn" "$work/policydns.log" | grep -o 'target=[^ ]*' | sort | uniq -c | tr -s ' \n' ' ')"

# ---------------------------------------------------------------- the query path, same run
compare_cmd="R=${COMPARE_R:-1} D=${COMPARE_D:-5} NO_BUILD=1 POLICYDNS_BIN=$BIN RESULTS=$COMPARE_RESULTS bench/compare.sh"
compare_note=""
if [ "$COMPARE" = 1 ]; then
    say "query path: $compare_cmd"
    if R=${COMPARE_R:-1} D=${COMPARE_D:-5} NO_BUILD=1 POLICYDNS_BIN=$BIN RESULTS=$COMPARE_RESULTS \
        bench/compare.sh >"$work/compare.out" 2>"$work/compare.err"; then
        :
    else
        compare_note="bench/compare.sh failed: $(grep -m1 'ERROR' "$work/compare.err" || tail -n1 "$work/compare.err")"
    fi
else
    compare_note="not run (COMPARE=0)"
fi

{
    driver --table "$JSON"
    echo
    echo "query path (bench/compare.sh, R=${COMPARE_R:-1} D=${COMPARE_D:-5}, same binary):"
    if [ -z "$compare_note" ] && [ -s "$COMPARE_RESULTS" ]; then
        awk '/^server /{on=1} on && /^$/{exit} on' "$COMPARE_RESULTS"
        echo "(all of it: $COMPARE_RESULTS)"
    else
        echo "  $compare_note"
        echo "  to run it: $compare_cmd"
    fi
} >"$work/table.txt"
cp "$work/table.txt" "$RESULTS"
echo
cat "$RESULTS"
say "results written to $RESULTS and $JSON"

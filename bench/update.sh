#!/usr/bin/env bash
# Dynamic update (RFC 2136, TSIG-signed; a benchmark, not a test): policydns taking updates into
# a hosted zone of its change store (journal, fsync, group commit), beside Knot 3.2 as a primary
# of the same zone with its journal on disk, in the same run, one server after the other.
#
#  1. policydns: bench.test. created through the Route 53 API and filled with RECORDS A records
#     (CREATE batches of 500 through the API); Knot: the same records from a zone file
#  2. check (each server): one signed update over UDP and one over TCP -> NOERROR, the answer's
#     TSIG verified, the record served; an update signed with a wrong secret -> NOTAUTH
#  3. latency: CHANGES sequential updates `add probeN.bench.test. 60 A ...` over UDP, each timed
#     from sending to NOERROR, then from that answer to the first UDP query (one every 0.2 ms)
#     returning the new record; p50/p99
#  4. throughput: CLIENTS processes, each its own UDP socket and one update in flight, adding new
#     names back to back for SECONDS (KIND=replace: each replaces the A record of its own name
#     instead, so the zone keeps its size); then one process. Updates/s, errors, server CPU per
#     update
#
#   bench/update.sh
#   RECORDS=2000 CHANGES=30 SECONDS=3 POLICYDNS=/tmp/policydns bench/update.sh
#
# Knobs: RECORDS=10000 CHANGES=200 SECONDS=10 (or DURATION) CLIENTS=8 KIND=add|replace KNOT=1
# (0 skips Knot)
# KNOT_JOURNAL_MODE=robust (Knot's database.journal-db-mode; asynchronous does not fsync)
# POLL_INTERVAL=0.0002 (s between "served" polls) PORT_BASE=15720 (ports +1..+3) WAIT=120 (s,
# start-up limit) POLICYDNS=path (or POLICYDNS_BIN; default target/release/policydns, built
# first unless NO_BUILD=1 or a binary is given) PYTHON=the venv python with boto3
# (~/.cache/policydns-venv/bin/python) RESULTS=bench/results/update-latest.txt (the JSON goes
# beside it, update-latest.json) KEEP=1 (keep the work dir with the servers' logs).
# Cores: each server on core 0 (one UDP worker; Knot one udp/tcp/background worker), the driver
# and its load processes on core 1.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
RECORDS=${RECORDS:-10000}
CHANGES=${CHANGES:-200}
# SECONDS is bash's own clock; the value given in the environment is read with printenv.
DURATION=${DURATION:-$(printenv SECONDS || echo 10)}
CLIENTS=${CLIENTS:-8}
KIND=${KIND:-add}
KNOT=${KNOT:-1}
KNOT_JOURNAL_MODE=${KNOT_JOURNAL_MODE:-robust}
POLL_INTERVAL=${POLL_INTERVAL:-0.0002}
WAIT=${WAIT:-120}
P=${PORT_BASE:-15720}
DNS_PORT=$((P + 1)) API_PORT=$((P + 2)) KNOT_PORT=$((P + 3))
KEY=AKIDBENCH:benchsecret
PY=${PYTHON:-$HOME/.cache/policydns-venv/bin/python}
RESULTS=${RESULTS:-bench/results/update-latest.txt}
JSON=${RESULTS%.txt}.json
cmdline="RECORDS=$RECORDS CHANGES=$CHANGES SECONDS=$DURATION CLIENTS=$CLIENTS KIND=$KIND KNOT=$KNOT KNOT_JOURNAL_MODE=$KNOT_JOURNAL_MODE${POLICYDNS:+ POLICYDNS=$POLICYDNS}${POLICYDNS_BIN:+ POLICYDNS_BIN=$POLICYDNS_BIN} bench/update.sh"
. bench/common.sh update python3 taskset

trap on_error ERR

policydns_binary
[ -x "$PY" ] || die "no python at $PY (PYTHON=path; scripts/install-python-deps.sh makes the venv)"
"$PY" -c 'import boto3' 2>/dev/null || die "$PY has no boto3"
(( $(nproc) >= 2 )) || die "needs two cores (this machine has $(nproc))"
knotd=$(command -v knotd || true)
if [ "$KNOT" = 1 ] && [ -z "$knotd" ]; then
    say "knotd not found (apt-get install -y knot): Knot is skipped"
    KNOT=0
fi

ports_free $DNS_PORT $API_PORT $KNOT_PORT

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

only_loopback() { # pid what: warn about any socket of pid listening beyond 127.0.0.1
    local wide
    wide=$(ss -H -lntup 2>/dev/null | grep "pid=$1," | awk '{print $5}' | grep -v '^127\.0\.0\.1:' || true)
    [ -z "$wide" ] || say "WARNING: $2 listens beyond loopback: $(echo $wide)"
}

# The TSIG key both servers accept updates with (fresh each run).
SECRET=$(head -c 32 /dev/urandom | base64)
export UPDATE_BENCH_SECRET=$SECRET

driver() { # update_bench.py arguments (pinned to core 1)
    taskset -c 1 "$PY" bench/update_bench.py --json "$JSON" --key-name upd-key. \
        --records "$RECORDS" --changes "$CHANGES" --seconds "$DURATION" --clients "$CLIENTS" --kind "$KIND" \
        --poll-interval "$POLL_INTERVAL" --wait "$WAIT" "$@"
}

mkdir -p "$(dirname "$RESULTS")"
rm -f "$JSON"
say "policydns: $BIN; RECORDS=$RECORDS CHANGES=$CHANGES SECONDS=$DURATION CLIENTS=$CLIENTS; work dir $work"
[ -z "$note" ] || say "$note"
knot_meta="not run (KNOT=$KNOT)"
if [ "$KNOT" = 1 ]; then
    knot_meta="$("$knotd" --version | head -n1); database.journal-db-mode: $KNOT_JOURNAL_MODE, journal-content: changes, zonefile-sync: -1 (journal only), udp/tcp/background workers 1, log level notice"
fi
driver --parts fsync --fsync-dir "$work" \
    --meta "command=$cmdline" \
    --meta "date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')" \
    --meta "host=$(uname -srm), $(nproc) cpus, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), work dir on $(df -T "$work" | awk 'NR==2{print $2}')" \
    --meta "binary=$BIN" --meta "knot=$knot_meta" \
    --meta "zone=bench.test., $RECORDS A records + SOA/NS; TSIG key upd-key. hmac-sha256" \
    --meta "note=$note"

# ---------------------------------------------------------------- policydns
started=$(date +%s.%N)
taskset -c 0 "$BIN" serve --listen "127.0.0.1:$DNS_PORT" --udp-workers 1 \
    --api-listen "127.0.0.1:$API_PORT" --api-key "$KEY" --state-dir "$work/state" \
    --tsig-key "upd-key:hmac-sha256:$SECRET" --allow-update key:upd-key \
    >>"$work/policydns.log" 2>&1 &
srv=$!
pids+=("$srv")
wait_tcp "$API_PORT" "$srv" policydns
say "policydns answers its API $(python3 -c "import time; print(f'{time.time() - $started:.2f}')") s after start"
only_loopback "$srv" policydns
driver --name policydns --endpoint "http://127.0.0.1:$API_PORT" --key "$KEY" \
    --dns "127.0.0.1:$DNS_PORT" --server-pid "$srv" --parts fill,wait,check,latency,throughput
stop "$srv"
# Expected: the warning that [api] name_servers is unset, and one BadSig from the check's
# wrongly signed update.
expected='name_servers is not set|TSIG rejected: BadSig'
errors=$(grep -E ' (ERROR|WARN) ' "$work/policydns.log" | grep -c -v -E "$expected" || true)
[ "$errors" = 0 ] || { say "policydns logged $errors unexpected ERROR/WARN lines; the first ones:"; grep -E ' (ERROR|WARN) ' "$work/policydns.log" | grep -v -E "$expected" | head -n5 >&2; }
badsig=$(grep -c 'TSIG rejected: BadSig' "$work/policydns.log" || true)
[ "$badsig" = 1 ] || say "WARNING: policydns logged $badsig BadSig refusals (1 expected, from the check)"

# ---------------------------------------------------------------- Knot, the same zone, after it
if [ "$KNOT" = 1 ]; then
    mkdir -p "$work/knot"
    driver --name knot --parts zonefile --zonefile "$work/knot/bench.test.zone"
    cat >"$work/knot/knot.conf" <<EOF
server:
    rundir: "$work/knot"
    listen: 127.0.0.1@$KNOT_PORT
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$work/knot"
    journal-db-mode: $KNOT_JOURNAL_MODE
log:
  - target: stderr
    any: notice
key:
  - id: upd-key
    algorithm: hmac-sha256
    secret: $SECRET
acl:
  - id: update_by_key
    key: upd-key
    action: update
template:
  - id: default
    storage: "$work/knot"
    zonefile-sync: -1
    journal-content: changes
zone:
  - domain: bench.test
    file: bench.test.zone
    acl: update_by_key
EOF
    if command -v knotc >/dev/null; then
        knotc -c "$work/knot/knot.conf" conf-check >"$work/knot-conf-check.log" 2>&1 ||
            die "knot.conf does not check: $(tail -n3 "$work/knot-conf-check.log")"
    fi
    taskset -c 0 "$knotd" -c "$work/knot/knot.conf" >"$work/knot.log" 2>&1 &
    knot=$!
    pids+=("$knot")
    driver --name knot --dns "127.0.0.1:$KNOT_PORT" --server-pid "$knot" --parts wait
    only_loopback "$knot" Knot
    driver --name knot --dns "127.0.0.1:$KNOT_PORT" --server-pid "$knot" --parts check,latency,throughput
    kill -0 "$knot" 2>/dev/null || die "knotd died during the run"
    stop "$knot"
    kerr=$(grep -c -E 'error|warning' "$work/knot.log" || true)
    [ "$kerr" = 0 ] || { say "Knot logged $kerr error/warning lines; the first ones:"; grep -m5 -E 'error|warning' "$work/knot.log" >&2; }
fi

driver --table "$JSON" >"$work/table.txt"
cp "$work/table.txt" "$RESULTS"
echo
cat "$RESULTS"
say "results written to $RESULTS and $JSON"

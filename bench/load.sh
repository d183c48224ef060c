#!/usr/bin/env bash
# Memory and load time for a large zone: policydns vs NSD and Knot, same generated zone.
#
#   bench/load.sh                 # 1,000,000 records
#   RECORDS=200000 bench/load.sh
#
# Load time = from starting the server to its first correct answer for the zone's last name
# (polled with dig every 20 ms), so it includes whatever each server does at start. Memory =
# proportional set size (PSS) summed over the server's process tree once it answers: NSD forks,
# and PSS counts shared pages once. Each server runs alone, pinned to core 0.
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${RECORDS:-1000000}
ROUNDS=${ROUNDS:-2}
PORT_BASE=${PORT_BASE:-15460}
. bench/common.sh load dig nsd knotd python3 taskset

[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet
BIN=${POLICYDNS_BIN:-target/release/policydns}

# The zone: a quarter of the names with A+AAAA, then TXT, MX and CNAME names.
python3 bench/gen_big_zone.py "$work/big.test.zone" "$RECORDS"
last=last.big.test.
echo "zone: $(wc -l < "$work/big.test.zone") lines, $(du -h "$work/big.test.zone" | cut -f1)"

pss_tree() { # sum PSS (kB) of a pid and its descendants
    local total=0 p
    for p in $1 $(pgrep -P "$1" 2>/dev/null) $(for c in $(pgrep -P "$1" 2>/dev/null); do pgrep -P "$c"; done); do
        v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

wait_answer() { # port -> seconds until the last name answers
    local port=$1 start=$2
    for _ in $(seq 1 3000); do
        if dig +tries=1 +time=1 @127.0.0.1 -p "$port" "$last" A +short 2>/dev/null | grep -q 192.0.2.99; then
            echo "$(date +%s.%N) - $start" | bc
            return 0
        fi
        sleep 0.02
    done
    echo "never"
    return 1
}

run() { # name port cmd...
    local name=$1 port=$2; shift 2
    local start; start=$(date +%s.%N)
    taskset -c 0 "$@" >"$work/$name.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    local t; t=$(wait_answer "$port" "$start") || { echo "$name did not answer; log:"; tail -5 "$work/$name.log"; kill "$pid"; return 1; }
    sleep 0.5
    local mem; mem=$(pss_tree "$pid")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    printf '%-10s %10.2f %12d\n' "$name" "$t" "$((mem / 1024))" | tee -a "$work/rows"
}

mkdir -p "$work/nsd" "$work/knot"
cat > "$work/nsd/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$((PORT_BASE + 1))
    server-count: 1
    username: ""
    zonesdir: "$work"
    database: ""
    pidfile: "$work/nsd/nsd.pid"
    xfrdfile: "$work/nsd/xfrd.state"
    zonelistfile: "$work/nsd/zone.list"
    xfrdir: "$work/nsd"
    verbosity: 0
remote-control:
    control-enable: no
zone:
    name: big.test.
    zonefile: big.test.zone
EOF
cat > "$work/knot/knot.conf" <<EOF
server:
    listen: 127.0.0.1@$((PORT_BASE + 2))
    rundir: "$work/knot"
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$work/knot"
log:
  - target: stderr
    any: warning
zone:
  - domain: big.test.
    file: "$work/big.test.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
EOF

echo
printf '%-10s %10s %12s\n' server "load s" "memory MiB" | tee "$work/rows"
for r in $(seq 1 "$ROUNDS"); do
    run policydns "$PORT_BASE" "$BIN" serve --listen "127.0.0.1:$PORT_BASE" --udp-workers 1 --zone "big.test.=$work/big.test.zone"
    run nsd $((PORT_BASE + 1)) nsd -d -c "$work/nsd/nsd.conf"
    run knot $((PORT_BASE + 2)) knotd -c "$work/knot/knot.conf"
done
echo
echo "best of $ROUNDS (lowest load time, lowest memory):"
for s in policydns nsd knot; do
    awk -v s="$s" '$1 == s { if (t == "" || $2 < t) t = $2; if (m == "" || $3 < m) m = $3 } END { printf "%-10s %10.2f %12d\n", s, t, m }' "$work/rows"
done | tee bench/results/load-latest.txt

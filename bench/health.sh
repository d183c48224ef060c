#!/usr/bin/env bash
# The health checker under load: N HTTP checks (default 10,000) at a 10 s interval against a
# local HTTP server, run by policydns with no DNS traffic. Reports the checker's CPU share of
# one core and its memory once every check has started, over a measuring window.
#
#   bench/health.sh                 # N=10000 INTERVAL=10 WINDOW=30 [POLICYDNS_BIN=...]
#   REUSE=1 bench/health.sh         # the same with reuse_connection = true on every check
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000}
INTERVAL=${INTERVAL:-10}
WINDOW=${WINDOW:-30}
HTTP_PORT=${HTTP_PORT:-18090}
DNS_PORT=${DNS_PORT:-15391}
REUSE=${REUSE:-0}
reuse_line=""
[ "$REUSE" = 0 ] || reuse_line='reuse_connection = true\n'
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet --example http_ok
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet
BIN=${POLICYDNS_BIN:-target/release/policydns}   # another build to measure, e.g. an older one
work=$(mktemp -d /tmp/policydns-health.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

HTTP_OK_COUNT="$work/answered" taskset -c 1 target/release/examples/http_ok "127.0.0.1:$HTTP_PORT" &
pids+=("$!")
printf '$TTL 60\n@ SOA ns hm 1 1 1 1 1\n@ NS ns\nns A 127.0.0.1\n' >"$work/z.zone"
{
    printf '[[zone]]\norigin = "bench.test."\nfile = "z.zone"\n'
    for i in $(seq 1 "$N"); do
        printf '[[health_check]]\nid = "c%d"\ntype = "HTTP"\nip_address = "127.0.0.1"\nport = %d\nresource_path = "/c/%d"\nrequest_interval = %d\nfailure_threshold = 3\n'"$reuse_line" \
            "$i" "$HTTP_PORT" "$i" "$INTERVAL"
    done
} >"$work/c.toml"
taskset -c 0 "$BIN" serve --config "$work/c.toml" --listen "127.0.0.1:$DNS_PORT" --udp-workers 1 2>"$work/server.log" &
pid=$!
pids+=("$pid")
# Every check's first probe falls within one interval (jitter); measure after that.
sleep $((INTERVAL + 3))
kill -0 "$pid" || { tail -5 "$work/server.log"; exit 1; }
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
uticks() { awk '{print $14}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
answered() { cat "$work/answered" 2>/dev/null || echo 0; }
t0=$(ticks); u0=$(uticks); s0=$(date +%s.%N); a0=$(answered)
sleep "$WINDOW"
t1=$(ticks); u1=$(uticks); s1=$(date +%s.%N); a1=$(answered)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
changes=$(grep -cE "health check .* is (un)?healthy: " "$work/server.log" || true)
# Connections the checker holds open at the end: kept ones with REUSE=1, a few in flight without.
estab=$(ss -Htn state established "( dport = :$HTTP_PORT )" | wc -l)
python3 - "$t0" "$t1" "$s0" "$s1" "$hz" "$rss" "$N" "$INTERVAL" "$changes" "$u0" "$u1" "$REUSE" "$estab" "$a0" "$a1" <<'PY' | tee bench/results/health-latest.txt
import sys
t0, t1, s0, s1, hz, rss, n, interval, changes, u0, u1, reuse, estab, a0, a1 = sys.argv[1:]
cpu = (float(t1) - float(t0)) / float(hz)
user = (float(u1) - float(u0)) / float(hz)
wall = float(s1) - float(s0)
# Probes the server really answered in the window (the counter is ~0.1 s behind at both ends).
probes = max(int(a1) - int(a0), 1)
mode = "reuse_connection = true" if reuse != "0" else "a fresh connection per probe"
print(f"{n} HTTP checks every {interval} s ({mode}), measured over {wall:.0f} s")
print(f"checker CPU: {100 * cpu / wall:.2f} % of one core ({cpu * 1e6 / probes:.0f} us per probe, {probes / wall:.0f} probes/s answered; {int(n) / int(interval):.0f} expected)")
print(f"  of which user space {100 * user / wall:.2f} %, kernel {100 * (cpu - user) / wall:.2f} %")
print(f"checker memory (RSS): {int(rss) / 1024:.0f} MiB")
print(f"checker's established connections to the server at the end: {estab}")
print(f"state changes logged (should be 0: all healthy): {changes}")
PY

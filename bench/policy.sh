#!/usr/bin/env bash
# Server CPU per query for routing-policy names against the same server's static names, over
# UDP with dnsperf (the core benchmark's method: server pinned to core 0 with one worker,
# dnsperf to core 1, CPU time of the server process per answered query).
#
#   bench/policy.sh            # D=8 seconds per kind, R=2 rounds
#
# Kinds: static (zone file), weighted (2 members), failover (health checks), geolocation with
# EDNS Client Subnet (the shipped test GeoIP database), an alias tree (weighted → failover).
# SIGN=1: the zone is served signed (--sign) and every query sets DO (dnsperf -D).
# RESULTS=path: where the medians go (default bench/results/policy-latest.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
D=${D:-8}
R=${R:-2}
PORT=${PORT:-15390}
for t in dnsperf taskset python3; do
    command -v "$t" >/dev/null || { echo "policy.sh: $t is missing (apt-get install -y dnsperf)" >&2; exit 1; }
done
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet
BIN=${POLICYDNS_BIN:-target/release/policydns}

work=$(mktemp -d /tmp/policydns-policy.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

sign_args=() do_flag=""
if [ "${SIGN:-0}" = 1 ]; then
    sign_args=(--sign bench.test. --state-dir "$work/state")
    do_flag="-D"
fi
taskset -c 0 "$BIN" serve --config bench/policy/policy.toml --listen "127.0.0.1:$PORT" --udp-workers 1 "${sign_args[@]}" 2>"$work/server.log" &
pid=$!
sleep 1
kill -0 "$pid" || { cat "$work/server.log"; exit 1; }

ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)

# name, extra dnsperf arguments (ECS 198.51.100.0/24 for geolocation: family 1, /24, scope 0)
kinds=("static||" "weighted||" "failover||" "geo|-E 8:00011800c63364|" "geo-nosubnet||" "tree||")
declare -A total
echo "kind          CPU us/query (per round)"
for r in $(seq 1 "$R"); do
    for k in "${kinds[@]}"; do
        name=${k%%|*}; rest=${k#*|}; extra=${rest%%|*}
        qname=$name; [ "$name" = geo-nosubnet ] && qname=geo
        for _ in $(seq 1 200); do echo "$qname.bench.test. A"; done >"$work/q.txt"
        before=$(ticks)
        # shellcheck disable=SC2086
        out=$(taskset -c 1 dnsperf -s 127.0.0.1 -p "$PORT" -d "$work/q.txt" -c 4 -q 200 -l "$D" $extra $do_flag 2>&1)
        after=$(ticks)
        done_q=$(echo "$out" | awk '/Queries completed:/ {print $3}')
        us=$(python3 -c "print(f'{($after - $before) / $hz * 1e6 / max($done_q, 1):.3f}')")
        total[$name]="${total[$name]-} $us"
        printf '%-13s %s (%s queries)\n' "$name" "$us" "$done_q"
    done
done
echo
echo "medians, relative to static:"
base=$(python3 -c "import statistics,sys; print(statistics.median(map(float, sys.argv[1].split())))" "${total[static]}")
for k in "${kinds[@]}"; do
    name=${k%%|*}
    python3 -c "
import statistics, sys
m = statistics.median(map(float, sys.argv[2].split()))
print(f'{sys.argv[1]:<13} {m:6.3f} us/query  {m / float(sys.argv[3]):5.2f}x static')" "$name" "${total[$name]}" "$base"
done | tee "${RESULTS:-bench/results/policy-latest.txt}"

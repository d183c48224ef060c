#!/usr/bin/env bash
# Failover demo: two HTTP backends on loopback, a failover record set on 127.0.0.1:5353 whose
# primary is health-checked every second, and a timeline of what dig gets back while the
# primary backend is stopped and started again. docs/health-checks.md ("Failover demo") walks through it.
#
#   examples/failover-demo.sh          (needs python3 and dig; builds policydns in release)
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-5353}
P1=${P1:-18081}
P2=${P2:-18082}
DOWN=${DOWN:-6}      # seconds the primary stays down
for t in python3 dig; do command -v "$t" >/dev/null || { echo "failover-demo: $t is missing" >&2; exit 1; }; done
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet
BIN=${POLICYDNS_BIN:-target/release/policydns}

work=$(mktemp -d /tmp/policydns-demo.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

backend() { # port → pid of a tiny HTTP server answering 200 on /health
    python3 -m http.server "$1" --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
    echo $!
}
mkdir -p "$work/www" && echo ok >"$work/health"
cat >"$work/demo.test.zone" <<'EOF'
$TTL 60
@   SOA ns1 hostmaster 1 7200 900 1209600 5
    NS  ns1
ns1 A   127.0.0.1
EOF
cat >"$work/demo.toml" <<EOF
[[zone]]
origin = "demo.test."
file = "demo.test.zone"
[[health_check]]
id = "primary"
type = "HTTP"
ip_address = "127.0.0.1"
port = $P1
resource_path = "/health"
request_interval = 1
failure_threshold = 1
[[health_check]]
id = "secondary"
type = "HTTP"
ip_address = "127.0.0.1"
port = $P2
resource_path = "/health"
request_interval = 1
failure_threshold = 1
[[record_set]]
name = "app.demo.test."
type = "A"
set_identifier = "primary"
failover = "PRIMARY"
health_check = "primary"
ttl = 1
values = ["127.0.0.11"]
[[record_set]]
name = "app.demo.test."
type = "A"
set_identifier = "secondary"
failover = "SECONDARY"
health_check = "secondary"
ttl = 1
values = ["127.0.0.12"]
EOF

primary=$(backend "$P1"); pids+=("$primary")
pids+=("$(backend "$P2")")
"$BIN" serve --config "$work/demo.toml" --listen "127.0.0.1:$PORT" 2>"$work/server.log" &
pids+=("$!")
sleep 1.5

start=$(date +%s.%N)
ms() { python3 -c "import sys; print(int((float(sys.argv[1]) - float(sys.argv[2])) * 1000))" "$(date +%s.%N)" "$start"; }
last=""
answer() { dig +short +tries=1 +time=1 @127.0.0.1 -p "$PORT" app.demo.test A 2>/dev/null | head -1 || true; }
watch() { # seconds → prints each change of answer with its time
    local until=$(( $(date +%s) + $1 ))
    while [ "$(date +%s)" -lt "$until" ]; do
        a=$(answer)
        if [ "$a" != "$last" ]; then
            printf '%7s ms  dig answers %s%s\n' "$(ms)" "${a:-(nothing)}" \
                "$( [ "$a" = 127.0.0.11 ] && echo ' (primary)' || ([ "$a" = 127.0.0.12 ] && echo ' (secondary)') )"
            last=$a
        fi
        sleep 0.05
    done
}
echo "timeline (health checks every 1 s, failure threshold 1):"
watch 2
printf '%7s ms  -- primary backend stopped\n' "$(ms)"
kill "$primary"; wait "$primary" 2>/dev/null || true
watch "$DOWN"
primary=$(backend "$P1"); pids+=("$primary")
printf '%7s ms  -- primary backend started again\n' "$(ms)"
watch 4
echo
echo "state changes the server logged:"
grep -E "health check .* is (un)?healthy: " "$work/server.log" | sed 's/^/  /'

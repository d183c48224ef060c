#!/usr/bin/env bash
# octoDNS against policydns's Route 53 API: sync tests/api/octodns/zones/octo.test.yaml
# (simple records and dynamic records: weighted pool values, geo rules, a
# fallback chain between pools, health checks) with octodns-route53's
# Route53Provider, check that a second sync plans no changes, then check the
# answers over DNS.
#
#   tests/api/octodns_sync.sh ENDPOINT_URL DNS_ADDR:PORT
#   e.g. tests/api/octodns_sync.sh http://127.0.0.1:8053 127.0.0.1:5353
#
# Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (no profile or config
# file is read); region us-east-1. Route53Provider has no endpoint option, so
# the endpoint is passed in botocore's AWS_ENDPOINT_URL_ROUTE_53.
# octodns-sync comes from $OCTODNS_SYNC, else
# ${POLICYDNS_VENV:-$HOME/.cache/policydns-venv} (scripts/install-python-deps.sh).
#
# The dynamic records are health checked on port 18091 (path /_dns) of their
# pool values, all loopback addresses; this script answers there with
# tests/api/octodns/health_responder.py while it runs (unless something else
# already does). Queries come from 127.0.0.1, in no GeoIP country, so the geo
# record answers from its catch-all pool; with POLICYDNS_TEST_GEOIP=1 (server
# started with --geoip geoip/policydns-test.mmdb) the geo rules are also checked
# through EDNS Client Subnet. Set OCTODNS_DEBUG=1 to run octodns-sync
# with --debug (botocore's request/response logging included).
set -euo pipefail

endpoint=${1:?usage: $0 ENDPOINT_URL DNS_ADDR:PORT}
dns=${2:?usage: $0 ENDPOINT_URL DNS_ADDR:PORT}
dns_addr=${dns%:*}
dns_port=${dns##*:}
dns_addr=${dns_addr#[}
dns_addr=${dns_addr%]}
[ -n "$dns_addr" ] && [ -n "$dns_port" ] && [ "$dns_addr" != "$dns" ] || { echo "octodns_sync: DNS address must be ADDR:PORT, got $dns" >&2; exit 2; }
: "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID}" "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY}"

here=$(cd "$(dirname "$0")" && pwd)
confdir=$here/octodns
zone=octo.test.
venv="${POLICYDNS_VENV:-$HOME/.cache/policydns-venv}"
if [ -z "${OCTODNS_SYNC:-}" ]; then
    if [ -x "$venv/bin/octodns-sync" ]; then OCTODNS_SYNC="$venv/bin/octodns-sync"; else OCTODNS_SYNC=octodns-sync; fi
fi
command -v "$OCTODNS_SYNC" >/dev/null 2>&1 || { echo "octodns_sync: no octodns-sync ($OCTODNS_SYNC); run scripts/install-python-deps.sh" >&2; exit 2; }
command -v dig >/dev/null 2>&1 || { echo "octodns_sync: dig not found" >&2; exit 2; }
python=$(dirname "$(command -v "$OCTODNS_SYNC")")/python
[ -x "$python" ] || python=python3

unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ENDPOINT_URL AWS_SESSION_TOKEN
export AWS_ENDPOINT_URL_ROUTE_53="$endpoint"
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=1

tmp=$(mktemp -d)
responder_pid=""
cleanup() {
    if [ -n "$responder_pid" ]; then kill "$responder_pid" 2>/dev/null || true; wait "$responder_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

passed=0
ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
fail() {
    printf 'FAIL %s\n' "$*" >&2
    echo "octodns_sync: $passed passed, 1 failed" >&2
    exit 1
}

# --- health endpoint for the pool values -------------------------------------
# The port and the health-checked values (status other than "up") come from the
# zone file itself.
hc_info=$("$python" - "$confdir/zones/octo.test.yaml" <<'PY'
import ipaddress, sys, yaml
data = yaml.safe_load(open(sys.argv[1]))
ports, addrs = set(), []
for name, recs in data.items():
    for rec in recs if isinstance(recs, list) else [recs]:
        dyn = rec.get('dynamic')
        if not dyn:
            continue
        hc = rec.get('octodns', {}).get('healthcheck', {})
        for pool in dyn['pools'].values():
            for v in pool['values']:
                if v.get('status', 'obey') == 'up':
                    continue
                try:
                    ipaddress.ip_address(v['value'])
                except ValueError:
                    continue  # a CNAME value: its check probes the name
                ports.add(int(hc.get('port', 443)))
                if v['value'] not in addrs:
                    addrs.append(v['value'])
if len(ports) != 1:
    sys.exit(f'expected one healthcheck port in the zone, found {sorted(ports)}')
print(ports.pop(), ' '.join(addrs))
PY
) || fail "could not read the health-checked values from the zone file"
read -r hc_port hc_addrs <<<"$hc_info"
health_up() {
    local a
    for a in $hc_addrs; do
        "$python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "http://$a:$hc_port/_dns" >/dev/null 2>&1 || return 1
    done
}
if health_up; then
    ok "health endpoint already answering on port $hc_port"
else
    "$python" "$confdir/health_responder.py" "$hc_port" $hc_addrs >"$tmp/responder.log" 2>&1 &
    responder_pid=$!
    for _ in $(seq 50); do health_up && break; sleep 0.1; done
    health_up || fail "health responder on port $hc_port did not come up: $(cat "$tmp/responder.log")"
    ok "health responder on $hc_addrs port $hc_port"
fi

# --- octodns-sync ----------------------------------------------------------------
sync_args=(--config-file "$confdir/config.yaml")
[ -n "${OCTODNS_DEBUG:-}" ] && sync_args+=(--debug)

# run_sync LOG [ARGS...]: octodns-sync from the config directory (the YamlProvider
# reads ./zones), all output to LOG.
run_sync() {
    local log=$1
    shift
    (cd "$confdir" && "$OCTODNS_SYNC" "${sync_args[@]}" "$@" "$zone") >"$log" 2>&1
}
show_log() { echo "---- $1 (last ${2:-60} lines) ----" >&2; tail -n "${2:-60}" "$1" >&2; echo "----" >&2; }

if ! run_sync "$tmp/sync1.log" --doit; then
    show_log "$tmp/sync1.log" 80
    fail "octodns-sync --doit failed (see the log above)"
fi
grep -q "Summary: \|No changes were planned" "$tmp/sync1.log" || { show_log "$tmp/sync1.log"; fail "octodns-sync --doit printed no plan"; }
ok "octodns-sync --doit: $(grep -o 'Summary: .*' "$tmp/sync1.log" | head -n1 || echo 'no changes')"

if ! run_sync "$tmp/sync2.log"; then
    show_log "$tmp/sync2.log" 80
    fail "second octodns-sync (plan only) failed"
fi
# The plan logger prints, per zone and target, the changes and a "Summary:"
# line, or a single "No changes were planned" when no target has any.
if grep -q "Summary: " "$tmp/sync2.log" || ! grep -q "No changes were planned" "$tmp/sync2.log"; then
    echo "---- second plan ----" >&2
    grep '^\*' "$tmp/sync2.log" >&2 || true
    grep -E "_extra_changes|caused update" "$tmp/sync2.log" >&2 || true
    echo "----" >&2
    fail "second octodns-sync plans changes for $zone (it should report \"No changes were planned\")"
fi
ok "second octodns-sync: no changes were planned"

# --- health ---------------------------------------------------------------------
# The checks octoDNS created probe the responder; on a server whose checks went
# unhealthy since an earlier run they recover after one passing probe
# (failure_threshold 1, every 10 s). Wait until the latest observation of every
# enabled check on a responder address is a success.
if ! "$python" - "$hc_port" $hc_addrs >"$tmp/health.log" 2>&1 <<'PY'
import sys, time
import boto3
port, addrs = int(sys.argv[1]), set(sys.argv[2:])
r53 = boto3.client('route53')
checks, marker = [], None
while True:
    resp = r53.list_health_checks(**({'Marker': marker} if marker else {}))
    checks += resp['HealthChecks']
    if not resp['IsTruncated']:
        break
    marker = resp['NextMarker']
ours = [c['Id'] for c in checks
        if c['HealthCheckConfig'].get('IPAddress') in addrs
        and c['HealthCheckConfig'].get('Port') == port
        and not c['HealthCheckConfig'].get('Disabled')]
if not ours:
    sys.exit(f'no enabled health check probes {sorted(addrs)} port {port}')
deadline = time.time() + 40
while True:
    last = {}
    for id in ours:
        obs = r53.get_health_check_status(HealthCheckId=id)['HealthCheckObservations']
        last[id] = obs[0]['StatusReport']['Status'] if obs else 'no observation yet'
    bad = {k: v for k, v in last.items() if not v.startswith('Success')}
    if not bad:
        print(f'{len(ours)} checks see the responder')
        break
    if time.time() > deadline:
        sys.exit(f'health checks not passing after 40 s: {bad}')
    time.sleep(1)
PY
then
    cat "$tmp/health.log" >&2
    fail "health checks of the dynamic records"
fi
ok "health checks: $(tail -n1 "$tmp/health.log")"

# --- answers over DNS ------------------------------------------------------------
# q NAME TYPE: the answer's data, one per line, sorted; fails unless NOERROR.
# With $ecs set, the query carries that EDNS Client Subnet.
ecs=""
q() {
    local out status what="$1 $2${ecs:+ (ECS $ecs)}"
    out=$(dig +tries=1 +time=2 +norecurse ${ecs:+"+subnet=$ecs"} @"$dns_addr" -p "$dns_port" "$1" "$2" +noall +comments +answer 2>&1) \
        || fail "dig $what failed: $(echo "$out" | tr '\n' ' ')"
    status=$(echo "$out" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p' | head -n1)
    [ "$status" = NOERROR ] || fail "dig $what: status ${status:-?}, want NOERROR: $(echo "$out" | tr '\n' ' ' | head -c 400)"
    echo "$out" | awk -v t="$2" '!/^;/ && NF >= 5 && $4 == t { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print }' | LC_ALL=C sort
}
# expect NAME TYPE WANT...: the answer set is exactly WANT (order free)
expect() {
    local name=$1 type=$2 got want
    shift 2
    got=$(q "$name" "$type" | paste -sd' ' -)
    want=$(printf '%s\n' "$@" | LC_ALL=C sort | paste -sd' ' -)
    [ "$got" = "$want" ] || fail "$name $type${ecs:+ (ECS $ecs)}: got [$got], want [$want]"
    ok "$name $type${ecs:+ (ECS $ecs)} = $got"
}
# expect_each NAME TYPE N ALLOWED...: N queries, each answering exactly one
# record from ALLOWED; prints the distinct answers seen.
expect_each() {
    local name=$1 type=$2 n=$3 i got seen=""
    shift 3
    for i in $(seq "$n"); do
        got=$(q "$name" "$type")
        [ "$(echo "$got" | grep -c .)" = 1 ] || fail "$name $type${ecs:+ (ECS $ecs)}: want one record from [$*], got [$(echo "$got" | paste -sd' ' -)]"
        case " $* " in *" $got "*) ;; *) fail "$name $type${ecs:+ (ECS $ecs)}: answer $got is not one of [$*]" ;; esac
        case " $seen " in *" $got "*) ;; *) seen="$seen $got" ;; esac
    done
    echo "${seen# }"
}

expect octo.test. A 192.0.2.1
expect web.octo.test. A 192.0.2.10 192.0.2.11
expect web.octo.test. AAAA 2001:db8::10
expect www.octo.test. CNAME web.octo.test.
expect octo.test. MX "10 mail.octo.test." "20 mail2.octo.test."
expect octo.test. TXT '"v=spf1 -all"' '"hello; world"'
expect octo.test. CAA '0 issue "ca.example.net"' '128 iodef "mailto:security@octo.test"'
expect _sip._tcp.octo.test. SRV "10 20 5060 mail.octo.test." "20 10 5060 mail2.octo.test."
expect ptr.octo.test. PTR web.octo.test.
long=$(printf '0123456789abcdef%.0s' $(seq 20))
expect long.octo.test. TXT "\"${long:0:255}\" \"${long:255}\""

# weighted: pool "main" = 127.0.0.11 (weight 3), 127.0.0.12 (weight 1)
seen=$(expect_each weighted.octo.test. A 40 127.0.0.11 127.0.0.12)
[ "$seen" != "${seen/ /}" ] || fail "weighted.octo.test. A: 40 queries only ever answered [$seen], want both pool values (weights 3:1)"
ok "weighted.octo.test. A answers from its pool: $seen"

# geo: 127.0.0.1 matches neither NA-US nor EU, so the catch-all pool "world"
seen=$(expect_each geo.octo.test. A 20 127.0.0.23 127.0.0.24)
ok "geo.octo.test. A answers from the catch-all pool: $seen"

# dynamic CNAME: the catch-all pool "usual"
expect cname-geo.octo.test. CNAME web.octo.test.

# fallback chain: pool "primary" is forced down (status: down), so "secondary"
expect chain.octo.test. A 127.0.0.32

# dynamic AAAA without health checks
seen=$(expect_each v6.octo.test. AAAA 10 2001:db8::61 2001:db8::62)
ok "v6.octo.test. AAAA answers from its pool: $seen"

# Geo rules by client location, when the server runs with the project's test
# GeoIP database (serve --geoip geoip/policydns-test.mmdb; set
# POLICYDNS_TEST_GEOIP=1): the client's place comes from EDNS Client Subnet.
if [ -n "${POLICYDNS_TEST_GEOIP:-}" ]; then
    ecs=192.0.2.0/26        # Seattle, NA-US-WA: rule NA-US -> pool na
    expect geo.octo.test. A 127.0.0.21
    ecs=2001:db8:9::/48     # United States, no state: NA-US -> pool na
    expect geo.octo.test. A 127.0.0.21
    ecs=198.51.100.0/25     # Frankfurt, EU-DE: rule EU -> pool eu
    expect geo.octo.test. A 127.0.0.22
    ecs=2001:db8:1::/48     # London, EU-GB: rule EU -> pool eu
    expect geo.octo.test. A 127.0.0.22
    ecs=198.51.100.128/25   # Tokyo, AS-JP: catch-all -> pool world
    seen=$(expect_each geo.octo.test. A 10 127.0.0.23 127.0.0.24)
    ok "geo.octo.test. A (ECS $ecs) answers from the catch-all pool: $seen"
    # cname-geo's pool "other" is checked by a name the probe cannot resolve:
    # mail.octo.test. while its check is still healthy, then the record's own
    # value www.octo.test. (pool -> default fallback); never the catch-all's.
    for ecs in 2001:db8:2::/48 198.51.100.0/25; do   # San Francisco NA-US-CA; Frankfurt EU-DE
        got=$(q cname-geo.octo.test. CNAME)
        case "$got" in
            mail.octo.test.|www.octo.test.) ok "cname-geo.octo.test. CNAME (ECS $ecs) = $got" ;;
            *) fail "cname-geo.octo.test. CNAME (ECS $ecs): got [$got], want mail.octo.test. (pool other) or www.octo.test. (its fallback)" ;;
        esac
    done
    ecs=192.0.2.0/26        # Seattle: US, but not CA -> catch-all pool usual
    expect cname-geo.octo.test. CNAME web.octo.test.
    ecs=""
fi

# --- a change that retires a health check ----------------------------------------
# Removing a pool value makes octoDNS delete that value's health check before the batch that
# stops naming it (as Route 53 allows); the sync must apply and the next plan be empty.
changed=$tmp/changed
cp -r "$confdir" "$changed"
"$python" - "$changed/zones/octo.test.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
old = "          - value: 127.0.0.11\n            weight: 3\n          - value: 127.0.0.12\n            weight: 1\n"
assert old in s, "the weighted pool's values are not where this script expects them"
# One value left: octoDNS allows no weight on a lone value.
open(p, "w").write(s.replace(old, "          - value: 127.0.0.11\n", 1))
PY
if ! (cd "$changed" && "$OCTODNS_SYNC" --config-file "$changed/config.yaml" --doit "$zone") >"$tmp/sync3.log" 2>&1; then
    show_log "$tmp/sync3.log" 80
    fail "octodns-sync --doit of a zone with a pool value removed failed"
fi
ok "octodns-sync --doit with a pool value removed: $(grep -o 'Summary: .*' "$tmp/sync3.log" | head -n1 || echo 'no changes')"
if ! (cd "$changed" && "$OCTODNS_SYNC" --config-file "$changed/config.yaml" "$zone") >"$tmp/sync4.log" 2>&1 \
    || grep -q "Summary: " "$tmp/sync4.log" || ! grep -q "No changes were planned" "$tmp/sync4.log"; then
    show_log "$tmp/sync4.log" 60
    fail "the plan after removing a pool value is not empty"
fi
ok "the plan after removing a pool value is empty"
seen=$(expect_each weighted.octo.test. A 20 127.0.0.11)
[ "$seen" = "127.0.0.11" ] || fail "weighted.octo.test. A after the removal answered [$seen], want only 127.0.0.11"
ok "weighted.octo.test. A answers only the remaining value"

echo "octodns_sync: $passed passed"

#!/usr/bin/env bash
# Signing cost: a generated zone (bench/gen_big_zone.py, RECORDS records) signed ahead of time
# with ECDSA P-256 and NSEC by
#   - policydns dnssec sign            (one thread)
#   - dnssec-signzone (BIND 9.18)      with -n 1 (one thread) and a CSK
#   - kzonesign (Knot 3.2)             one thread (background-workers: 1)
# each pinned to core 0, and what serving it signed costs policydns: the time from start to
# the first answer for the zone's last name, and the resident memory then, signed
# (--sign) and not, and signed again after a graceful stop (the signatures it saved kept).
#
# Usage:   bench/sign.sh                 (RECORDS=200000)
#          RECORDS=1000000 bench/sign.sh
# Knobs:   RECORDS, NO_BUILD=1, POLICYDNS_BIN=path, RESULTS=bench/results/sign-latest.txt
set -euo pipefail
RECORDS=${RECORDS:-200000}
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
RESULTS=${RESULTS:-$BENCH_DIR/results/sign-latest.txt}
BIN=${POLICYDNS_BIN:-$REPO/target/release/policydns}
PORT=15370
log() { printf '[sign] %s\n' "$*" >&2; }

if [[ -z ${POLICYDNS_BIN:-} && ${NO_BUILD:-0} != 1 ]]; then
    (cd "$REPO" && cargo build --release --bin policydns) >&2
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/policydns-sign.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
ZONE=$WORK/big.test.zone
python3 "$BENCH_DIR/gen_big_zone.py" "$ZONE" "$RECORDS"
log "zone: $RECORDS records in $ZONE"

seconds() { # seconds COMMAND...: wall time of the command, pinned to core 0
    local t0 t1
    t0=$(date +%s.%N)
    taskset -c 0 "$@" >/dev/null 2>"$WORK/last.err" || { cat "$WORK/last.err" >&2; return 1; }
    t1=$(date +%s.%N)
    python3 -c "print(f'{$t1 - $t0:.2f}')"
}

declare -A T=()
log "policydns dnssec sign"
T[policydns]=$(seconds "$BIN" dnssec sign "$ZONE" --origin big.test --state-dir "$WORK/state" --out "$WORK/policydns.signed")

if command -v dnssec-signzone >/dev/null && command -v dnssec-keygen >/dev/null; then
    log "dnssec-signzone -n 1"
    mkdir -p "$WORK/bind"
    (cd "$WORK/bind" && dnssec-keygen -q -a ECDSAP256SHA256 -f KSK big.test >/dev/null)
    T[bind]=$(seconds dnssec-signzone -n 1 -z -S -K "$WORK/bind" -o big.test -f "$WORK/bind.signed" "$ZONE")
fi

if command -v kzonesign >/dev/null; then
    log "kzonesign"
    mkdir -p "$WORK/knot/db"
    cp "$ZONE" "$WORK/knot/big.test.zone"
    cat >"$WORK/knot/knot.conf" <<EOF
server:
    rundir: "$WORK/knot"
    background-workers: 1
database:
    storage: "$WORK/knot/db"
policy:
  - id: p256
    algorithm: ecdsap256sha256
    single-type-signing: on
    nsec3: off
template:
  - id: default
    storage: "$WORK/knot"
zone:
  - domain: big.test.
    file: "$WORK/knot/big.test.zone"
    dnssec-signing: on
    dnssec-policy: p256
EOF
    # The first run makes the keys; the second is timed.
    kzonesign -c "$WORK/knot/knot.conf" -o "$WORK/knot/out" big.test. >/dev/null 2>&1 || true
    rm -rf "$WORK/knot/out"; mkdir -p "$WORK/knot/out"
    T[knot]=$(seconds kzonesign -c "$WORK/knot/knot.conf" -o "$WORK/knot/out" big.test.) || unset 'T[knot]'
fi

# Serving: start → first answer for last.big.test, and the resident memory then.
serve_once() { # serve_once EXTRA_ARGS... → "seconds rss_kib"
    local t0 pid t1 rss
    t0=$(date +%s.%N)
    taskset -c 0 "$BIN" serve --listen "127.0.0.1:$PORT" --udp-workers 1 --zone "big.test.=$ZONE" "$@" \
        >"$WORK/serve.log" 2>&1 &
    pid=$!
    until dig @127.0.0.1 -p "$PORT" +short +time=1 +tries=1 last.big.test A 2>/dev/null | grep -q 192.0.2.99; do
        sleep 0.02
        kill -0 "$pid" 2>/dev/null || { cat "$WORK/serve.log" >&2; return 1; }
    done
    t1=$(date +%s.%N)
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    python3 -c "print(f'{$t1 - $t0:.2f} $rss')"
}
log "policydns serve, unsigned and signed"
read -r load_plain rss_plain < <(serve_once)
read -r load_signed rss_signed < <(serve_once --sign big.test. --state-dir "$WORK/state")
# That run stopped by SIGTERM and saved its signatures: a restart keeps them.
read -r load_restart rss_restart < <(serve_once --sign big.test. --state-dir "$WORK/state")
signed_records=$(grep -vc '^;' "$WORK/policydns.signed" || true)

mkdir -p "$(dirname "$RESULTS")"
{
    echo "policydns signing benchmark -- $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "host: $(uname -srm), $(nproc) cpus; every signer pinned to core 0, one thread"
    echo "zone: $RECORDS records (bench/gen_big_zone.py), ECDSA P-256 CSK, NSEC"
    echo
    printf '%-34s %10s\n' "signer" "seconds"
    printf '%-34s %10s\n' "policydns dnssec sign" "${T[policydns]}"
    [[ -n ${T[bind]:-} ]] && printf '%-34s %10s\n' "dnssec-signzone -n 1 (BIND 9.18)" "${T[bind]}"
    [[ -n ${T[knot]:-} ]] && printf '%-34s %10s\n' "kzonesign (Knot 3.2)" "${T[knot]}"
    echo
    echo "policydns serve: start to first answer, resident memory then"
    printf '%-12s %10s %12s\n' "zone" "seconds" "RSS KiB"
    printf '%-12s %10s %12s\n' "unsigned" "$load_plain" "$rss_plain"
    printf '%-12s %10s %12s\n' "signed" "$load_signed" "$rss_signed"
    printf '%-12s %10s %12s\n' "restarted" "$load_restart" "$rss_restart"
    python3 -c "print(f'signed zone: {$signed_records} lines in the signed file; extra memory {($rss_signed - $rss_plain) * 1024 / $RECORDS:.0f} B per original record')"
} | tee "$RESULTS"

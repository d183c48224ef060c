# Shared by the benchmark scripts: `. bench/common.sh NAME TOOL...` checks that the peers' tools
# are installed, makes a work directory ($work) and kills every process whose pid is added to
# $pids when the script ends (KEEP=1 keeps $work for a look afterwards).
bench_name=$1; shift
for t in "$@"; do
    command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || { echo "$bench_name: $t is missing (bash scripts/install-test-deps.sh installs the peers)" >&2; exit 1; }
done
PATH=$PATH:/usr/sbin

work=$(mktemp -d "/tmp/policydns-$bench_name.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

say() { printf '[%s] %s\n' "$bench_name" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$bench_name" "$*" >&2; exit 1; }

# On a failed command, the last lines of each server's log in $work.
on_error() {
    for f in "$work"/*.log; do
        [ -s "$f" ] && { echo "---- last lines of $f:" >&2; tail -n 15 "$f" >&2; }
    done
    return 0
}

# The policydns binary to measure as $BIN (absolute), built in release mode unless NO_BUILD=1 or
# POLICYDNS=path / POLICYDNS_BIN=path name one; $note warns when it looks like a debug build.
policydns_binary() {
    BIN=${POLICYDNS:-${POLICYDNS_BIN:-target/release/policydns}}
    if [ -z "${NO_BUILD:-}" ] && [ -z "${POLICYDNS:-}${POLICYDNS_BIN:-}" ]; then
        cargo build --release --quiet --bin policydns
    fi
    [ -x "$BIN" ] || die "$BIN is not an executable (build it, or give POLICYDNS=path)"
    BIN=$(realpath "$BIN")
    note=""
    [[ $BIN == *debug* ]] && note="NOTE: $BIN looks like a debug build -- its numbers say nothing about speed"
    return 0
}

# Whether TCP or UDP port $1 on 127.0.0.1 is in use.
port_busy() {
    python3 - "$1" <<'PORT'
import socket, sys
for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        sys.exit(0)
    finally:
        s.close()
sys.exit(1)
PORT
}

# Stops with a message unless every port given is free on 127.0.0.1.
ports_free() {
    for port in "$@"; do
        ! port_busy "$port" || die "port $port on 127.0.0.1 is in use (PORT_BASE=... moves them all)"
    done
}

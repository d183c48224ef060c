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

#!/usr/bin/env bash
# Speed benchmark: policydns vs a bare UDP echo (the kernel floor), NSD, Knot
# and gdnsd, all serving the same generated zone on loopback.
#
# Every server runs pinned to one core (SERVER_CPU, default 0) with one
# worker; dnsperf runs pinned to another (PERF_CPU, default 1). The fair
# figure is the server's CPU time per answered query (see bench/README.md).
#
# Usage:   bench/compare.sh            (R=3 rounds of D=10 s per server)
#          R=1 D=5 bench/compare.sh    (quick)
# Knobs (environment):
#   R=3 D=10           rounds, seconds per run
#   CLIENTS=4          dnsperf -c
#   OUTSTANDING=200    dnsperf -q
#   SERVERS="echo policydns nsd knot gdnsd"   which to run (order = table order)
#   SERVER_CPU=0 PERF_CPU=1   cores for taskset
#   NO_BUILD=1         skip `cargo build` (use the binaries in target/release)
#   POLICYDNS_ARGS="--rrl 1000000"   more arguments for `policydns serve` (measure a feature)
#   POLICYDNS_BIN=path use this policydns binary instead of building one
#   DNSPERF_ARGS="-E 10:2464c4abcf10c957"   more arguments for dnsperf, for every
#                      server (this one: a DNS client cookie in every query)
#   KNOT_DNSSEC=sign|onlinesign   Knot signs the zone: ahead of time (automatic
#                      signing, ECDSA P-256, NSEC) or per answer (mod-onlinesign);
#                      with DNSPERF_ARGS=-D to ask for DO=1 answers
#   NXFLOOD=1          query only random names that do not exist (NXDOMAIN flood)
#   KEEP=1             keep the temp dir (configs, logs, raw dnsperf output)
#   WARMUP=2           unmeasured seconds of load per server before round 1
#   QUIET_WAIT=60      before each run, wait up to this many seconds for the
#                      two cores to be idle (shared machine: cargo builds...)
#   RETRIES=2          repeat a run disturbed by other load (>10% of a core)
#   RESULTS=bench/results/latest.txt   where the table is written
# Ports (fixed, loopback only): echo 15353, policydns 15354, nsd 15355,
# knot 15356, gdnsd 15357. The script stops if any of them is busy.
#
# Needs: dnsperf, dig, taskset, python3, cargo; and nsd, knotd, gdnsd for the
# reference servers (Debian: apt-get install -y nsd knot gdnsd dnsperf
# bind9-dnsutils). A missing reference server is skipped with a message.

set -Eeuo pipefail
trap 'printf "[compare] ERROR: unexpected failure (line %s: %s)\n" "$LINENO" "$BASH_COMMAND" >&2' ERR

R=${R:-3}
D=${D:-10}
CLIENTS=${CLIENTS:-4}
OUTSTANDING=${OUTSTANDING:-200}
SERVERS=${SERVERS:-"echo policydns nsd knot gdnsd"}
SERVER_CPU=${SERVER_CPU:-0}
PERF_CPU=${PERF_CPU:-1}
NO_BUILD=${NO_BUILD:-0}
KEEP=${KEEP:-0}
WARMUP=${WARMUP:-2}
QUIET_WAIT=${QUIET_WAIT:-60}
RETRIES=${RETRIES:-2}
ADDR=127.0.0.1
ZONE_ORIGIN=bench.test.

declare -A PORT=([echo]=15353 [policydns]=15354 [nsd]=15355 [knot]=15356 [gdnsd]=15357)
declare -A PID=()      # server name -> pid of the process we started
declare -A BIN=()

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
RESULTS=${RESULTS:-$BENCH_DIR/results/latest.txt}
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}

log()  { printf '[compare] %s\n' "$*" >&2; }
warn() { printf '[compare] WARNING: %s\n' "$*" >&2; }
die()  { printf '[compare] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- cleanup
WORK=""
DNSPERF_PID=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local name pid
    [[ -n $DNSPERF_PID ]] && { kill -TERM "$DNSPERF_PID" 2>/dev/null || true; }   # forwards to dnsperf
    for name in "${!PID[@]}"; do
        pid=${PID[$name]}
        kill -TERM "$pid" 2>/dev/null || true
    done
    for name in "${!PID[@]}"; do
        pid=${PID[$name]}
        for _ in $(seq 1 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            warn "$name (pid $pid) did not stop on SIGTERM; sending SIGKILL"
            for p in $(proc_tree "$pid"); do kill -KILL "$p" 2>/dev/null || true; done
        fi
        wait "$pid" 2>/dev/null || true
    done
    if [[ -n "$WORK" && -d "$WORK" ]]; then
        if [[ "$KEEP" == 1 ]] || (( rc != 0 && rc != 130 && rc != 143 )); then
            log "work dir kept: $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------- /proc CPU helpers
# All pids in the process tree rooted at $1 (NSD forks xfrd and a server child).
proc_tree() {
    local p=$1 c
    [[ -d /proc/$p ]] || return 0
    echo "$p"
    for c in $(pgrep -P "$p" 2>/dev/null || true); do proc_tree "$c"; done
}
# utime+stime (+ cutime+cstime of reaped children) in clock ticks, whole tree,
# all threads (/proc/PID/stat is per thread group).
tree_ticks() {
    local sum=0 p s f
    for p in $(proc_tree "$1"); do
        s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        s=${s##*) }                 # drop "pid (comm) "; comm may hold spaces
        read -r -a f <<<"$s"        # f[0] is field 3 (state)
        sum=$(( sum + f[11] + f[12] + f[13] + f[14] ))
    done
    echo "$sum"
}
CLK_TCK=$(getconf CLK_TCK)

# ------------------------------------------------------------ tool checks
need() {
    command -v "$1" >/dev/null 2>&1 || die "'$1' not found. $2"
}
need dnsperf  "Install it: apt-get install -y dnsperf"
need dig      "Install it: apt-get install -y bind9-dnsutils"
need taskset  "Install it: apt-get install -y util-linux"
need python3  "Install python3."
need pgrep    "Install it: apt-get install -y procps"
[[ "$NO_BUILD" == 1 ]] || need cargo "Install Rust (or run with NO_BUILD=1)."

ncpu=$(nproc)
if (( ncpu < 2 )) || (( SERVER_CPU >= ncpu )) || (( PERF_CPU >= ncpu )); then
    die "need cores $SERVER_CPU and $PERF_CPU (this machine has $ncpu)"
fi
(( SERVER_CPU != PERF_CPU )) || warn "server and dnsperf share core $SERVER_CPU"

find_bin() { # name in PATH or in sbin dirs (Debian puts daemons in /usr/sbin)
    local b
    for b in "$(command -v "$1" 2>/dev/null || true)" "/usr/sbin/$1" "/usr/local/sbin/$1" "/sbin/$1"; do
        [[ -n "$b" && -x "$b" ]] && { echo "$b"; return 0; }
    done
    return 1
}

SELECTED=()
for s in $SERVERS; do
    [[ -n "${PORT[$s]:-}" ]] || die "unknown server '$s' (known: ${!PORT[*]})"
    case $s in
        nsd)   BIN[nsd]=$(find_bin nsd)     || { warn "nsd not installed (apt-get install -y nsd) -- skipping NSD"; continue; } ;;
        knot)  BIN[knot]=$(find_bin knotd)  || { warn "knotd not installed (apt-get install -y knot) -- skipping Knot"; continue; } ;;
        gdnsd) BIN[gdnsd]=$(find_bin gdnsd) || { warn "gdnsd not installed (apt-get install -y gdnsd) -- skipping gdnsd"; continue; } ;;
    esac
    SELECTED+=("$s")
done
(( ${#SELECTED[@]} > 0 )) || die "no server to benchmark"

# -------------------------------------------------------- ports must be free
port_busy() { # UDP or TCP port $1 on $ADDR in use?
    python3 - "$ADDR" "$1" <<'EOF'
import socket, sys
addr, port = sys.argv[1], int(sys.argv[2])
for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind((addr, port))
    except OSError:
        sys.exit(0)
    finally:
        s.close()
sys.exit(1)
EOF
}
for s in "${SELECTED[@]}"; do
    if port_busy "${PORT[$s]}"; then
        die "port ${PORT[$s]} (for $s) is already in use on $ADDR -- stop whatever holds it (ss -lupn 'sport = :${PORT[$s]}')"
    fi
done

# ------------------------------------------------------------------ build
want() { local x; for x in "${SELECTED[@]}"; do [[ $x == "$1" ]] && return 0; done; return 1; }
drop() { local x keep=(); for x in "${SELECTED[@]}"; do [[ $x == "$1" ]] || keep+=("$x"); done; SELECTED=("${keep[@]}"); }

BIN[echo]=$TARGET_DIR/release/examples/udp_echo
BIN[policydns]=${POLICYDNS_BIN:-$TARGET_DIR/release/policydns}
if [[ "$NO_BUILD" != 1 ]]; then
    if want echo; then
        log "building udp_echo (cargo build --release --example udp_echo)"
        (cd "$REPO" && cargo build --release --example udp_echo) || die "udp_echo failed to build"
    fi
    if want policydns && [[ -z ${POLICYDNS_BIN:-} ]]; then
        log "building policydns (cargo build --release --bin policydns)"
        if ! (cd "$REPO" && cargo build --release --bin policydns); then
            warn "policydns failed to build -- skipping policydns"
            drop policydns
        fi
    fi
fi
for s in echo policydns; do
    if want $s && [[ ! -x "${BIN[$s]}" ]]; then
        [[ $s == echo ]] && die "${BIN[$s]} missing (build it: cargo build --release --example udp_echo)"
        warn "${BIN[$s]} missing -- skipping policydns"; drop policydns
    fi
done

# Other work on the benchmark cores (a cargo build, tests) skews everything:
# sample both cores for a second and warn.
core_busy() { # prints "cpuA=NN% cpuB=NN%" busy share over 1 s
    python3 - "$SERVER_CPU" "$PERF_CPU" <<'EOF'
import sys, time
cpus = [f"cpu{c}" for c in sys.argv[1:]]
def snap():
    d = {}
    for line in open("/proc/stat"):
        f = line.split()
        if f[0] in cpus:
            v = list(map(int, f[1:]))
            d[f[0]] = (sum(v), v[3] + v[4])  # total, idle+iowait
    return d
a = snap(); time.sleep(1); b = snap()
print(" ".join(f"{c}={100.0 * (1 - (b[c][1] - a[c][1]) / max(1, b[c][0] - a[c][0])):.0f}%" for c in cpus))
EOF
}
BG_LOAD=$(core_busy)
log "background load before start: $BG_LOAD"
if grep -Eq '=([2-9][0-9]|100)%' <<<"$BG_LOAD"; then
    warn "the benchmark cores are busy with other work ($BG_LOAD); results will be noisy"
fi

# ------------------------------------------------------------- zone + configs
WORK=$(mktemp -d "${TMPDIR:-/tmp}/policydns-bench.XXXXXX")
log "work dir: $WORK"
python3 "$BENCH_DIR/gen_zone.py" "$WORK/zone" >&2
ZONE=$WORK/zone/bench.test.zone
QUERIES=$WORK/zone/queries.txt
EXPECT_NXD=20
if [[ ${NXFLOOD:-0} == 1 ]]; then
    # A random-subdomain flood: every query a name that does not exist (the attack DNSSEC's
    # denial proofs must not make expensive).
    python3 -c 'import random; r = random.Random(7); print("\n".join("%08x.flood.bench.test A" % r.getrandbits(32) for _ in range(200000)))' >"$WORK/zone/flood.txt"
    QUERIES=$WORK/zone/flood.txt
    EXPECT_NXD=100
fi

write_nsd() {
    local d=$WORK/nsd
    mkdir -p "$d/xfr"
    cp "$ZONE" "$d/bench.test.zone"
    cat >"$d/nsd.conf" <<EOF
server:
    ip-address: $ADDR@${PORT[nsd]}
    port: ${PORT[nsd]}
    do-ip6: no
    server-count: 1
    reuseport: no
    username: ""
    chroot: ""
    zonesdir: "$d"
    database: ""
    zonelistfile: "$d/zone.list"
    xfrdfile: "$d/xfrd.state"
    xfrdir: "$d/xfr"
    pidfile: "$d/nsd.pid"
    logfile: "$d/nsd.log"
    verbosity: 1
    hide-version: yes
    zonefiles-write: 0
    # Debian builds NSD with response rate limiting on (200 qps per /24);
    # a benchmark from 127.0.0.1 must turn it off.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: bench.test
    zonefile: "$d/bench.test.zone"
EOF
}

write_knot() {
    local d=$WORK/knot
    mkdir -p "$d/run" "$d/db"
    cp "$ZONE" "$d/bench.test.zone"
    cat >"$d/knot.conf" <<EOF
server:
    rundir: "$d/run"
    pidfile: "$d/run/knot.pid"
    listen: $ADDR@${PORT[knot]}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
control:
    listen: "$d/run/knot.sock"
database:
    storage: "$d/db"
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "$d"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
EOF
    case ${KNOT_DNSSEC:-} in
        "") printf 'zone:\n  - domain: bench.test.\n    file: "%s/bench.test.zone"\n' "$d" >>"$d/knot.conf" ;;
        sign) printf 'policy:\n  - id: p256\n    algorithm: ecdsap256sha256\n    single-type-signing: on\n    nsec3: off\nzone:\n  - domain: bench.test.\n    file: "%s/bench.test.zone"\n    dnssec-signing: on\n    dnssec-policy: p256\n' "$d" >>"$d/knot.conf" ;;
        onlinesign) printf 'zone:\n  - domain: bench.test.\n    file: "%s/bench.test.zone"\n    module: mod-onlinesign\n' "$d" >>"$d/knot.conf" ;;
        *) die "KNOT_DNSSEC=$KNOT_DNSSEC: expected sign or onlinesign" ;;
    esac
}

write_gdnsd() {
    local d=$WORK/gdnsd
    mkdir -p "$d/etc/zones" "$d/run" "$d/state"
    cp "$ZONE" "$d/etc/zones/bench.test"   # gdnsd: file name == zone name
    cat >"$d/etc/config" <<EOF
options => {
    listen => [ $ADDR:${PORT[gdnsd]} ]
    udp_threads => 1
    tcp_threads => 1
    run_dir => "$d/run"
    state_dir => "$d/state"
    zones_default_ttl => 3600
}
EOF
}

# --------------------------------------------------------------- start/check
start_server() { # name -> sets PID[name]; server output -> $WORK/name.out
    local s=$1 port=${PORT[$1]} out=$WORK/$1.out
    local -a cmd
    case $s in
        echo)      cmd=("${BIN[echo]}" --listen "$ADDR:$port") ;;
        policydns) # shellcheck disable=SC2206 # POLICYDNS_ARGS is split into words on purpose
                   cmd=("${BIN[policydns]}" serve --listen "$ADDR:$port" --zone "$ZONE_ORIGIN=$ZONE" --udp-workers 1 ${POLICYDNS_ARGS:-}) ;;
        nsd)       write_nsd;   cmd=("${BIN[nsd]}" -d -c "$WORK/nsd/nsd.conf") ;;
        knot)      write_knot;  cmd=("${BIN[knot]}" -c "$WORK/knot/knot.conf") ;;
        gdnsd)     write_gdnsd; cmd=("${BIN[gdnsd]}" -c "$WORK/gdnsd/etc" start) ;;
    esac
    printf '%q ' taskset -c "$SERVER_CPU" "${cmd[@]}" >"$WORK/$s.cmd"; echo >>"$WORK/$s.cmd"
    # taskset execs the server, so $! is the server's own pid.
    taskset -c "$SERVER_CPU" "${cmd[@]}" </dev/null >"$out" 2>&1 &
    PID[$s]=$!
    log "started $s (pid ${PID[$s]}) on $ADDR:$port"
}

dig_q() { # port name type [extra dig args...]
    local port=$1 name=$2 type=$3; shift 3
    dig @"$ADDR" -p "$port" +time=1 +tries=1 +nocookie "$@" "$name" "$type" 2>&1 || true
}

show_log() {
    local f=$WORK/$1.out
    [[ -s $f ]] && { echo "---- last lines of $1 output ($f):" >&2; tail -n 15 "$f" >&2; }
    [[ $1 == nsd && -s $WORK/nsd/nsd.log ]] && { echo "---- nsd.log:" >&2; tail -n 15 "$WORK/nsd/nsd.log" >&2; }
    return 0
}

# Wait until the server answers h1 (up to 20 s), then run the checks.
# Returns 0 if everything is right; prints the reason otherwise.
check_server() {
    local s=$1 port=${PORT[$1]} i ans name type exp
    for i in $(seq 1 80); do
        kill -0 "${PID[$s]}" 2>/dev/null || { echo "$s exited during start-up"; return 1; }
        ans=$(dig_q "$port" "h1.$ZONE_ORIGIN" A +noall +comments)
        [[ $ans == *"status: "* ]] && break
        sleep 0.25
    done
    [[ $ans == *"status: "* ]] || { echo "$s does not answer on $ADDR:$port after 20 s"; return 1; }
    if [[ $s == echo ]]; then
        [[ $ans == *"flags: qr"* ]] || { echo "echo reply lacks the QR flag: $ans"; return 1; }
        return 0
    fi
    while read -r name type exp; do
        if [[ $exp == NXDOMAIN ]]; then
            ans=$(dig_q "$port" "$name" "$type" +noall +comments)
            [[ $ans == *"status: NXDOMAIN"* ]] || {
                echo "$s: expected NXDOMAIN for $name $type, got: $(grep -m1 'status:' <<<"$ans" || echo "$ans")"; return 1; }
            [[ $ans == *"flags: qr aa"* ]] || { echo "$s: NXDOMAIN for $name lacks the AA flag"; return 1; }
        else
            ans=$(dig_q "$port" "$name" "$type" +short | head -n 1)
            [[ $ans == "$exp" ]] || { echo "$s: $name $type: expected '$exp', got '$ans'"; return 1; }
            ans=$(dig_q "$port" "$name" "$type" +noall +comments)
            [[ $ans == *"flags: qr aa"* ]] || { echo "$s: answer for $name lacks the AA flag"; return 1; }
        fi
    done <"$WORK/zone/checks.txt"
    return 0
}

stop_server() {
    local s=$1 pid=${PID[$1]:-}
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && for p in $(proc_tree "$pid"); do kill -KILL "$p" 2>/dev/null || true; done
    wait "$pid" 2>/dev/null || true
    unset "PID[$s]"
}

ACTIVE=()
for s in "${SELECTED[@]}"; do
    start_server "$s"
    if msg=$(check_server "$s"); then
        log "$s answers correctly"
        ACTIVE+=("$s")
    else
        show_log "$s"
        if [[ $s == policydns ]]; then
            warn "$msg"
            warn "policydns is not answering correctly yet -- skipping it"
            stop_server policydns
        else
            die "$msg"
        fi
    fi
done
(( ${#ACTIVE[@]} > 0 )) || die "no server left to benchmark"

# ---------------------------------------------------------------- measuring
RAW=$WORK/raw.tsv
printf 'round\tserver\tqueries\tlost\tqps\tlat_avg_s\tcpu_ticks\tnoerror\tnxdomain\tperf_ticks\tsirq_ticks\tbg_ticks\telapsed_s\n' >"$RAW"

# "busy softirq" ticks of the server core, then of the dnsperf core, from
# /proc/stat (busy = all but idle+iowait; guest time is inside user;
# softirq here includes hardirq).
core_ticks() {
    awk -v a="cpu$SERVER_CPU" -v b="cpu$PERF_CPU" '
        $1 == a || $1 == b { t = 0; for (i = 2; i <= 9; i++) t += $i; busy[$1] = t - $5 - $6; sirq[$1] = $8 + $7 }
        END { print busy[a], sirq[a], busy[b], sirq[b] }' /proc/stat
}
# Softirqs deferred to the per-core ksoftirqd thread are booked as that
# thread's time, not as softirq time in /proc/stat: count them as softirq.
KSOFTIRQD_S=$(pgrep -x "ksoftirqd/$SERVER_CPU" 2>/dev/null | head -n1 || true)
KSOFTIRQD_P=$(pgrep -x "ksoftirqd/$PERF_CPU" 2>/dev/null | head -n1 || true)
ksoftirqd_ticks() {
    echo "$( [[ -n $KSOFTIRQD_S ]] && tree_ticks "$KSOFTIRQD_S" || echo 0)" \
         "$( [[ -n $KSOFTIRQD_P ]] && tree_ticks "$KSOFTIRQD_P" || echo 0)"
}

# Runs dnsperf as the child of a tiny python wrapper that writes dnsperf's
# exact CPU time (rusage, seconds) to $3.cpu.
RUSAGE_WRAPPER='
import os, signal, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGTERM))
_, status, ru = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{ru.ru_utime + ru.ru_stime:.6f}\n")
sys.exit(os.waitstatus_to_exitcode(status))
'
run_dnsperf() { # server seconds outfile
    # In the background + wait, so that a signal to this script is handled
    # at once (bash runs traps only after a foreground child returns).
    taskset -c "$PERF_CPU" python3 -c "$RUSAGE_WRAPPER" "$3.cpu" \
        dnsperf -s "$ADDR" -p "${PORT[$1]}" -d "$QUERIES" \
        -c "$CLIENTS" -q "$OUTSTANDING" -T 1 -l "$2" ${DNSPERF_ARGS:-} >"$3" 2>&1 &
    DNSPERF_PID=$!
    local rc=0
    wait "$DNSPERF_PID" || rc=$?
    DNSPERF_PID=""
    return $rc
}

field() { # pattern file -> first number after the pattern
    { sed -n "s/^ *$1 *\([0-9.]*\).*/\1/p" "$2" | head -n 1; } || true
}
rcode() { # NAME file -> count of that rcode in "Response codes:" line
    { grep -m1 'Response codes:' "$2" | grep -o "$1 [0-9]*" | awk '{print $2}' | head -n1; } || true
}

if (( WARMUP > 0 )); then
    for s in "${ACTIVE[@]}"; do
        log "warm-up $s (${WARMUP}s)"
        run_dnsperf "$s" "$WARMUP" "$WORK/warmup-$s.txt" || die "dnsperf failed against $s: $(tail -n 3 "$WORK/warmup-$s.txt")"
    done
fi

# Busy ticks of both benchmark cores over 0.5 s (ours are all idle here).
cores_quiet() {
    local b0 c0 b1 c1 x y lim=$(( CLK_TCK / 20 ))   # 10% of 0.5 s
    read -r b0 x c0 y < <(core_ticks); sleep 0.5; read -r b1 x c1 y < <(core_ticks)
    (( b1 - b0 <= lim && c1 - c0 <= lim ))
}
wait_quiet() {
    local deadline=$(( SECONDS + QUIET_WAIT )) said=0
    until cores_quiet; do
        if (( SECONDS >= deadline )); then
            warn "cores still busy with other work after ${QUIET_WAIT}s -- measuring anyway"
            return 0
        fi
        (( said )) || { log "waiting up to ${QUIET_WAIT}s for other work on the benchmark cores to stop"; said=1; }
        sleep 1
    done
}

# One measured run of server $2 in round $1; sets ROW (a line for $RAW)
# and BG (ticks of other load on the two cores during the run).
measure() {
    local r=$1 s=$2 pid=${PID[$2]} out=$WORK/r$1-$2.txt
    local t0 t1 b0 b1 sq0 sq1 c0 c1 sp0 sp1 ks0 ks1 kp0 kp1 w0 w1 cpu perf sirq q lost qps lat noerr nxd
    kill -0 "$pid" 2>/dev/null || { show_log "$s"; die "$s (pid $pid) died"; }
    t0=$(tree_ticks "$pid"); read -r b0 sq0 c0 sp0 < <(core_ticks); read -r ks0 kp0 < <(ksoftirqd_ticks); w0=$EPOCHREALTIME
    run_dnsperf "$s" "$D" "$out" || { cat "$out" >&2; die "dnsperf failed against $s"; }
    w1=$EPOCHREALTIME; read -r b1 sq1 c1 sp1 < <(core_ticks); read -r ks1 kp1 < <(ksoftirqd_ticks); t1=$(tree_ticks "$pid")
    perf=$(awk -v t="$CLK_TCK" '{ printf "%d", $1 * t + 0.5 }' "$out.cpu")
    cpu=$((t1 - t0)); sirq=$((sq1 - sq0 + ks1 - ks0))
    # Work on the two cores that is neither the server, dnsperf, nor
    # softirqs: someone else's load disturbing the run.
    BG=$(( (b1 - b0) + (c1 - c0) - cpu - sirq - perf - (sp1 - sp0) - (kp1 - kp0) )); (( BG > 0 )) || BG=0
    kill -0 "$pid" 2>/dev/null || { show_log "$s"; die "$s (pid $pid) died during the run"; }
    q=$(field 'Queries completed:' "$out"); lost=$(field 'Queries lost:' "$out")
    qps=$(field 'Queries per second:' "$out"); lat=$(field 'Average Latency (s):' "$out")
    noerr=$(rcode NOERROR "$out"); nxd=$(rcode NXDOMAIN "$out")
    [[ -n $q && -n $qps && -n $lat ]] || { cat "$out" >&2; die "could not parse dnsperf output for $s"; }
    (( q > 0 )) || { cat "$out" >&2; die "$s answered no queries"; }
    log "round $r/$R $s: $qps qps, avg $lat s, server $cpu ticks (+$sirq softirq) for $q queries, dnsperf $perf, other load $BG ticks"
    # Wall time of the run: D, plus dnsperf's wait (-t) for lost queries.
    ROW=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$r" "$s" "$q" "${lost:-0}" "$qps" "$lat" \
        "$cpu" "${noerr:-0}" "${nxd:-0}" "$perf" "$sirq" "$BG" "$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.2f", b - a }')")
}

n=${#ACTIVE[@]}
BG_LIMIT=$(( D * CLK_TCK / 10 ))    # 10% of one core over the run
for r in $(seq 1 "$R"); do
    for k in $(seq 0 $((n - 1))); do
        s=${ACTIVE[$(( (k + r - 1) % n ))]}   # rotate the order every round
        # A run disturbed by other load is repeated (RETRIES times at most);
        # the last attempt is kept either way, and the table flags it.
        for try in $(seq 0 "$RETRIES"); do
            wait_quiet
            measure "$r" "$s"
            (( BG <= BG_LIMIT || try == RETRIES )) && break
            warn "run disturbed by other load ($BG ticks > $BG_LIMIT) -- repeating ($((try + 1))/$RETRIES)"
        done
        printf '%s\n' "$ROW" >>"$RAW"
    done
done

# ------------------------------------------------------------------- table
versions() {
    echo "dnsperf: $(dnsperf -h 2>&1 | sed -n 's/^Version //p')"
    [[ -n ${BIN[nsd]:-} ]]   && echo "nsd: $({ "${BIN[nsd]}" -v 2>&1 || true; } | head -n1)"
    [[ -n ${BIN[knot]:-} ]]  && echo "knot: $({ "${BIN[knot]}" -V 2>&1 || true; } | head -n1)"
    [[ -n ${BIN[gdnsd]:-} ]] && echo "gdnsd: $({ "${BIN[gdnsd]}" -V 2>&1 || true; } | sed -n 's/.*\(gdnsd version.*\)/\1/p' | head -n1)"
    return 0
}

mkdir -p "$(dirname "$RESULTS")"
TABLE=$WORK/table.txt
{
    echo "policydns speed benchmark -- $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "host: $(uname -srm), $(nproc) cpus, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
    echo "rounds R=$R x D=${D}s per server; dnsperf -c $CLIENTS -q $OUTSTANDING -T 1 on cpu $PERF_CPU; servers on cpu $SERVER_CPU, 1 worker"
    echo "zone: $(head -n2 "$WORK/zone/summary.txt" | tr '\n' ' ')"
    echo "background load on the cores before start: $BG_LOAD"
    [[ -n ${POLICYDNS_ARGS:-} ]] && echo "policydns serve ... $POLICYDNS_ARGS"
    [[ -n ${DNSPERF_ARGS:-} ]] && echo "dnsperf ... $DNSPERF_ARGS (every server)"
    versions
    [[ " ${SELECTED[*]} " == *" policydns "* && " ${ACTIVE[*]} " != *" policydns "* ]] && \
        echo "NOTE: policydns was skipped (did not build or did not answer correctly)"
    echo
    [[ ${NXFLOOD:-0} == 1 ]] && echo "queries: NXDOMAIN flood (random names under flood.bench.test.)"
    python3 - "$RAW" "$CLK_TCK" "$D" "$EXPECT_NXD" "${ACTIVE[@]}" <<'EOF'
import csv, statistics, sys
raw, tck, dur, expect_nxd, order = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5:]
rows = list(csv.DictReader(open(raw), delimiter="\t"))
agg = {}
for s in order:
    rs = [r for r in rows if r["server"] == s]
    if not rs:
        continue
    per_q = lambda key: [int(r[key]) / tck * 1e6 / int(r["queries"]) for r in rs]
    pct = lambda key: [int(r[key]) / tck / float(r["elapsed_s"]) * 100 for r in rs]
    q = sum(int(r["queries"]) for r in rs)
    agg[s] = dict(
        qps=statistics.median(float(r["qps"]) for r in rs),
        lat=statistics.median(float(r["lat_avg_s"]) for r in rs) * 1e6,
        cpu=statistics.median(per_q("cpu_ticks")),
        sirq=statistics.median(per_q("sirq_ticks")),
        util=statistics.median(pct("cpu_ticks")),
        perf=statistics.median(pct("perf_ticks")),
        bg=statistics.median(pct("bg_ticks")),
        lost=sum(int(r["lost"]) for r in rs),
        nxd=100.0 * sum(int(r["nxdomain"]) for r in rs) / q,
        n=len(rs),
    )
refs = [s for s in ("echo", "nsd", "knot", "gdnsd") if s in agg]
hdr = ["server", "QPS", "lat avg us", "CPU us/q", "sirq us/q", "CPU %", "perf %", "bg %",
       "NXD %", "lost"] + [f"x {s}" for s in refs]
lines = [hdr]
for s, a in agg.items():
    line = [s, f"{a['qps']:.0f}", f"{a['lat']:.1f}", f"{a['cpu']:.3f}", f"{a['sirq']:.3f}",
            f"{a['util']:.0f}", f"{a['perf']:.0f}", f"{a['bg']:.0f}", f"{a['nxd']:.1f}", str(a["lost"])]
    for ref in refs:
        line.append(f"{a['cpu'] / agg[ref]['cpu']:.2f}" if agg[ref]["cpu"] > 0 else "-")
    lines.append(line)
w = [max(len(l[i]) for l in lines) for i in range(len(hdr))]
for i, l in enumerate(lines):
    print("  ".join(c.ljust(w[j]) if j == 0 else c.rjust(w[j]) for j, c in enumerate(l)))
    if i == 0:
        print("  ".join("-" * x for x in w))
warnings = []
for s, a in agg.items():
    tot = sum(int(r["queries"]) for r in rows if r["server"] == s)
    if a["lost"] > 0.001 * tot:
        warnings.append(f"WARNING: {s} lost {a['lost']} queries ({100.0 * a['lost'] / tot:.2f}%): "
              "drops or rate limiting; its numbers are suspect")
    if s != "echo" and abs(a["nxd"] - expect_nxd) > 2.0:
        warnings.append(f"WARNING: {s} answered NXDOMAIN to {a['nxd']:.1f}% of queries, expected ~{expect_nxd:.0f}%")
    if a["bg"] > 10:
        warnings.append(f"WARNING: other processes used {a['bg']:.0f}% of a core on the benchmark cores "
              f"during the {s} runs; its numbers are disturbed")
if warnings:
    print()
    print("\n".join(warnings))
print()
print("Medians over rounds. CPU us/q = server process tree utime+stime / queries answered")
print("(the figure to compare); sirq us/q = softirq time on the server core per query, not")
print("in CPU us/q (mostly loopback delivery of the replies); 'x REF' = CPU us/q relative to")
print("REF, lower is better. CPU % / perf % = share of one core used by the server / dnsperf:")
print("server below ~100% with dnsperf near 100% means dnsperf set the QPS and latency, not")
print("the server. bg % = other load on the two cores during the run (should be ~0).")
print()
print("per-round raw:")
cols = ["round", "server", "queries", "lost", "qps", "lat_avg_s", "cpu_ticks", "sirq_ticks",
        "perf_ticks", "bg_ticks", "elapsed_s", "noerror", "nxdomain"]
cw = [max(len(c), *(len(r[c]) for r in rows)) for c in cols]
print("  ".join(c.ljust(w) for c, w in zip(cols, cw)))
for r in rows:
    print("  ".join(r[c].ljust(w) for c, w in zip(cols, cw)))
print(f"(ticks are 1/{tck} s)")
EOF
} >"$TABLE"
cp "$TABLE" "$RESULTS"
echo
cat "$TABLE"
echo
log "results written to $RESULTS"

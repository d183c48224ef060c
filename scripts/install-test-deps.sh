#!/usr/bin/env bash
# Installs the system packages the test suite and benchmarks need:
#   nsd (reference server of tests/differential_nsd.rs), knot, bind9,
#   named-compilezone, named, knotd and kzonecheck (tests/zonefile_interop.rs),
#   dnsutils (dig, nsupdate), knot-dnsutils (kdig, knsupdate), dnsperf,
#   pebble and lego (the ACME DNS-01 test of tests/dynamic_update.rs),
#   promtool (prometheus: checks /metrics in tests/metrics.rs),
#   chromium (headless: loads the status page in tests/status_page.rs),
#   unbound-host (unbound's validator, libunbound: tests/dnssec_serving.rs),
#   ldns-verify-zone (ldnsutils: signed transfers checked in tests/dnssec_*.rs).
# Idempotent: does nothing when every binary is already there. Runs
# `apt-get update` only when the package lists are missing or an install
# from the current lists fails. Works as root (CI) and with sudo otherwise.
set -euo pipefail

# binary:package
deps=(
    nsd:nsd
    nsd-checkzone:nsd
    knotd:knot
    named:bind9
    named-compilezone:bind9-utils
    kzonecheck:knot-dnssecutils
    dig:dnsutils
    kdig:knot-dnsutils
    dnsperf:dnsperf
    nsupdate:dnsutils
    knsupdate:knot-dnsutils
    pebble:pebble
    lego:lego
    promtool:prometheus
    chromium:chromium
    unbound-host:unbound-host
    ldns-verify-zone:ldnsutils
)

have() {
    command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/local/sbin/$1" ]
}

missing=()
for d in "${deps[@]}"; do
    bin=${d%%:*} pkg=${d#*:}
    if ! have "$bin"; then
        case " ${missing[*]-} " in *" $pkg "*) ;; *) missing+=("$pkg") ;; esac
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-test-deps: all test dependencies present"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-deps: missing packages ${missing[*]}, and no apt-get here; install them by hand" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "install-test-deps: need root or sudo to install ${missing[*]}" >&2
    exit 1
fi

echo "install-test-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive

# Keep the packages' own daemons (nsd, knot, named on port 53) from being
# started by their maintainer scripts, unless a policy is already in place.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
    "${SUDO[@]}" chmod 755 "$policy"
    made_policy=1
fi
cleanup() {
    if [ "$made_policy" = 1 ]; then "${SUDO[@]}" rm -f "$policy"; fi
}
trap cleanup EXIT

install() {
    "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}

if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
    "${SUDO[@]}" apt-get update
    install
elif ! install; then
    "${SUDO[@]}" apt-get update
    install
fi

for d in "${deps[@]}"; do
    bin=${d%%:*}
    if ! have "$bin"; then
        echo "install-test-deps: $bin still missing after installing ${missing[*]}" >&2
        exit 1
    fi
done
echo "install-test-deps: done"

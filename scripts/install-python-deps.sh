#!/usr/bin/env bash
# Creates the Python venv used by the Route 53 API tests (tests/api/) and
# installs the exact versions listed in scripts/python-requirements.txt:
# awscli, boto3/botocore/s3transfer, moto[server] (reference server), octodns
# and octodns-route53, plus all their dependencies.
#
#   venv:  ${POLICYDNS_VENV:-$HOME/.cache/policydns-venv}
#   python: ${PYTHON:-python3} (CPython >= 3.9; resolved and tested with 3.11)
#
# Idempotent: the venv holds a stamp with the sha256 of the requirements file
# and the interpreter version; when both match, nothing is installed. When
# they differ the venv is rebuilt from scratch, so it holds exactly the
# pinned set and nothing left over from an earlier one.
#
# On Debian, `python3 -m venv` needs the python3-venv package; as root (or
# with sudo) this script installs it when venv creation fails for that
# reason.
#
# Afterwards:  PATH="$VENV/bin:$PATH" python tests/api/route53_flow.py ...
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
req="$here/python-requirements.txt"
venv="${POLICYDNS_VENV:-$HOME/.cache/policydns-venv}"
python="${PYTHON:-python3}"
stamp="$venv/.policydns-requirements.stamp"

say() { echo "install-python-deps: $*"; }
die() { echo "install-python-deps: error: $*" >&2; exit 1; }

[ -f "$req" ] || die "missing $req"
command -v "$python" >/dev/null 2>&1 || die "no $python on PATH (set PYTHON=...)"

pyver=$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' \
    || die "$python is $pyver; need CPython >= 3.9"

want="$(sha256sum "$req" | cut -d' ' -f1) python-$pyver"

venv_ok() {
    [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import sys' >/dev/null 2>&1
}

check_endpoint_env() {
    # Service-specific endpoint variables (AWS_ENDPOINT_URL_<SERVICE_ID>)
    # arrived in botocore 1.31.x; verify the installed one honours Route 53's.
    local got
    got=$(env -u AWS_PROFILE AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y \
          AWS_EC2_METADATA_DISABLED=true \
          AWS_ENDPOINT_URL_ROUTE_53=http://127.0.0.1:1 \
          "$venv/bin/python" -c '
import boto3
c = boto3.client("route53", region_name="us-east-1")
print(c.meta.endpoint_url)') || true
    if [ "$got" = "http://127.0.0.1:1" ]; then
        say "botocore honours AWS_ENDPOINT_URL_ROUTE_53: yes"
    else
        say "WARNING: botocore ignores AWS_ENDPOINT_URL_ROUTE_53 (endpoint was '$got'); pass --endpoint-url explicitly"
    fi
}

report() {
    say "venv $venv ($("$venv/bin/python" --version 2>&1))"
    "$venv/bin/python" - <<'EOF'
import importlib.metadata as md
names = ["awscli", "boto3", "botocore", "s3transfer", "moto", "octodns", "octodns-route53"]
print("install-python-deps: " + ", ".join("%s==%s" % (n, md.version(n)) for n in names))
EOF
    check_endpoint_env
}

if venv_ok && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    say "venv up to date (stamp matches $(basename "$req"))"
    report
    exit 0
fi

if [ -e "$venv" ]; then
    if [ -f "$venv/pyvenv.cfg" ]; then
        say "requirements or interpreter changed (or venv broken): rebuilding $venv"
        rm -rf "$venv"
    else
        die "$venv exists and is not a venv (no pyvenv.cfg); remove it or set POLICYDNS_VENV"
    fi
fi

make_venv() {
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
}

say "creating venv at $venv with $python ($pyver)"
if ! make_venv; then
    rm -rf "$venv"
    # Debian/Ubuntu split ensurepip into python3-venv / python3.X-venv.
    if command -v apt-get >/dev/null 2>&1; then
        if [ "$(id -u)" -eq 0 ]; then SUDO=(); elif command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else
            die "venv creation failed and installing python3-venv needs root or sudo"
        fi
        mm=${pyver%.*}
        say "venv creation failed; installing python3-venv python$mm-venv with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        if ! "${SUDO[@]}" apt-get install -y -q python3-venv "python$mm-venv"; then
            "${SUDO[@]}" apt-get update -q
            "${SUDO[@]}" apt-get install -y -q python3-venv "python$mm-venv"
        fi
        make_venv || die "venv creation still fails after installing python3-venv"
    else
        die "venv creation failed (python3 -m venv); install your distribution's venv package"
    fi
fi

say "installing pinned packages from $req (this takes a minute or two)"
PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install \
    --no-input --quiet --requirement "$req"

say "checking dependency consistency (pip check)"
"$venv/bin/python" -m pip check

echo "$want" > "$stamp"
say "done"
report

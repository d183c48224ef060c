#!/usr/bin/env bash
# The project's one test command (CI runs it through .ci/run).
#  1. installs the system packages the tests need (NSD is the reference
#     server of tests/differential_nsd.rs) and the pinned Python clients of
#     the Route 53 API (scripts/install-python-deps.sh),
#  2. runs every test target in the debug profile (the release profile uses
#     fat LTO, far slower to build on a small machine than the tests run).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh
# awscli, boto3 and octoDNS (pinned, from PyPI) in a venv for the Route 53 API tests.
bash scripts/install-python-deps.sh

status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --all-targets --no-fail-fast 2>&1 | tee "$log" || status=1
# --all-targets leaves out doc tests; run them too when there is a library.
if [ -f src/lib.rs ]; then
    cargo test --doc --no-fail-fast 2>&1 | tee -a "$log" || status=1
fi
# One closing line for the whole run: cargo's own last line is that of its last target, which
# may rightly have no tests (the examples).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"

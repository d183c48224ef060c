#!/usr/bin/env bash
# The project's one test command (CI runs it through .ci/run).
#  1. installs the system packages the tests need (NSD is the reference
#     server of tests/differential_nsd.rs),
#  2. runs every test target in the debug profile (the release profile uses
#     fat LTO, far slower to build on a small machine than the tests run).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh

status=0
cargo test --all-targets --no-fail-fast || status=1
# --all-targets leaves out doc tests; run them too when there is a library.
if [ -f src/lib.rs ]; then
    cargo test --doc --no-fail-fast || status=1
fi
exit "$status"

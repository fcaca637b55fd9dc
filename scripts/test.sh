#!/usr/bin/env bash
# The one command that runs every test (README "Quick start"; .ci/run calls it).
#   1. installs missing peers (sipp, openssl, cargo-fuzz)
#   2. formatting and lints (cargo fmt --check, clippy -D warnings)
#   3. unit tests (virtual time) and integration tests against real sipp
#      and openssl on 127.0.0.1
#   4. a short criterion run of the hot-path benchmarks (ns per operation)
#      and the presence scale bench (memory per subscription, 100,000 each way)
#   5. a fuzz smoke run of every cargo-fuzz target (FUZZ_SECONDS each, default 30)
# Every stage is bounded; total well under 30 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

stage() { printf '\n=== %s (%ds elapsed)\n' "$*" "$SECONDS"; }

stage "peers"
scripts/install-peers.sh

stage "fmt + clippy"
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings

stage "tests (unit + integration with sipp/openssl)"
timeout 1200 cargo test --locked --all-targets --no-fail-fast 2>&1 | tee target/test-output.log
# cargo test prints one "test result" line per test binary; sum them up.
awk '/^test result:/ { for (i=1;i<=NF;i++) { if ($i ~ /^passed;?$/) p+=$(i-1); if ($i ~ /^failed;?$/) f+=$(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f; if (f>0 || p==0) exit 1 }' target/test-output.log

stage "benchmarks (short)"
timeout 600 cargo bench --locked --bench hot_paths -- --warm-up-time 1 --measurement-time 2 2>&1 | grep -B1 -E 'time:' | grep -v '^--' || true

stage "presence scale bench"
timeout 600 cargo bench --locked --bench presence

stage "fuzz smoke"
FUZZ_SECONDS="${FUZZ_SECONDS:-30}" scripts/fuzz.sh

stage "done"

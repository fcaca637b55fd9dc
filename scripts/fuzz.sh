#!/usr/bin/env bash
# Runs every cargo-fuzz target for FUZZ_SECONDS seconds each (default 30:
# the CI smoke run; use e.g. FUZZ_SECONDS=3600 for a long run). The corpus
# lives in fuzz/corpus/<target> and is kept in the repo; crashes land in
# fuzz/artifacts/<target> and fail the run.
#   scripts/fuzz.sh                 # all targets
#   FUZZ_SECONDS=3600 scripts/fuzz.sh sip_message
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${FUZZ_SECONDS:-30}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list 2>/dev/null)
# cargo-fuzz needs nightly flags; the stable toolchain accepts them with this.
export RUSTC_BOOTSTRAP=1
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "fuzz: $t for ${secs}s"
  log="$(mktemp)"
  if ! cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -max_len=8192 >"$log" 2>&1; then
    echo "fuzz: $t FAILED (crash or build error):"; tail -40 "$log"; exit 1
  fi
  grep -E '^Done [0-9]+ runs' "$log" | tail -1 || true
  rm -f "$log"
done
echo "fuzz: all targets ran ${secs}s without a crash"

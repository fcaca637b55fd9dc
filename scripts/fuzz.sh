#!/usr/bin/env bash
# Runs every cargo-fuzz target for FUZZ_SECONDS seconds each (default 30:
# the CI smoke run; use e.g. FUZZ_SECONDS=3600 for a long run). The corpus
# committed in fuzz/corpus/<target> is read only: new inputs the fuzzer finds
# go to a scratch directory that is deleted afterwards, so a run never dirties
# the checkout (set FUZZ_KEEP_CORPUS=1 to add them to fuzz/corpus instead).
# Crashes land in fuzz/artifacts/<target> and fail the run.
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
  scratch=""
  if [ "${FUZZ_KEEP_CORPUS:-0}" = 1 ]; then dirs=("corpus/$t"); else
    scratch="$(mktemp -d)"; dirs=("$scratch" "corpus/$t"); fi
  if ! cargo fuzz run "$t" "${dirs[@]}" -- -max_total_time="$secs" -rss_limit_mb=2048 -max_len=8192 >"$log" 2>&1; then
    echo "fuzz: $t FAILED (crash or build error):"; tail -40 "$log"; exit 1
  fi
  grep -E '^Done [0-9]+ runs' "$log" | tail -1 || true
  rm -f "$log"; [ -z "$scratch" ] || rm -rf "$scratch"
done
echo "fuzz: all targets ran ${secs}s without a crash"

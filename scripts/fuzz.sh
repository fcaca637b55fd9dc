#!/usr/bin/env bash
# Runs every cargo-fuzz target for FUZZ_SECONDS seconds each (default 30:
# the CI smoke run; use e.g. FUZZ_SECONDS=3600 for a long run), or splits
# FUZZ_TOTAL_SECONDS evenly across the targets run (at least 10 s each; it
# wins over FUZZ_SECONDS when both are set). The corpus committed in
# fuzz/corpus/<target> is read only: new inputs the fuzzer finds go to a
# scratch directory that is deleted afterwards, so a run never dirties the
# checkout (set FUZZ_KEEP_CORPUS=1 to add them to fuzz/corpus instead).
# Crashes land in fuzz/artifacts/<target> and fail the run.
#   scripts/fuzz.sh                          # all targets, 30 s each
#   FUZZ_SECONDS=3600 scripts/fuzz.sh sip_message
#   FUZZ_TOTAL_SECONDS=900 scripts/fuzz.sh   # 15 minutes over all targets
#
# The properties each target checks live in fuzz/checks/<target>.rs; the
# target in fuzz/fuzz_targets/ only hands libFuzzer's input to them.
#
# When a run finds a crash (fuzz/artifacts/<target>/crash-<sha1>):
#   1. reproduce:  (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run <target> \
#                    artifacts/<target>/crash-<sha1>)
#      and shrink: (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz tmin <target> \
#                    artifacts/<target>/crash-<sha1>)
#   2. keep it:    cp the (minimised) input to
#                    fuzz/regressions/<target>/<short-name-of-the-fault>
#   3. fix the parser; `cargo test --test integration fuzz_regressions`
#      replays every file in fuzz/regressions/<target>/ through the same
#      checks (tests/integration/fuzz_regressions.rs, no libFuzzer needed),
#      so it fails until the fix is in and guards it afterwards.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list 2>/dev/null)
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no targets (is cargo-fuzz installed?)"; exit 1; }
if [ -n "${FUZZ_TOTAL_SECONDS:-}" ]; then
  secs=$(( FUZZ_TOTAL_SECONDS / ${#targets[@]} ))
  [ "$secs" -ge 10 ] || secs=10
else
  secs="${FUZZ_SECONDS:-30}"
fi
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
    echo "fuzz: $t FAILED (crash or build error):"; tail -40 "$log"
    echo "fuzz: see the header of scripts/fuzz.sh to turn the crash into a regression test"
    exit 1
  fi
  grep -E '^Done [0-9]+ runs' "$log" | tail -1 || true
  rm -f "$log"; [ -z "$scratch" ] || rm -rf "$scratch"
done
echo "fuzz: all ${#targets[@]} targets ran ${secs}s each without a crash"

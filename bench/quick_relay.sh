#!/usr/bin/env bash
# Quick, bounded SIP→SIP relay load run of the gateway alone (not the
# side-by-side Kamailio comparison, which issue 7 builds): a sipp UAC sends
# MESSAGE at each offered rate for STEP_S seconds through the gateway to a
# sipp UAS; prints achieved rate, failures, retransmissions, sipp response
# time p50/p99 and the gateway's CPU seconds per 1000 messages and peak RSS.
#
#   bench/quick_relay.sh                    # rates 1000 2000 4000, 15 s each
#   RATES="500 1000" STEP_S=10 bench/quick_relay.sh
# Everything binds 127.0.0.1; every sipp run is bounded by -m and -timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
RATES=${RATES:-"1000 2000 4000"}
STEP_S=${STEP_S:-15}
[ "$STEP_S" -le 60 ] || { echo "STEP_S must be <= 60" >&2; exit 1; }
OUT=${OUT:-target/bench-quick/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
GW_PORT=${GW_PORT:-5460} UAS_PORT=${UAS_PORT:-5490} UAC_PORT=${UAC_PORT:-5481} ADMIN_PORT=${ADMIN_PORT:-9470}
cargo build --release --bin cpim-gateway >/dev/null 2>&1
BIN=target/release/cpim-gateway
cat > "$OUT/gw.toml" <<CFG
[sip]
listen = ["udp://127.0.0.1:$GW_PORT"]
max_transactions = 100000
[gateway]
domains = ["gw.test"]
state_dir = "$OUT/state"
[[peer]]
name = "bench"
addresses = ["127.0.0.1"]
domains = ["sip.test"]
[[route]]
domain = "example.test"
via = "sip:127.0.0.1:$UAS_PORT;transport=udp"
[dns]
enabled = false
[admin]
listen = "127.0.0.1:$ADMIN_PORT"
[log]
level = "warn"
CFG
"$ROOT/$BIN" run --config "$OUT/gw.toml" 2>"$OUT/gw.log" &
GW=$!
trap 'kill $GW $UAS 2>/dev/null || true' EXIT
sleep 0.5
( cd "$OUT" && exec sipp -sf "$ROOT/tests/sipp/uas_message.xml" -i 127.0.0.1 -p "$UAS_PORT" -nostdin -buff_size 4194304 -timeout 3600s >uas.out 2>&1 ) &
UAS=$!
sleep 0.5
ticks() { awk '{print $14+$15}' "/proc/$GW/stat"; }
hz=$(getconf CLK_TCK)
printf '| offered/s | achieved/s | failed | retrans | sipp RT p50 / p99 ms | gateway CPU s per 1000 msg | gateway CPU %% | RSS MB |\n|---|---|---|---|---|---|---|---|\n' | tee "$OUT/table.md"
for r in $RATES; do
  n=$((r * STEP_S)); d="$OUT/rate_$r"; mkdir -p "$d"
  t0=$(ticks); s0=$(date +%s.%N)
  ( cd "$d" && sipp -sf "$ROOT/tests/sipp/uac_message.xml" 127.0.0.1:"$GW_PORT" -i 127.0.0.1 -p "$UAC_PORT" \
      -s bob -key to_domain example.test -key from_domain sip.test -key from_user alice \
      -r "$r" -m "$n" -timeout "$((STEP_S * 3 + 10))s" -nostdin -buff_size 4194304 \
      -trace_stat -stf stat.csv -trace_rtt -rtt_freq 200 >uac.out 2>&1 ) || true
  s1=$(date +%s.%N); t1=$(ticks)
  rss=$(awk '/VmHWM/{printf "%.0f", $2/1024}' "/proc/$GW/status")
  python3 - "$d" "$r" "$n" "$s0" "$s1" "$t0" "$t1" "$hz" "$rss" <<'PY' | tee -a "$OUT/table.md"
import csv, glob, sys
d, r, n, s0, s1, t0, t1, hz, rss = sys.argv[1:]
rows = list(csv.reader(open(glob.glob(d + "/*stat.csv")[0]), delimiter=";"))
h = rows[0]; last = rows[-1]; col = lambda name: int(last[h.index(name)])
ok, failed, retr = col("SuccessfulCall(C)"), col("FailedCall(C)"), col("Retransmissions(C)")
elapsed = float(s1) - float(s0)
rtts = []
for f in glob.glob(d + "/*rtt.csv"):
    for row in list(csv.reader(open(f), delimiter=";"))[1:]:
        try: rtts.append(float(row[1]))
        except (ValueError, IndexError): pass
rtts.sort()
pct = lambda p: rtts[min(len(rtts) - 1, int(p * len(rtts)))] if rtts else float("nan")
cpu = (int(t1) - int(t0)) / int(hz)
print(f"| {r} | {ok / elapsed:.0f} | {failed} | {retr} | {pct(0.5):.2f} / {pct(0.99):.2f} | {cpu / max(ok, 1) * 1000:.3f} | {cpu / elapsed * 100:.0f} | {rss} |")
PY
done
echo "results: $OUT/table.md"

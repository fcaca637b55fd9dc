#!/usr/bin/env bash
# Side-by-side load benchmark: cpim-gateway vs Kamailio 5.6 on this machine.
#
#   bench/run.sh [relay|xmpp|presence|all]          (default: all)
#
#   relay  SIP MESSAGE  sipp UAC -> SUT -> sipp UAS (foreign SIP domain)
#          SUT = gateway (static route)  |  Kamailio t_relay() (stateful)
#   xmpp   SIP MESSAGE  sipp UAC -> SUT -> Prosody (XEP-0114 component)
#                       -> c2s -> bench/xmpp_sink.py (counts deliveries)
#          SUT = gateway, error_window_ms=300 (default) | gateway,
#                error_window_ms=0 | Kamailio xmpp module (patched, see
#                bench/kamailio/build-xmpp-module.sh)
#   presence  SIP watcher cycles (bench/sipp/uac_subscribe_cycle.xml:
#          SUBSCRIBE -> 2xx, NOTIFY -> 200, un-SUBSCRIBE -> 2xx, final
#          NOTIFY -> 200; 1 cycle = 2 SUBSCRIBE + 2 NOTIFY transactions)
#          from PRES_WATCHERS watchers over PRES_PRESENTITIES presentities
#          SUT = gateway as notifier for XMPP users on Prosody (each cycle
#                also sends XMPP subscribe/unsubscribe to Prosody)
#              | Kamailio presence server (presence + presence_xml,
#                db_text, PIDF prefilled by PUBLISH)
#
# The same stepped rates are offered to every SUT of a path in one run,
# interleaved (rate 1: A then B, rate 2: B then A, ...). All SUTs of a path
# run at the same time on their own loopback ports (only one is loaded at a
# time). Results: bench/results/$NAME/table.md (+ raw data beside it).
#
# Knobs (env): STEP_S (20, <= 120)  RATES_RELAY  RATES_XMPP  RATES_PRESENCE
#   (cycles/s)  PRES_PRESENTITIES (20)  PRES_WATCHERS (500)  XMPP_WINDOWS ("300 0")
#   MAX_FAILED_STEPS (1: stop stepping a SUT after that many failing steps)
#   NAME (results dir name, default UTC date-time)  DRAIN_S (10)  SETTLE_S (2)
#   KAM_CHILDREN (4)  KAM_SHM_MB (1024)  GW_MAX_TRANSACTIONS (100000)
#   BUILD (1: cargo build --release first)  KEEP_RTT (0: 1 keeps sipp's
#   per-request response times, gzipped)  KEEP_RUN (0: 1 keeps the temp dir)
#   SKIP_INSTALL (0)  PROBE_RATE (20 MESSAGE/s of bench/sip_probe.py next to
#   the load, for microsecond answer times; 0 = off)
#
# Safety: everything binds and sends to 127.0.0.1 only (ports picked here);
# every load loop is bounded (sipp -m, -timeout, -recv_timeout; sink and
# procmon have their own time caps); only PIDs started by this script are
# stopped, each by its own PID.
set -euo pipefail
BENCH="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$BENCH")"
PY=/usr/bin/python3
WHAT=${1:-all}
case "$WHAT" in relay|xmpp|presence|all) ;; -h|--help) awk 'NR>1 && !/^#/ {exit} NR>1 {print}' "$0"; exit 0 ;;
  *) echo "usage: bench/run.sh [relay|xmpp|presence|all]" >&2; exit 64 ;; esac
STEP_S=${STEP_S:-20}
[[ "$STEP_S" =~ ^[0-9]+$ ]] && [ "$STEP_S" -ge 1 ] && [ "$STEP_S" -le 120 ] || { echo "STEP_S must be 1..120" >&2; exit 64; }
RATES_RELAY=${RATES_RELAY:-"1000 2000 4000 6000 8000 10000 12000 15000 20000"}
RATES_XMPP=${RATES_XMPP:-"500 1000 2000 4000 6000 8000 10000 12000 15000"}
RATES_PRESENCE=${RATES_PRESENCE:-"250 500 1000 1500 2000 3000 4000 6000 8000"}
PRES_PRESENTITIES=${PRES_PRESENTITIES:-20}
PRES_WATCHERS=${PRES_WATCHERS:-500}
XMPP_WINDOWS=${XMPP_WINDOWS:-"300 0"}
MAX_FAILED_STEPS=${MAX_FAILED_STEPS:-1}
DRAIN_S=${DRAIN_S:-10}; [ "$DRAIN_S" -le 60 ] || DRAIN_S=60
SETTLE_S=${SETTLE_S:-2}
KAM_CHILDREN=${KAM_CHILDREN:-4}
KAM_SHM_MB=${KAM_SHM_MB:-1024}
GW_MAX_TRANSACTIONS=${GW_MAX_TRANSACTIONS:-100000}
NAME=${NAME:-$(date -u +%Y%m%d-%H%M%S)}
OUT="$BENCH/results/$NAME"
for r in $RATES_RELAY $RATES_XMPP $RATES_PRESENCE; do
  [[ "$r" =~ ^[0-9]+$ ]] && [ "$r" -ge 1 ] && [ "$r" -le 50000 ] || { echo "rates must be 1..50000 msg/s" >&2; exit 64; }
done
SIPP_OPTS=(-nostdin -buff_size 4194304)
SINK_PW=sinkpass
PROBE_RATE=${PROBE_RATE:-20}

log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

# ---------------------------------------------------------------- install
install_deps() {
  local need=()
  command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
  command -v kamailio >/dev/null 2>&1 || need+=(kamailio)
  [ -e /usr/lib/x86_64-linux-gnu/kamailio/modules/tm.so ] || need+=(kamailio)
  dpkg-query -W -f='${Status}' kamailio-xmpp-modules 2>/dev/null | grep -q "install ok installed" || need+=(kamailio-xmpp-modules)
  [ -e /usr/lib/x86_64-linux-gnu/kamailio/modules/presence.so ] || need+=(kamailio-presence-modules)
  [ -x /usr/bin/prosody ] || need+=(prosody)
  $PY -c 'import slixmpp' >/dev/null 2>&1 || need+=(python3-slixmpp)
  command -v curl >/dev/null 2>&1 || need+=(curl)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    local SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    local made_policy=0
    # package scripts must not start system daemons (they would take 5060/5222)
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
      $SUDO chmod +x /usr/sbin/policy-rc.d; made_policy=1
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    [ "$made_policy" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d
  fi
}

# ---------------------------------------------------------------- processes
STARTED=()
RUN=""
stop_pid() { # PID: TERM, wait <= 10 s, then KILL that PID only
  local p=$1
  kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  for ((i=${#STARTED[@]}-1; i>=0; i--)); do stop_pid "${STARTED[$i]}"; done
  STARTED=()
  if [ -n "$RUN" ] && [ -d "$RUN" ]; then
    if [ "${KEEP_RUN:-0}" = 1 ]; then log "temp dir kept: $RUN"; else rm -rf "$RUN"; fi
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# N ports free for both UDP and TCP on 127.0.0.1, all distinct
pick_ports() {
  $PY - "$1" <<'PY'
import socket, sys
n, got, keep = int(sys.argv[1]), [], []
while len(got) < n:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.1', 0))
    p = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind(('127.0.0.1', p))
    except OSError:
        u.close(); t.close(); continue
    keep += [u, t]; got.append(p)
print(' '.join(map(str, got)))
PY
}

wait_tcp() { # PORT SECONDS
  for _ in $(seq 1 $(($2 * 10))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
wait_udp() { # PORT SECONDS
  for _ in $(seq 1 $(($2 * 10))); do
    ss -lnu 2>/dev/null | awk '{print $4}' | grep -q "^127.0.0.1:$1\$" && return 0
    sleep 0.1
  done
  return 1
}

start_uas() { # PORT DIR
  mkdir -p "$2"
  ( cd "$2" && exec sipp -sf "$ROOT/tests/sipp/uas_message.xml" -i 127.0.0.1 -p "$1" \
      "${SIPP_OPTS[@]}" -timeout 7200s > uas.out 2>&1 ) &
  UAS_PID=$!; STARTED+=("$UAS_PID")
  wait_udp "$1" 10 || { echo "sipp UAS did not start" >&2; exit 1; }
}

gw_config() { # FILE SIP_PORT ADMIN_PORT STATE_DIR [XMPP_COMPONENT XMPP_PORT WINDOW]
  cat > "$1" <<CFG
# generated by bench/run.sh
[sip]
listen = ["udp://127.0.0.1:$2"]
max_transactions = $GW_MAX_TRANSACTIONS

[gateway]
domains = ["gw.test"]
state_dir = "$4"

[[peer]]
name = "bench"
addresses = ["127.0.0.1"]
domains = ["sip.test"]

[[route]]
domain = "example.test"
via = "sip:127.0.0.1:${UAS_PORT:-9};transport=udp"

[dns]
enabled = false

[admin]
listen = "127.0.0.1:$3"

[log]
level = "warn"
CFG
  if [ $# -ge 7 ]; then
    cat >> "$1" <<CFG

[xmpp]
server = "127.0.0.1:$6"
component = "$5"
secret = "cpim-secret"
domains = ["xmpp.test"]
error_window_ms = $7
CFG
  fi
}

start_gateway() { # NAME SIP_PORT ADMIN_PORT [XMPP args...]  -> sets GW_PID
  local n=$1 d="$RUN/$1"; mkdir -p "$d"
  gw_config "$d/gateway.toml" "$2" "$3" "$d/state" "${@:4}"
  "$GW_BIN" check-config --config "$d/gateway.toml" >/dev/null
  "$GW_BIN" run --config "$d/gateway.toml" > "$d/gateway.log" 2>&1 &
  GW_PID=$!; STARTED+=("$GW_PID")
  wait_udp "$2" 10 || { echo "gateway $n did not start:" >&2; tail -20 "$d/gateway.log" >&2; exit 1; }
}

gw_metric() { # ADMIN_PORT NAME
  curl -s --max-time 2 "http://127.0.0.1:$1/metrics" 2>/dev/null | awk -v k="$2" '$1 !~ /^#/ && ($1 == k || $1 == "cpim_gateway_" k) {print $2}' | head -1
}

wait_gw_link() { # ADMIN_PORT NAME
  for _ in $(seq 1 100); do
    [ "$(gw_metric "$1" xmpp_link_up)" = 1 ] && return 0
    sleep 0.1
  done
  echo "gateway $2: XMPP component link did not come up:" >&2; tail -20 "$RUN/$2/gateway.log" >&2; exit 1
}

start_kamailio() { # SIP_PORT [xmpp COMPONENT_PORT | presence]  -> sets KAM_PID
  local d="$RUN/kamailio"; rm -rf "$d"; mkdir -p "$d"
  local so="" defs=() xport=0
  if [ "${2:-}" = xmpp ]; then
    so=$("$BENCH/kamailio/build-xmpp-module.sh")
    defs=(-A WITH_XMPP); xport=$3
  fi
  if [ "${2:-}" = presence ]; then
    defs=(-A WITH_PRESENCE)
    # fresh db_text tables of the presence modules (Debian's templates)
    mkdir -p "$d/dbtext"
    local t
    for t in version presentity active_watchers watchers xcap; do
      cp "/usr/share/kamailio/dbtext/kamailio/$t" "$d/dbtext/$t"
    done
  fi
  sed -e "s#@PORT@#$1#g" -e "s#@CHILDREN@#$KAM_CHILDREN#g" -e "s#@UAS@#127.0.0.1:${UAS_PORT:-9}#g" \
      -e "s#@XMPP_SO@#$so#g" -e "s#@XMPP_PORT@#$xport#g" -e "s#@XMPP_SECRET@#sip-secret#g" -e "s#@RUN@#$d#g" \
      "$BENCH/kamailio/kamailio.cfg.in" > "$d/kamailio.cfg"
  kamailio -c -f "$d/kamailio.cfg" "${defs[@]}" > "$d/check.log" 2>&1 || { cat "$d/check.log" >&2; exit 1; }
  # -DD: stay in the foreground but fork workers; -E: log to stderr
  kamailio -DD -E -f "$d/kamailio.cfg" -P "$d/kamailio.pid" -m "$KAM_SHM_MB" -M 16 "${defs[@]}" \
    > "$d/kamailio.log" 2>&1 < /dev/null &
  KAM_PID=$!; STARTED+=("$KAM_PID")
  wait_udp "$1" 15 || { echo "kamailio did not start:" >&2; tail -20 "$d/kamailio.log" >&2; exit 1; }
}

start_prosody() { # C2S_PORT COMPONENT_PORT  -> sets PROSODY_PID
  local d="$RUN/prosody"; mkdir -p "$d/data"
  cat > "$d/prosody.cfg.lua" <<CFG
-- generated by bench/run.sh (loopback only)
run_as_root = true
daemonize = false
data_path = "$d/data"
pidfile = "$d/prosody.pid"
log = { { levels = { min = "info" }, to = "console" } }
network_backend = "epoll"
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { $1 }
c2s_interfaces = { "127.0.0.1" }
s2s_ports = { }
component_ports = { $2 }
component_interfaces = { "127.0.0.1" }
http_ports = { }
https_ports = { }
c2s_direct_tls_ports = { }
s2s_direct_tls_ports = { }
modules_enabled = { "roster"; "saslauth"; "disco"; "ping" }
modules_disabled = { "s2s"; "offline"; "tls" }
allow_registration = false
authentication = "internal_hashed"
storage = "internal"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
limits = { c2s = { rate = "100mb/s" } }

VirtualHost "xmpp.test"

-- Kamailio's xmpp module
Component "sip.xmpp.test"
  component_secret = "sip-secret"
CFG
  local w
  for w in $XMPP_WINDOWS; do
    printf '\n-- cpim-gateway, error_window_ms=%s\nComponent "cpim%s.xmpp.test"\n  component_secret = "cpim-secret"\n' \
      "$w" "$w" >> "$d/prosody.cfg.lua"
  done
  [ -n "${PRES_USERS:-}" ] && printf '\n-- cpim-gateway, presence path\nComponent "cpimp.xmpp.test"\n  component_secret = "cpim-secret"\n' >> "$d/prosody.cfg.lua"
  local u
  for u in ${SINK_USERS:-} ${PRES_USERS:-}; do
    prosodyctl --config "$d/prosody.cfg.lua" register "$u" xmpp.test "$SINK_PW" >/dev/null 2>&1
  done
  prosody --config "$d/prosody.cfg.lua" > "$d/prosody.log" 2>&1 < /dev/null &
  PROSODY_PID=$!; STARTED+=("$PROSODY_PID")
  wait_tcp "$1" 15 && wait_tcp "$2" 15 || { echo "prosody did not start:" >&2; tail -20 "$d/prosody.log" >&2; exit 1; }
}

start_sink() { # USER DIR TIMEOUT  -> sets SINK_PID
  $PY "$BENCH/xmpp_sink.py" --jid "$1@xmpp.test" --password "$SINK_PW" --port "$C2S_PORT" \
    --progress "$2/.count" --timeout "$3" > "$2/sink.jsonl" 2> "$2/sink.err" &
  SINK_PID=$!; STARTED+=("$SINK_PID")
  for _ in $(seq 1 150); do
    grep -q session_start "$2/sink.jsonl" 2>/dev/null && return 0
    kill -0 "$SINK_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "XMPP sink $1 did not log in:" >&2; cat "$2/sink.err" "$2/sink.jsonl" >&2; exit 1
}

# drop a finished PID from STARTED (so cleanup does not signal a reused PID)
forget() { local p out=(); for p in "${STARTED[@]}"; do [ "$p" = "$1" ] || out+=("$p"); done; STARTED=("${out[@]}"); }

# ---------------------------------------------------------------- one step
# run_step PATH LABEL RATE SUT_PID SUT_PORT TO_USER TO_DOMAIN SINK(0|1)
run_step() {
  local path=$1 label=$2 rate=$3 sut_pid=$4 port=$5 to_user=$6 to_dom=$7 sink=$8
  local d="$OUT/$path/$label/rate_$rate"; rm -rf "$d"; mkdir -p "$d"
  local count=$((rate * STEP_S)) tmo=$((STEP_S * 2 + 20))
  local limit=$((rate * 3 + 100)) rttf=$((rate < 1000 ? (rate < 10 ? 10 : rate) : 1000))
  # the load: MESSAGE (relay, xmpp) or subscription cycles (presence)
  local scen=(-sf "$ROOT/tests/sipp/uac_message.xml" -s "$to_user" -key to_domain "$to_dom"
              -key from_domain sip.test -key from_user alice)
  local probe_args=(--ruri "sip:$to_user@$to_dom")
  if [ "$path" = presence ]; then
    scen=(-sf "$BENCH/sipp/uac_subscribe_cycle.xml" -inf "$RUN/subs.csv" -key to_domain "$to_dom"
          -key from_domain sip.test -key expires 60)
    limit=$((rate * 10 + 100))   # a cycle waits for NOTIFYs: more in flight
    probe_args=(--ruri "sip:$to_user@$to_dom" --method SUBSCRIBE)
  fi
  local groups=(--group "sut=tree:$sut_pid" --group "sipp_uac=file:$d/uac.pid")
  [ -n "${UAS_PID:-}" ] && [ "$path" = relay ] && groups+=(--group "sipp_uas=$UAS_PID")
  [ -n "${PROSODY_PID:-}" ] && [ "$path" != relay ] && groups+=(--group "prosody=$PROSODY_PID")
  SINK_PID=""
  if [ "$sink" = 1 ]; then
    start_sink "$to_user" "$d" $((tmo + DRAIN_S + 30))
    groups+=(--group "sink=$SINK_PID")
  fi
  printf '{"path":"%s","label":"%s","sut":"%s","rate":%d,"step_s":%d,"count":%d,"t_start":%s}\n' \
    "$path" "$label" "${label%%-*}" "$rate" "$STEP_S" "$count" "$(date +%s.%N)" > "$d/meta.json"
  grep '^Udp:' /proc/net/snmp > "$d/udp_snmp_before.txt"
  $PY "$BENCH/procmon.py" --out "$d/procmon.csv" --interval 1 --max-s $((tmo + DRAIN_S + 20)) \
    --until-file "$d/.stop" --ready-file "$d/.monready" "${groups[@]}" &
  local mon=$!; STARTED+=("$mon")
  for _ in $(seq 1 50); do [ -e "$d/.monready" ] && break; sleep 0.05; done
  ( cd "$d" && echo "$BASHPID" > uac.pid && exec sipp "${scen[@]}" "127.0.0.1:$port" \
      -i 127.0.0.1 -p "$UAC_PORT" \
      -r "$rate" -m "$count" -l "$limit" -timeout "${tmo}s" -recv_timeout 10000 \
      "${SIPP_OPTS[@]}" -trace_stat -stf uac_stat.csv -fd 1 -trace_rtt -rtt_freq "$rttf" \
      > uac.out 2>&1 ) &
  local uac=$!; STARTED+=("$uac")
  local probe=""
  if [ "$PROBE_RATE" != 0 ]; then
    $PY "$BENCH/sip_probe.py" --target "127.0.0.1:$port" --lport "$PROBE_PORT" \
      "${probe_args[@]}" --rate "$PROBE_RATE" --duration "$STEP_S" > "$d/probe.json" 2>&1 &
    probe=$!; STARTED+=("$probe")
  fi
  wait "$uac" || true; forget "$uac"
  if [ -n "$probe" ]; then wait "$probe" || true; forget "$probe"; fi
  if [ "$sink" = 1 ]; then
    # delivery drain: until the sink's count stops moving for 2 s (<= DRAIN_S)
    local last=-1 same=0 now
    for _ in $(seq 1 $((DRAIN_S * 5))); do
      now=$(cat "$d/.count" 2>/dev/null || echo 0)
      [ "$now" -ge "$count" ] && break
      if [ "$now" = "$last" ]; then same=$((same + 1)); [ "$same" -ge 10 ] && break; else same=0; fi
      last=$now; sleep 0.2
    done
    stop_pid "$SINK_PID"; forget "$SINK_PID"
  else
    sleep 1   # answers in flight
  fi
  touch "$d/.stop"; wait "$mon" || true; forget "$mon"
  grep '^Udp:' /proc/net/snmp > "$d/udp_snmp_after.txt"
  $PY "$BENCH/analyze.py" step "$d" | tee -a "$OUT/steps.jsonl" >&2
  # keep raw data small
  tail -n 40 "$d/uac.out" > "$d/uac.tail.txt" 2>/dev/null || true
  rm -f "$d/uac.out" "$d/.count" "$d/.stop" "$d/.monready" "$d/uac.pid" "$d"/*.tmp
  [ -s "$d/sink.err" ] || rm -f "$d/sink.err"
  if [ "${KEEP_RTT:-0}" = 1 ]; then gzip -f "$d"/*_rtt.csv 2>/dev/null || true; else rm -f "$d"/*_rtt.csv; fi
  gzip -f "$d/uac_stat.csv" "$d/procmon.csv" 2>/dev/null || true
  $PY -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["pass"] else 1)' "$d/step.json"
}

# run_path PATH RATES SPEC...   SPEC = "LABEL:PID:PORT:TO_USER:TO_DOMAIN:SINK"
run_path() {
  local path=$1 rates=$2; shift 2
  local specs=("$@") n=0 rate
  declare -A failed=()
  for rate in $rates; do
    n=$((n + 1))
    local order=("${specs[@]}")
    if [ $((n % 2)) = 0 ]; then   # alternate who goes first
      order=(); local i; for ((i=${#specs[@]}-1; i>=0; i--)); do order+=("${specs[$i]}"); done
    fi
    local any=0 s
    for s in "${order[@]}"; do
      IFS=: read -r label pid port user dom sink <<<"$s"
      [ "${failed[$label]:-0}" -ge "$MAX_FAILED_STEPS" ] && continue
      any=1
      log "$path / $label / $rate msg/s for ${STEP_S}s"
      if ! run_step "$path" "$label" "$rate" "$pid" "$port" "$user" "$dom" "$sink"; then
        failed[$label]=$(( ${failed[$label]:-0} + 1 ))
      fi
      kill -0 "$pid" 2>/dev/null || { log "$label (pid $pid) DIED during the step"; echo "$label died at $rate msg/s" >> "$OUT/incidents.txt"; failed[$label]=$MAX_FAILED_STEPS; }
      sleep "$SETTLE_S"
    done
    [ "$any" = 1 ] || break
  done
}

# functional check before loading: N messages through each SUT must arrive
smoke() { # PATH LABEL PID PORT USER DOMAIN SINK
  local d="$RUN/smoke-$2"; mkdir -p "$d"
  [ "$7" = 1 ] && start_sink "$5" "$d" 30
  ( cd "$d" && exec sipp -sf "$ROOT/tests/sipp/uac_message.xml" "127.0.0.1:$4" -i 127.0.0.1 -p "$UAC_PORT" \
      -s "$5" -key to_domain "$6" -key from_domain sip.test -key from_user alice -r 20 -m 20 \
      -timeout 20s -recv_timeout 5000 "${SIPP_OPTS[@]}" > uac.out 2>&1 ) || {
    echo "smoke test of $2 failed (sipp):" >&2; tail -30 "$d/uac.out" >&2; ls "$d" >&2; exit 1; }
  if [ "$7" = 1 ]; then
    for _ in $(seq 1 25); do [ "$(cat "$d/.count" 2>/dev/null || echo 0)" -ge 20 ] && break; sleep 0.2; done
    stop_pid "$SINK_PID"; forget "$SINK_PID"
    local got; got=$(cat "$d/.count" 2>/dev/null || echo 0)
    [ "$got" -ge 20 ] || { echo "smoke test of $2: only $got of 20 messages reached the XMPP sink" >&2; cat "$d/sink.jsonl" >&2; exit 1; }
  fi
  log "smoke $2: 20/20 ok"
}

# ---------------------------------------------------------------- machine
env_info() {
  local gitc; gitc=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
  git -C "$ROOT" diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || gitc="$gitc (+ uncommitted changes in src/)"
  {
    echo "- date (UTC): $(date -u +%FT%TZ)"
    echo "- load average at start: $LOAD_START (uptime: $(uptime | sed 's/.*up/up/'))"
    echo "- cpus: $(nproc) × $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "- kernel: $(uname -srm)"
    echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "- UDP buffers: net.core.rmem_max=$(cat /proc/sys/net/core/rmem_max) rmem_default=$(cat /proc/sys/net/core/rmem_default)"
    echo "- gateway: cpim-gateway $gitc, $("$GW_BIN" --version 2>/dev/null | awk '{print $2}'), $(rustc --version 2>/dev/null | awk '{print $1" "$2}')"
    echo "- kamailio: $(kamailio -v 2>/dev/null | head -1 | sed 's/version: //') (children=$KAM_CHILDREN, shm ${KAM_SHM_MB} MB, xmpp.so patched: bench/kamailio/xmpp-null-atts.patch)"
    echo "- prosody: $(dpkg-query -W -f='${Version}' prosody 2>/dev/null)   sipp: $(sipp -v 2>&1 | grep -o 'SIPp v[^ ,]*' | head -1)   slixmpp: $($PY -c 'import slixmpp; print(slixmpp.__version__)' 2>/dev/null)"
    echo "- STEP_S=$STEP_S  RATES_RELAY=\"$RATES_RELAY\"  RATES_XMPP=\"$RATES_XMPP\"  RATES_PRESENCE=\"$RATES_PRESENCE\"  XMPP_WINDOWS=\"$XMPP_WINDOWS\"  MAX_FAILED_STEPS=$MAX_FAILED_STEPS  GW_MAX_TRANSACTIONS=$GW_MAX_TRANSACTIONS"
  } > "$OUT/env.md"
}

# ---------------------------------------------------------------- main
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
[ "${SKIP_INSTALL:-0}" = 1 ] || install_deps
case "$WHAT" in xmpp|all) "$BENCH/kamailio/build-xmpp-module.sh" >/dev/null ;; esac
if [ "${BUILD:-1}" = 1 ]; then
  log "cargo build --release"
  (cd "$ROOT" && cargo build --release --bin cpim-gateway >/dev/null 2>&1) || { (cd "$ROOT" && cargo build --release --bin cpim-gateway); exit 1; }
fi
GW_BIN=${GW_BIN:-$ROOT/target/release/cpim-gateway}
[ -x "$GW_BIN" ] || { echo "no gateway binary at $GW_BIN" >&2; exit 1; }
mkdir -p "$OUT"
RUN=$(mktemp -d /tmp/cpim-gw-bench.XXXXXX)
env_info
log "results: $OUT   (load average at start: $LOAD_START)"
read -r UAC_PORT PROBE_PORT <<<"$(pick_ports 2)"
PRES_USERS=""
if [ "$WHAT" = presence ] || [ "$WHAT" = all ]; then
  PRES_USERS=$(seq -f 'p%g' 0 $((PRES_PRESENTITIES - 1)) | tr '\n' ' ')
fi

if [ "$WHAT" = relay ] || [ "$WHAT" = all ]; then
  read -r UAS_PORT GW_PORT GW_ADMIN KAM_PORT <<<"$(pick_ports 4)"
  start_uas "$UAS_PORT" "$RUN/uas"
  start_gateway gw-relay "$GW_PORT" "$GW_ADMIN"; GW_RELAY_PID=$GW_PID
  start_kamailio "$KAM_PORT"; KAM_RELAY_PID=$KAM_PID
  smoke relay gateway "$GW_RELAY_PID" "$GW_PORT" bob example.test 0
  smoke relay kamailio "$KAM_RELAY_PID" "$KAM_PORT" bob example.test 0
  run_path relay "$RATES_RELAY" \
    "gateway:$GW_RELAY_PID:$GW_PORT:bob:example.test:0" \
    "kamailio:$KAM_RELAY_PID:$KAM_PORT:bob:example.test:0"
  cp "$RUN/gw-relay/gateway.log" "$OUT/relay/gateway.log" 2>/dev/null || true
  cp "$RUN/kamailio/kamailio.log" "$OUT/relay/kamailio.log" 2>/dev/null || true
  for p in "$KAM_RELAY_PID" "$GW_RELAY_PID" "$UAS_PID"; do stop_pid "$p"; forget "$p"; done
  UAS_PID=""
fi

if [ "$WHAT" = xmpp ] || [ "$WHAT" = all ]; then
  SINK_USERS="sinkkam"
  for w in $XMPP_WINDOWS; do SINK_USERS="$SINK_USERS sinkgw$w"; done
  read -r C2S_PORT COMP_PORT KAM_PORT <<<"$(pick_ports 3)"
  start_prosody "$C2S_PORT" "$COMP_PORT"
  specs=()
  for w in $XMPP_WINDOWS; do
    read -r p a <<<"$(pick_ports 2)"
    start_gateway "gw-xmpp-w$w" "$p" "$a" "cpim$w.xmpp.test" "$COMP_PORT" "$w"
    wait_gw_link "$a" "gw-xmpp-w$w"
    specs+=("gateway-w$w:$GW_PID:$p:sinkgw$w:xmpp.test:1")
  done
  start_kamailio "$KAM_PORT" xmpp "$COMP_PORT"
  for _ in $(seq 1 50); do grep -q 'sip.xmpp.test.*authenticated\|authenticated.*sip.xmpp.test' "$RUN/prosody/prosody.log" && break; sleep 0.2; done
  specs+=("kamailio:$KAM_PID:$KAM_PORT:sinkkam:xmpp.test:1")
  for s in "${specs[@]}"; do IFS=: read -r l pid port user dom sink <<<"$s"; smoke xmpp "$l" "$pid" "$port" "$user" "$dom" 1; done
  run_path xmpp "$RATES_XMPP" "${specs[@]}"
  mkdir -p "$OUT/xmpp"
  for w in $XMPP_WINDOWS; do cp "$RUN/gw-xmpp-w$w/gateway.log" "$OUT/xmpp/gateway-w$w.log" 2>/dev/null || true; done
  cp "$RUN/kamailio/kamailio.log" "$OUT/xmpp/kamailio.log" 2>/dev/null || true
  tail -n 200 "$RUN/prosody/prosody.log" > "$OUT/xmpp/prosody.log.tail" 2>/dev/null || true
  # the SUTs of this path stop here (Prosody stays for the presence path)
  for s in "${specs[@]}"; do IFS=: read -r _ pid _ <<<"$s"; stop_pid "$pid"; forget "$pid"; done
fi

# ---------------------------------------------------------------- presence
if [ "$WHAT" = presence ] || [ "$WHAT" = all ]; then
  # watcher x presentity pairs, one per line (sipp -inf, SEQUENTIAL)
  { echo SEQUENTIAL
    for ((w=0; w<PRES_WATCHERS; w++)); do for ((p=0; p<PRES_PRESENTITIES; p++)); do echo "p$p;w$w"; done; done
  } > "$RUN/subs.csv"
  { echo SEQUENTIAL; for ((p=0; p<PRES_PRESENTITIES; p++)); do echo "p$p"; done; } > "$RUN/presentities.csv"
  if [ -z "${PROSODY_PID:-}" ]; then
    read -r C2S_PORT COMP_PORT <<<"$(pick_ports 2)"
    start_prosody "$C2S_PORT" "$COMP_PORT"
  fi
  read -r GW_PORT GW_ADMIN KAM_PORT PUB_PORT <<<"$(pick_ports 4)"
  # the gateway as notifier for XMPP users p0.. (window 0: presence does not use it)
  start_gateway gw-presence "$GW_PORT" "$GW_ADMIN" cpimp.xmpp.test "$COMP_PORT" 0; GW_PRES_PID=$GW_PID
  wait_gw_link "$GW_ADMIN" gw-presence
  start_kamailio "$KAM_PORT" presence; KAM_PRES_PID=$KAM_PID
  # Kamailio's presentities get a PIDF document each (1 h)
  ( cd "$RUN/kamailio" && exec sipp -sf "$BENCH/sipp/uac_publish_inf.xml" "127.0.0.1:$KAM_PORT" -i 127.0.0.1 \
      -p "$PUB_PORT" -inf "$RUN/presentities.csv" -key to_domain sip.test -key expires 3600 \
      -key basic open -key note "bench presentity" -r 50 -m "$PRES_PRESENTITIES" -timeout 30s \
      "${SIPP_OPTS[@]}" > publish.out 2>&1 ) || { echo "PUBLISH prefill of Kamailio failed:" >&2; tail -30 "$RUN/kamailio/publish.out" >&2; exit 1; }
  pres_smoke() { # LABEL PORT DOMAIN
    local d="$RUN/smoke-presence-$1"; mkdir -p "$d"
    ( cd "$d" && exec sipp -sf "$BENCH/sipp/uac_subscribe_cycle.xml" "127.0.0.1:$2" -i 127.0.0.1 -p "$UAC_PORT" \
        -inf "$RUN/subs.csv" -key to_domain "$3" -key from_domain sip.test -key expires 60 -r 20 -m 20 \
        -timeout 30s -recv_timeout 10000 "${SIPP_OPTS[@]}" > uac.out 2>&1 ) || {
      echo "presence smoke test of $1 failed (sipp):" >&2; tail -30 "$d/uac.out" >&2; exit 1; }
    log "smoke presence $1: 20/20 cycles ok"
  }
  pres_smoke gateway "$GW_PORT" xmpp.test
  pres_smoke kamailio "$KAM_PORT" sip.test
  run_path presence "$RATES_PRESENCE" \
    "gateway:$GW_PRES_PID:$GW_PORT:p0:xmpp.test:0" \
    "kamailio:$KAM_PRES_PID:$KAM_PORT:p0:sip.test:0"
  mkdir -p "$OUT/presence"
  cp "$RUN/gw-presence/gateway.log" "$OUT/presence/gateway.log" 2>/dev/null || true
  cp "$RUN/kamailio/kamailio.log" "$OUT/presence/kamailio.log" 2>/dev/null || true
fi

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
echo "- load average at end: $LOAD_END" >> "$OUT/env.md"
# the logs are only useful when they say something; keep them small
find "$OUT" -name '*.log' -size +200k -exec sh -c 'tail -c 200000 "$1" > "$1.tail" && rm "$1"' _ {} \;
{
  echo "# cpim-gateway vs Kamailio, side by side ($NAME)"
  echo
  cat "$OUT/env.md"
  [ "$WHAT" = presence ] || [ "$WHAT" = all ] && echo "- presence: one cycle = SUBSCRIBE→2xx, NOTIFY→200, un-SUBSCRIBE→2xx, NOTIFY(terminated)→200 from $PRES_WATCHERS watchers over $PRES_PRESENTITIES presentities; rates are cycles/s (×2 SUBSCRIBE/s); the gateway's presentities are XMPP users on Prosody (each cycle also crosses to Prosody as subscribe/unsubscribe), Kamailio's are PUBLISHed PIDF documents; the probe sends fetches (SUBSCRIBE Expires: 0)"
  [ -s "$OUT/incidents.txt" ] && { echo; echo "**Incidents:**"; sed 's/^/- /' "$OUT/incidents.txt"; }
  echo
  echo "Sustained = highest offered rate whose ${STEP_S} s step (and every lower step) had < 1 % failed,"
  echo "< 1 % retransmitted, ≥ 95 % of the offered rate achieved and, SIP→XMPP, < 1 % lost at the XMPP sink."
  echo "R = the highest rate both systems passed (equal offered load for the latency and CPU columns)."
  echo "SIP answer time = bench/sip_probe.py (${PROBE_RATE}/s next to the load, µs resolution; sipp's own RT, in the per-step table, is quantised);"
  echo "e2e XMPP = sipp send time (in the body) → sink receive time. CPU s per 1000 msg = SUT CPU seconds over the step ÷ answered MESSAGEs × 1000."
  echo
  $PY "$BENCH/analyze.py" table "$OUT"
} > "$OUT/table.md"
echo
cat "$OUT/table.md"
echo
log "written: $OUT/table.md"

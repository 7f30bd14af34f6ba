#!/usr/bin/env bash
# One address trying to take the relay down (tests/tools/conn_flood.c): from 127.0.0.3, 2,000
# QUIC connections, 200 of them joining room x with throwaway identities, the rest idle. Meanwhile
# two users from 127.0.0.1 join room x within 2 s and one records the other's 440 Hz tone at the
# level sent. The relay keeps one address to its share (--max-per-address: 16 sessions, 8 in one
# room, 64 connections), closes connections that do not join within 10 s, and its memory stays
# bounded. The same with featherChat auth on (the flood has no tokens).
set -euo pipefail
RELAY=$1 CLIENT=$2 FLOOD=$3 TONES=$4 AUTHSRV=$5
source "$(dirname "$0")/lib.sh"
fp() { "$CLIENT" identity new --identity "$1" | grep '^fingerprint' | cut -d' ' -f2 | tr : -; }
A=$(fp a.id)
B=$(fp b.id)

# run_under_flood NAME [A_TOKEN B_TOKEN]: the flood, then the two users; checks and reports
run_under_flood() {
  local name=$1 ta=${2:-} tb=${3:-}
  "$FLOOD" "$ADDR" "$FP" 127.0.0.3 x 2000 200 14 > "$name.flood" 2>&1 &
  local flood=$!
  PIDS+=("$flood")
  sleep 3 # the flood is at its height: the relay holds all it lets one address have
  local rss0 t0 joined
  rss0=$(awk '/VmRSS/ { print $2 }' "/proc/$RELAY_PID/status")
  t0=$(date +%s.%N)
  "$CLIENT" --relay-fp "$FP" --identity b.id --room x ${tb:+--token "$tb"} --record "$name.wav" \
    --duration 7 "$ADDR" > "$name.b.out" 2>&1 &
  local b=$!
  PIDS+=("$b")
  "$CLIENT" --relay-fp "$FP" --identity a.id --room x ${ta:+--token "$ta"} --send-tone 5 \
    --duration 6.5 "$ADDR" > "$name.a.out" 2>&1 &
  local a=$!
  PIDS+=("$a")
  wait_for 5 "$name.b.out" "room has" || exit 1
  joined=$(awk -v now="$(date +%s.%N)" -v t0="$t0" 'BEGIN { printf "%.2f", now - t0 }')
  wait "$a" "$b"
  local rss1
  rss1=$(awk '/VmRSS/ { print $2 }' "/proc/$RELAY_PID/status")
  wait "$flood"
  cat "$name.b.out" "$name.flood"
  local level
  level=$("$TONES" "$name.wav" 2 6 440 | cut -d' ' -f2)
  echo "$name: B joined after $joined s, hears A's 440 Hz at $level dBFS; relay RSS ${rss0} kB" \
       "during the flood, ${rss1} kB after the call"
  awk -v j="$joined" 'BEGIN { exit !(j < 2.0) }'
  awk -v l="$level" 'BEGIN { exit !(l > -14 && l < -8) }'  # sent at -10.5
  if ldd "$RELAY" | grep -q libasan; then
    echo "$name: relay RSS not judged under ASan (its shadow memory and quarantine)"
  else
    [ "$rss1" -lt 65536 ]
  fi
}

start_relay "$RELAY"
run_under_flood open
grep -q '"joined": [0-8],' open.flood        # 8 in one room from one address, no more
for m in join_per_address per_address_refused join_deadline; do
  v=$(metric "$METRICS" "wzp_relay_${m}_total")
  echo "wzp_relay_${m}_total $v"
  [ "$v" -gt 0 ]
done
kill -TERM "$RELAY_PID"
wait "$RELAY_PID" || true

/usr/bin/python3 "$AUTHSRV" auth.port 60 &
PIDS+=("$!")
wait_for 5 auth.port "[0-9]"
RELAY_OUT=relay2.out start_relay "$RELAY" --auth-url "http://127.0.0.1:$(cat auth.port)/v1/auth/validate"
run_under_flood auth "valid:$A:alice" "valid:$B:bob"
grep -q '"joined": 0,' auth.flood             # no token, no session
echo "one address: ok"

#!/usr/bin/env bash
# featherChat token auth against a real local HTTP server (tests/tools/auth_server.py): valid
# tokens join and talk; invalid, expired, slow (beyond --auth-timeout), another identity's, one
# vouched for but naming nobody, and missing tokens are refused with their own log lines and counted in
# wzp_relay_auth_attempts_total; an auth server that is down refuses too. While dozens of
# token checks hang on the slow server, the call in progress keeps its audio.
set -euo pipefail
RELAY=$1 CLIENT=$2 AUTHSRV=$3 TONES=$4
source "$(dirname "$0")/lib.sh"
/usr/bin/python3 "$AUTHSRV" auth.port 90 &
PIDS+=("$!")
wait_for 5 auth.port "[0-9]"
URL=http://127.0.0.1:$(cat auth.port)/v1/auth/validate
start_relay "$RELAY" --auth-url "$URL" --auth-timeout 1
fp() { "$CLIENT" identity new --identity "$1" | grep '^fingerprint' | cut -d' ' -f2 | tr : -; }
A=$(fp a.id)
B=$(fp b.id)
fp c.id > /dev/null

# B listens, A talks: both with valid tokens
"$CLIENT" --relay-fp "$FP" --identity b.id --room x --token "valid:$B:bob" --duration 17 \
  --record b.wav "$ADDR" > b.out 2>&1 &
B_PID=$!
PIDS+=("$B_PID")
sleep 0.5
"$CLIENT" --relay-fp "$FP" --identity a.id --room x --token "valid:$A:alice" --send-tone 14 \
  --duration 15 "$ADDR" > a.out 2>&1 &
A_PID=$!
PIDS+=("$A_PID")

# meanwhile, auth load: 32 clients whose tokens hang on the auth server past the timeout
sleep 2
for i in $(seq 16); do
  for j in 1 2; do
    "$CLIENT" --relay-fp "$FP" --identity "load$i$j.id" --room y --token "slow:3:valid:$A:x" \
      --duration 5 "$ADDR" > "load$i$j.out" 2>&1 &
    PIDS+=("$!")
  done
  sleep 0.5
done
wait "$A_PID" "$B_PID"
LEVELS=$(for t in $(seq 3 13); do "$TONES" b.wav "$t" $((t + 1)) 440 | cut -d' ' -f2; done)
echo "B hears A's 440 Hz during the auth load, per second from t = 3 s:" $LEVELS
[ "$(echo "$LEVELS" | awk '$1 < -13 || $1 > -8' | wc -l)" -eq 0 ]
TIMEOUTS=$(grep -c "no answer from the auth server in 1000 ms" relay.out)
echo "auth checks that timed out meanwhile: $TIMEOUTS"
[ "$TIMEOUTS" -ge 30 ]

# refusals, each with its reason
refused() { # TOKEN EXPECTED_REASON
  run_rc "$CLIENT" --relay-fp "$FP" --identity c.id --room x ${1:+--token "$1"} --duration 5 \
    "$ADDR" > c.out 2>&1
  [ "$RC" = 3 ] || { echo "token '$1': exit $RC"; cat c.out; exit 1; }
  grep -q "the relay refused us: auth refused: $2" c.out || { cat c.out; exit 1; }
  grep -q "wzp-relay: auth refused: $2" relay.out
  echo "token '$1': refused: $2"
}
refused nope "token invalid: unknown token"
refused expired "token expired"
refused "slow:3:valid:$A:x" "no answer from the auth server in 1000 ms"
refused "valid:$A:alice" "the token belongs to another identity"
refused "valid::mallory" "the auth server vouched for the token but named no identity"
refused "" "this relay needs a featherChat token"
grep "wzp-relay: auth" relay.out | sort | uniq -c | sort -rn
for r in ok:2 invalid:1 expired:1 mismatch:1 missing:1; do
  v=$(metric "$METRICS" "wzp_relay_auth_attempts_total{result=\"${r%:*}\"}")
  echo "wzp_relay_auth_attempts_total{result=\"${r%:*}\"} $v"
  [ "$v" = "${r#*:}" ]
done
v=$(metric "$METRICS" 'wzp_relay_auth_attempts_total{result="timeout"}')
[ "$v" = $((TIMEOUTS + 1)) ]

# the auth server down: refused, not admitted
RELAY_OUT=relay2.out start_relay "$RELAY" --auth-url http://127.0.0.1:1/v1/auth/validate
run_rc "$CLIENT" --relay-fp "$FP" --identity c.id --room x --token "valid:$A:a" --duration 5 \
  "$ADDR" > c.out 2>&1
[ "$RC" = 3 ]
grep -q "the relay refused us: auth refused: auth server unreachable" c.out
grep -q "wzp-relay: auth refused: auth server unreachable" relay2.out
[ "$(metric "$METRICS" 'wzp_relay_auth_attempts_total{result="unreachable"}')" = 1 ]
echo "auth: ok"

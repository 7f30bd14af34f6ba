#!/usr/bin/env bash
# Every way a call can fail to start ends with a clear message and its exit code:
# a full room (3, "room full"), one identity on too many devices (3), a relay that does not answer (4, "unreachable", after the 10 s
# QUIC handshake timeout; "the call never started" when --duration ends first: it exited 0). (A certificate mismatch and an unreadable file: call_tones.sh;
# a changed certificate: tofu.sh.)
set -euo pipefail
RELAY=$1 CLIENT=$2
source "$(dirname "$0")/lib.sh"
start_relay "$RELAY" --max-per-room 1

"$CLIENT" --relay-fp "$FP" --identity a.id --room x --duration 10 "$ADDR" > a.out 2>&1 &
PIDS+=("$!")
wait_for 5 a.out "room has 1 member"
run_rc "$CLIENT" --relay-fp "$FP" --identity b.id --room x --duration 5 "$ADDR" > b.out 2>&1
cat b.out
[ "$RC" = 3 ] && grep -q "the relay refused us: .*room full" b.out

kill -TERM "$RELAY_PID"
wait "$RELAY_PID" || true

# one identity on more devices than --max-per-identity allows (2, at most one of them in a
# room): two devices in rooms x and y join, a third is refused (3, "too many sessions of your
# identity"; three sessions from one address are far below the per-address limit of 16)
RELAY_OUT=relay2.out start_relay "$RELAY" --max-per-identity 2
"$CLIENT" --relay-fp "$FP" --identity p.id --room x --duration 10 "$ADDR" > p1.out 2>&1 &
PIDS+=("$!")
wait_for 5 p1.out "room has 1 member"
"$CLIENT" --relay-fp "$FP" --identity p.id --room y --duration 10 "$ADDR" > p2.out 2>&1 &
PIDS+=("$!")
wait_for 5 p2.out "room has 1 member"
run_rc "$CLIENT" --relay-fp "$FP" --identity p.id --room z --duration 5 "$ADDR" > p3.out 2>&1
cat p3.out
[ "$RC" = 3 ] && grep -q "the relay refused us: .*too many sessions of your identity" p3.out
curl -s "$METRICS" | grep "^wzp_relay_join_per_identity_total 1$"
grep -q "join refused: too many sessions of one identity" relay2.out
kill -TERM "$RELAY_PID"
wait "$RELAY_PID" || true

# a port where nothing listens: the relay's own port, once the relay is gone
START=$(date +%s)
run_rc "$CLIENT" --relay-fp "$FP" --identity b.id --room x --duration 30 "$ADDR" \
  > c.out 2>&1
cat c.out
echo "gave up after $(( $(date +%s) - START )) s"
[ "$RC" = 4 ] && grep -q "the relay at $ADDR is unreachable" c.out
# a call shorter than the handshake timeout: not a silent success
run_rc "$CLIENT" --relay-fp "$FP" --identity b.id --room x --duration 1 "$ADDR" > d.out 2>&1
cat d.out
[ "$RC" = 4 ] && grep -q "the call never started: no answer from the relay at $ADDR in 1.0 s" d.out
echo "client errors: ok"

#!/usr/bin/env bash
# Every way a call can fail to start ends with a clear message and its exit code:
# a full room (3, "room full"), a relay that does not answer (4, "unreachable", after the 10 s
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

# a port where nothing listens: the relay's own port, once the relay is gone
kill -TERM "$RELAY_PID"
wait "$RELAY_PID" || true
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

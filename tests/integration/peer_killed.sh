#!/usr/bin/env bash
# A member killed with SIGKILL (no hang-up, no CONNECTION_CLOSE) is cleaned up: the relay drops
# it once it has been silent for the session idle time (15 s: no media, keep-alive or signal),
# tells the room, and the survivor — listening only, so alive by its keep-alives alone for as
# long — keeps its call.
set -euo pipefail
RELAY=$1 CLIENT=$2
source "$(dirname "$0")/lib.sh"
start_relay "$RELAY"

"$CLIENT" --relay-fp "$FP" --identity a.id --room x --duration 120 "$ADDR" > a.out 2>&1 &
A_PID=$!
PIDS+=("$A_PID")
"$CLIENT" --relay-fp "$FP" --identity b.id --room x --duration 120 "$ADDR" > b.out 2>&1 &
B_PID=$!
PIDS+=("$B_PID")
wait_for 10 b.out "keys with .* ready"
kill -KILL "$A_PID"
KILLED=$(date +%s)
# bounded wait: the session idle time is 15 s (QUIC's own 30 s idle timeout is the backstop)
for _ in $(seq 300); do grep -q "(idle: .*) sessions=1" relay.out && break; sleep 0.1; done
cat relay.out b.out
grep -q "left room=.* (idle: no media or keep-alive) sessions=1" relay.out
echo "relay dropped the killed member after $(( $(date +%s) - KILLED )) s"
for _ in $(seq 20); do [ "$(grep -c "room has 1 member" b.out)" -ge 1 ] && break; sleep 0.1; done
tail -1 b.out | grep -q "room has 1 member(s)"   # the survivor was told
A_FP=$(grep -o "new identity [0-9a-f:]*" a.out | cut -d' ' -f3)
[ -n "$A_FP" ] && grep -q "$A_FP left" b.out      # and who left
kill -0 "$B_PID"                                 # and is still in its call
kill -TERM "$B_PID" "$RELAY_PID"
wait "$RELAY_PID" || true
echo "killed peer cleaned up: ok"

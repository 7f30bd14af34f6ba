#!/usr/bin/env bash
# The relay crashes (SIGKILL: no CONNECTION_CLOSE) and comes back on the same address with the
# same identity. Its stateless-reset key is derived from that identity, so the first QUIC packet
# a client sends to it (a keep-alive within 5 s) is answered with a stateless reset: the client
# learns the call is gone within seconds and says so, instead of waiting out QUIC's 30 s idle
# timeout.
set -euo pipefail
RELAY=$1 CLIENT=$2
source "$(dirname "$0")/lib.sh"
start_relay "$RELAY"

"$CLIENT" --relay-fp "$FP" --identity a.id --room x --duration 120 "$ADDR" > a.out 2>&1 &
A_PID=$!
PIDS+=("$A_PID")
wait_for 10 a.out "room has 1 member"
kill -KILL "$RELAY_PID"
wait "$RELAY_PID" 2>/dev/null || true
"$RELAY" --listen "$ADDR" --identity relay-id --metrics-listen 127.0.0.1:0 > relay2.out 2>&1 &
PIDS+=("$!")
wait_for 5 relay2.out "^TLS fingerprint: $FP" # the same identity, the same address
RESTARTED=$(date +%s%N)
run_rc wait "$A_PID"                        # bounded: the keep-alive comes within 5 s
ELAPSED_MS=$(( ($(date +%s%N) - RESTARTED) / 1000000 ))
cat a.out
echo "client exit code $RC, $ELAPSED_MS ms after the relay came back"
[ "$RC" -eq 4 ]
grep -q "connection closed: the peer has lost this connection (stateless reset" a.out
grep -q "the relay restarted and no longer knows this call" a.out
[ "$ELAPSED_MS" -lt 8000 ]                   # not QUIC's 30 s idle timeout
echo "relay restart noticed: ok"

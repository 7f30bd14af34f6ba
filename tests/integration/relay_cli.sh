#!/usr/bin/env bash
# wzp-relay as an operator runs it: first start creates a private identity and prints the
# address and TLS fingerprint; a restart keeps the fingerprint; SIGTERM stops it cleanly; a bad
# address is a clear error.
set -euo pipefail
RELAY=$1
DIR=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT

start() {
  "$RELAY" --listen 127.0.0.1:0 --identity "$DIR/id" --metrics-port 0 > "$DIR/out" 2>&1 &
  PID=$!
  for _ in $(seq 50); do
    grep -q "^TLS fingerprint" "$DIR/out" && return 0
    sleep 0.1
  done
  echo "relay did not start:"; cat "$DIR/out"; exit 1
}
stop() {
  kill -TERM "$PID"
  wait "$PID"
  PID=
}

start
grep -q "listening on 127.0.0.1:[0-9]* (UDP, QUIC)" "$DIR/out"
fp1=$(grep "^TLS fingerprint" "$DIR/out" | cut -d' ' -f3)
[[ "$fp1" =~ ^([0-9a-f]{2}:){31}[0-9a-f]{2}$ ]]
[ "$(stat -c %a "$DIR/id")" = 600 ]
stop
grep -q "shutting down" "$DIR/out"

start
fp2=$(grep "^TLS fingerprint" "$DIR/out" | cut -d' ' -f3)
[ "$fp1" = "$fp2" ] || { echo "fingerprint changed across restart"; exit 1; }
stop

if "$RELAY" --listen nonsense --identity "$DIR/id" > "$DIR/out" 2>&1; then
  echo "accepted a bad address"; exit 1
fi
grep -q "cannot listen on nonsense" "$DIR/out"
# a session idle time shorter than two keep-alives would drop live listeners: usage error
set +e
"$RELAY" --session-idle 1 --identity "$DIR/id" > "$DIR/out" 2>&1
rc=$?
set -e
[ "$rc" = 2 ] && grep -q "session-idle" "$DIR/out"
echo "relay CLI: ok"

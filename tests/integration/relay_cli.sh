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

# the configuration file: its keys apply, flags win over them
cat > "$DIR/good.conf" <<EOF
listen_addr = "127.0.0.1:1";   # overridden by --listen below
max_sessions = 7;
metrics_listen = "127.0.0.1:0";
EOF
"$RELAY" -c "$DIR/good.conf" --listen 127.0.0.1:0 --identity "$DIR/id" > "$DIR/out" 2>&1 &
PID=$!
for _ in $(seq 50); do grep -q "^(Ctrl-C" "$DIR/out" && break; sleep 0.1; done
grep -q "listening on 127.0.0.1:[0-9]* (UDP" "$DIR/out"
grep -q "^metrics: http://127.0.0.1:[0-9]*/metrics" "$DIR/out"
stop
# errors name the file and line, and the relay does not start
bad() { # EXPECTED_MESSAGE, config on stdin
  cat > "$DIR/bad.conf"
  set +e
  "$RELAY" -c "$DIR/bad.conf" --identity "$DIR/id" --metrics-port 0 --session-idle 1 > "$DIR/out" 2>&1
  rc=$?
  set -e
  [ "$rc" = 2 ] && grep -q -- "$1" "$DIR/out" || { echo "expected '$1', exit 2:"; cat "$DIR/out"; exit 1; }
  cat "$DIR/out"
}
printf 'max_sessions = 5;\nlisten_adr = "127.0.0.1:4433";\n' |
  bad "configuration error: $DIR/bad.conf:2: listen_adr: unknown key"
printf '\n\nlisten_addr = "localhost:4433";\n' |
  bad "bad.conf:3: listen_addr: not an address of the form IP:port"
printf 'probe_targets = (\n  { addr = "127.0.0.1:4433";\n    fingerprint = "12:34"; }\n);\n' |
  bad "bad.conf:3: fingerprint: not a certificate fingerprint"
printf 'max_sessions = 0;\n' | bad "bad.conf:1: max_sessions: out of range"
printf 'max_sessions = 5;\nmax_per_room = = 3;\n' | bad "bad.conf:2: syntax error"
printf 'ws_port = 8080;\n' | bad "bad.conf:1: ws_port: not supported by this relay yet"
set +e
"$RELAY" -c "$DIR/missing.conf" > "$DIR/out" 2>&1
rc=$?
set -e
[ "$rc" = 2 ] && grep -q "missing.conf: cannot read the file" "$DIR/out"

# the shipped example configuration and systemd unit are valid
ETC=$(dirname "$0")/../../etc
"$RELAY" -c "$ETC/wzp-relay.conf" --listen 127.0.0.1:0 --identity "$DIR/id" --metrics-port 0 \
  > "$DIR/out" 2>&1 &
PID=$!
for _ in $(seq 50); do grep -q "^(Ctrl-C" "$DIR/out" && break; sleep 0.1; done
grep -q "listening on 127.0.0.1:" "$DIR/out"
stop
sed "s|/usr/local/bin/wzp-relay|$RELAY|" "$ETC/wzp-relay.service" > "$DIR/wzp-relay.service"
if command -v systemd-analyze > /dev/null; then
  systemd-analyze verify "$DIR/wzp-relay.service"
  echo "systemd unit: verified"
fi
"$RELAY" --help | grep -q -- "--config FILE"
echo "relay CLI: ok"


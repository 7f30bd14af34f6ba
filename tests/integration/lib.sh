# Shared by the integration tests: a scratch directory, cleanup of what we started (by PID) and
# a relay on a free loopback port.
DIR=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "${WZP_KEEP_TEST_DIR:-}" ]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
cd "$DIR"

# run_rc CMD...: run a command expected to fail; its exit code goes to RC.
run_rc() { set +e; "$@"; RC=$?; set -e; }

# start_relay RELAY_BINARY: sets RELAY_PID, PORT, FP (its TLS fingerprint) and ADDR.
start_relay() {
  "$1" --listen 127.0.0.1:0 --identity relay-id > relay.out 2>&1 &
  RELAY_PID=$!
  PIDS+=("$RELAY_PID")
  for _ in $(seq 50); do grep -q "^TLS fingerprint" relay.out && break; sleep 0.1; done
  if ! grep -q "^TLS fingerprint" relay.out; then echo "relay did not start:"; cat relay.out; exit 1; fi
  PORT=$(grep -o "listening on 127.0.0.1:[0-9]*" relay.out | cut -d: -f2)
  FP=$(grep "^TLS fingerprint" relay.out | cut -d' ' -f3)
  ADDR=127.0.0.1:$PORT
}

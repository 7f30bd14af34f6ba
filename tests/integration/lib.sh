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

# wait_for SECONDS FILE REGEX: poll (every 0.1 s, bounded) until FILE has a line matching REGEX;
# fails, showing FILE, if it never does.
wait_for() {
  for _ in $(seq $(($1 * 10))); do grep -q -- "$3" "$2" 2>/dev/null && return 0; sleep 0.1; done
  echo "no '$3' in $2 after $1 s:"; cat "$2" 2>/dev/null; return 1
}

# start_relay RELAY_BINARY [OPTIONS...]: sets RELAY_PID, PORT, FP (its TLS fingerprint), ADDR
# and METRICS (its /metrics URL, on a free port). RELAY_OUT names its log (default relay.out).
start_relay() {
  local bin=$1 out=${RELAY_OUT:-relay.out}
  shift
  "$bin" --listen 127.0.0.1:0 --identity "${out%.out}-id" --metrics-listen 127.0.0.1:0 "$@" \
    > "$out" 2>&1 &
  RELAY_PID=$!
  PIDS+=("$RELAY_PID")
  wait_for 5 "$out" "^(Ctrl-C" || exit 1
  PORT=$(grep -o "listening on 127.0.0.1:[0-9]*" "$out" | cut -d: -f2)
  FP=$(grep "^TLS fingerprint" "$out" | cut -d' ' -f3)
  ADDR=127.0.0.1:$PORT
  METRICS=$(grep -o "http://[0-9.]*:[0-9]*/metrics" "$out" || true)
}

# start_netsim NETSIM_BINARY UPSTREAM_PORT [OPTIONS...]: wzp-netsim in front of 127.0.0.1:PORT,
# its counters in netsim.out; sets NETSIM_PORT and NETSIM_PID.
start_netsim() {
  local bin=$1 up=$2
  shift 2
  "$bin" --upstream "127.0.0.1:$up" "$@" > netsim.out 2>&1 &
  NETSIM_PID=$!
  PIDS+=("$NETSIM_PID")
  wait_for 5 netsim.out "listening on" || exit 1
  NETSIM_PORT=$(grep -o "listening on 127.0.0.1:[0-9]*" netsim.out | cut -d: -f2)
}

# metric URL NAME_WITH_LABELS: the value of one sample on a /metrics page (empty if absent).
metric() {
  curl -sf "$1" | awk -v k="$2" '$1 == k { print $2 }'
}

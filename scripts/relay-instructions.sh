#!/usr/bin/env bash
# relay-instructions.sh BUILD_DIR [SESSIONS] [SECONDS]: user-space instructions the relay spends
# per media datagram it receives and fans out, counted by callgrind (deterministic where the
# timed `wzp-bench relay` is noisy on a shared machine). The relay runs under valgrind, so the
# load is small (40 streams, 2,000 packets/s by default). Needs valgrind.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
SESSIONS=${2:-40}
SECONDS_=${3:-10}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cp "$BUILD/wzp-bench" "$DIR/wzp-bench" # it starts the wzp-relay next to itself: our wrapper
cat > "$DIR/wzp-relay" <<WRAP
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file="$DIR/cg.out" "$BUILD/wzp-relay" "\$@"
WRAP
chmod +x "$DIR/wzp-relay"
"$DIR/wzp-bench" relay --sessions "$SESSIONS" --seconds "$SECONDS_" > "$DIR/bench.json" 2> "$DIR/bench.err"
# the relay's media handler, inclusive, and how many times it ran
callgrind_annotate --inclusive=yes --tree=caller "$DIR/cg.out" 2>/dev/null |
  awk '/\* .*server\.c:on_datagram \[/ { found = 1 } END { exit !found }' || {
  echo "relay-instructions: no on_datagram in the profile" >&2
  exit 1
}
callgrind_annotate --inclusive=yes --tree=caller "$DIR/cg.out" 2>/dev/null |
  awk '/=> .*server\.c:on_datagram \(/ && !done {
         ir = $1; gsub(",", "", ir); calls = $0; sub(/.*\(/, "", calls); sub(/x\).*/, "", calls)
         gsub(",", "", calls)
         printf "relay: %d instructions per media datagram (%s datagrams)\n", ir / calls, calls
         done = 1 }'

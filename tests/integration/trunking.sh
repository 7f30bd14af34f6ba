#!/usr/bin/env bash
# Trunking (SPEC §3.5, §8): with --trunking the relay batches what goes to each member that
# announced support into TrunkFrames (at most 10 entries / 1200 bytes, 5 ms). Three senders, one
# listener: the listener hears all three tones at the level sent, and the relay's counters show
# the datagrams and bytes saved.
set -euo pipefail
RELAY=$1 CLIENT=$2 TONES=$3
source "$(dirname "$0")/lib.sh"
start_relay "$RELAY" --trunking
grep -q "^trunking:" relay.out
run() { "$CLIENT" --relay-fp "$FP" "$@" "$ADDR" > /dev/null 2>&1 & PIDS+=("$!"); }
"$CLIENT" --relay-fp "$FP" --identity c.id --room x --record c.wav --duration 9 "$ADDR" \
  > c.out 2>&1 &
C_PID=$!
PIDS+=("$C_PID")
sleep 0.3
run --identity a.id --room x --send-tone 7 --duration 8
run --identity b.id --room x --send-tone 7 --tone-hz 880 --duration 8
run --identity e.id --room x --send-tone 7 --tone-hz 620 --duration 8
sleep 5
FRAMES=$(metric "$METRICS" wzp_relay_trunk_frames_total)
ENTRIES=$(metric "$METRICS" wzp_relay_trunk_entries_total)
SAVED=$(metric "$METRICS" wzp_relay_trunk_bytes_saved_total)
OUT=$(metric "$METRICS" 'wzp_relay_media_packets_total{direction="out"}')
wait "$C_PID"
for hz in 440 880 620; do
  l=$("$TONES" c.wav 2.5 7 "$hz" | cut -d' ' -f2)
  echo "C hears $hz Hz at $l dBFS (sent at -10.5)"
  awk -v l="$l" 'BEGIN { exit !(l >= -14 && l <= -8) }'
done
echo "to C: $ENTRIES packets in $FRAMES trunk frames; datagrams out (all members) $OUT;" \
  "$SAVED bytes saved on the wire"
awk -v f="$FRAMES" -v e="$ENTRIES" 'BEGIN { printf "packets per trunk frame: %.2f\n", e / f; exit !(f > 0 && e > 1.3 * f) }'
[ "$SAVED" -gt 0 ]
echo "trunking: ok"

#!/usr/bin/env bash
# The README's quick start as a newcomer does it: one user (one HOME, so one default identity
# shared by every client), a relay, a client recording room demo and one sending the 440 Hz tone
# -- both started the same way, without --identity. Each connection is its own participant (a
# device), so the recording holds the tone at the level sent, not silence.
set -euo pipefail
RELAY=$1 CLIENT=$2 TONES=$3
source "$(dirname "$0")/lib.sh"
export HOME=$DIR/home XDG_CONFIG_HOME= XDG_STATE_HOME=
mkdir -p "$HOME"
start_relay "$RELAY"
"$CLIENT" --relay-fp "$FP" --room demo --record heard.wav --duration 8 "$ADDR" > rec.out 2>&1 &
REC=$!
PIDS+=("$REC")
wait_for 10 rec.out "room has 1 member"
"$CLIENT" --relay-fp "$FP" --room demo --send-tone 5 --duration 6 "$ADDR" > tone.out 2>&1
wait "$REC"
cat rec.out tone.out
[ "$(grep -c "new identity" rec.out tone.out | awk -F: '{ s += $2 } END { print s }')" = 1 ]
grep -q "end-to-end keys with .* ready" rec.out
grep -q 'joining room "demo" (an open room: anyone who can guess or observe its name' rec.out
level=$("$TONES" heard.wav 1.5 5 440 | cut -d' ' -f2)
echo "quick start: heard.wav holds 440 Hz at $level dBFS (sent at -10.5), one identity for both"
awk -v l="$level" 'BEGIN { exit !(l > -14 && l < -8) }'

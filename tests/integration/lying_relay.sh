#!/usr/bin/env bash
# A relay that puts one person in another's place (tests/tools/lying_relay.c: the real relay,
# showing C to the others as A -- in the room list, on C's signals -- and routing what they send
# "A" to C). B, who would take A's word, is in the room with C; C sends a 440 Hz tone. B must
# refuse C, naming both fingerprints, and hear nothing of it; C gets no keys from B either.
set -euo pipefail
RELAY=$1 CLIENT=$2 LIAR=$3 TONES=$4
source "$(dirname "$0")/lib.sh"
fp_of() { "$CLIENT" identity new --identity "$1" | sed -n 's/^fingerprint: //p'; }
A_FP=$(fp_of a.id)
C_FP=$(fp_of c.id)
fp_of b.id > /dev/null
start_relay "$LIAR" --shown-as "$C_FP=$A_FP"

"$CLIENT" --relay-fp "$FP" --identity b.id --room x --record b.wav --duration 6 "$ADDR" \
  > b.out 2>&1 &
B_PID=$!
PIDS+=("$B_PID")
sleep 0.3
"$CLIENT" --relay-fp "$FP" --identity c.id --room x --send-tone 5 --duration 5.5 "$ADDR" \
  > c.out 2>&1 &
C_PID=$!
PIDS+=("$C_PID")
wait "$B_PID"
wait "$C_PID"
cat b.out c.out
grep -q "REFUSED a member: the relay calls it $A_FP but its key proves $C_FP" b.out
if grep -q "end-to-end keys with" b.out c.out; then echo "keys were exchanged"; exit 1; fi
level=$("$TONES" b.wav 1 5.5 440 | cut -d' ' -f2)
echo "B hears C's 440 Hz tone at $level dBFS (want nothing: < -50)"
awk -v l="$level" 'BEGIN { exit !(l < -50) }'
echo "lying relay: refused"

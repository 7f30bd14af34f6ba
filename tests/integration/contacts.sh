#!/usr/bin/env bash
# Contacts, as users run them. `contacts add|list|remove` and their refusals; then a call: B has
# A as a contact "Alice". A (440 Hz) is shown to B as verified, in the log, the status line and
# the metrics file; C (880 Hz), who calls itself "Alice" with another key, is shown unverified
# and B is warned loudly. D, with --require-verified and only A as a contact, refuses C (named)
# and hears A but not C. Each pair reads the same safety code on both sides.
set -euo pipefail
RELAY=$1 CLIENT=$2 TONES=$3
source "$(dirname "$0")/lib.sh"
fp_of() { "$CLIENT" identity show --identity "$1" | grep -o "[0-9a-f]\{4\}\(:[0-9a-f]\{4\}\)\{7\}" | head -1; }
for x in a b c d; do "$CLIENT" identity new --identity $x.id > /dev/null; done
FA=$(fp_of a.id) FC=$(fp_of c.id)

# the command line
"$CLIENT" contacts --identity b.id list | grep -q "no contacts yet"
"$CLIENT" contacts --identity b.id add "$FA" Alice
"$CLIENT" contacts --identity b.id add "$FC" Carol
"$CLIENT" contacts --identity b.id list | tee list.out
grep -q "^$FA  Alice$" list.out && grep -q "^$FC  Carol$" list.out
[ "$(stat -c %a b.id.contacts)" = 600 ]
run_rc "$CLIENT" contacts --identity b.id add "$FC" Alice > taken.out 2>&1
cat taken.out
[ "$RC" = 2 ] && grep -q 'another fingerprint is already called "Alice"' taken.out
run_rc "$CLIENT" contacts --identity b.id add 1234 Bob > badfp.out 2>&1
[ "$RC" = 2 ] && grep -q "8 groups of 4 hex digits" badfp.out
"$CLIENT" contacts --identity b.id remove Carol
! grep -q "$FC" b.id.contacts
run_rc "$CLIENT" contacts --identity b.id remove Carol > gone.out 2>&1
[ "$RC" = 1 ] && grep -q "no contact Carol" gone.out
cp b.id.contacts d.id.contacts
echo "garbage line" >> broken.contacts
chmod 600 broken.contacts
run_rc "$CLIENT" --contacts broken.contacts --identity b.id --duration 1 127.0.0.1:9 > broken.out 2>&1
cat broken.out
[ "$RC" = 1 ] && grep -q "cannot use the contacts broken.contacts.*(line 1)" broken.out

# the call
start_relay "$RELAY"
"$CLIENT" --relay-fp "$FP" --identity b.id --room k --record b.wav --status --metrics-file b.jsonl \
  --duration 9 "$ADDR" > b.out 2> b.err &
B_PID=$!
PIDS+=("$B_PID")
"$CLIENT" --relay-fp "$FP" --identity d.id --room k --record d.wav --require-verified \
  --duration 9 "$ADDR" > d.out 2>&1 &
D_PID=$!
PIDS+=("$D_PID")
sleep 0.3
"$CLIENT" --relay-fp "$FP" --identity a.id --alias Alice --room k --send-tone 6 --duration 8.5 \
  "$ADDR" > a.out 2>&1 &
A_PID=$!
PIDS+=("$A_PID")
"$CLIENT" --relay-fp "$FP" --identity c.id --alias Alice --room k --send-tone 6 --tone-hz 880 \
  --duration 8.5 "$ADDR" > c.out 2>&1 &
C_PID=$!
PIDS+=("$C_PID")
wait "$A_PID" "$B_PID" "$C_PID" "$D_PID"
cat b.out b.err d.out
grep -q "end-to-end keys with $FA ready (verified: Alice)" b.out
grep -q "end-to-end keys with $FC ready (unverified: not in your contacts)" b.out
grep -q "WARNING: $FC calls itself \"Alice\", but your contact Alice has the key $FA" b.err
grep "^wzp: tier" b.err | tail -1 | grep -q "peers 2 (1 verified)" # D refuses B: not a peer B hears
tail -1 b.jsonl | /usr/bin/python3 -c "
import json, sys
peers = {p['fingerprint']: p for p in json.loads(sys.stdin.read())['peers']}
assert peers['$FA']['verified'] and peers['$FA']['contact'] == 'Alice', peers
assert not peers['$FC']['verified'] and 'contact' not in peers['$FC'], peers
print('metrics file: A verified (Alice), C not')"
grep -q "REFUSED a member: $FC is not in your contacts (--require-verified)" d.out
# the safety code: A and B read the same four digits for their pair, C and B another
FB=$(fp_of b.id)
code() { grep -o "end-to-end keys with $2 ready .*; safety code [0-9]\{4\}$" "$1" | grep -o "[0-9]\{4\}$"; }
AB=$(code a.out "$FB") BA=$(code b.out "$FA") CB=$(code c.out "$FB") BC=$(code b.out "$FC")
echo "safety codes: A sees $AB for B, B sees $BA for A; C sees $CB for B, B sees $BC for C"
[ -n "$AB" ] && [ "$AB" = "$BA" ] && [ -n "$CB" ] && [ "$CB" = "$BC" ]
level() { "$TONES" "$1" 2.5 6 "$2" | cut -d' ' -f2; }
check() { # file hz min max
  local l; l=$(level "$1" "$2")
  echo "$1 at $2 Hz: $l dBFS (want $3..$4)"
  awk -v l="$l" -v lo="$3" -v hi="$4" 'BEGIN { exit !(l >= lo && l <= hi) }'
}
check b.wav 440 -14 -8
check b.wav 880 -14 -8   # unverified is shown, not refused, without --require-verified
check d.wav 440 -14 -8
check d.wav 880 -200 -50 # refused: no key, nothing heard
kill -TERM "$RELAY_PID"
wait "$RELAY_PID"
echo "contacts: ok"

#!/usr/bin/env bash
# A secret room, as users run it: `wzp-client room new` prints an invite; A (sending 440 Hz) and
# B (recording) join with it; E, an eavesdropper who learnt the room's id (what the relay sees:
# it is in the invite before the '#', and in the relay's room table) but not its secret, joins
# that id with --room and records. B hears the tone at full level; E is never given a sender key
# and records silence; the members log E as refused by its fingerprint. The relay's log never
# holds the secret. Then the refusals: a damaged invite, an invite with --room.
set -euo pipefail
RELAY=$1 CLIENT=$2 TONES=$3
source "$(dirname "$0")/lib.sh"
start_relay "$RELAY"

INVITE=$("$CLIENT" room new --relay-fp "$FP" "$ADDR" 2> new.err)
cat new.err
echo "invite: $INVITE"
ROOM=$(echo "$INVITE" | sed -n 's#^wzp://[^/]*/\([0-9a-f]\{32\}\)?fp=[0-9a-f]\{64\}\#[A-Za-z0-9_-]\{43\}$#\1#p')
SECRET=${INVITE##*#}
[ -n "$ROOM" ] && [ ${#SECRET} = 43 ]

"$CLIENT" --room-invite "$INVITE" --identity b.id --record b.wav --duration 9 > b.out 2>&1 &
B_PID=$!
PIDS+=("$B_PID")
"$CLIENT" --relay-fp "$FP" --room "$ROOM" --identity e.id --record e.wav --duration 9 "$ADDR" \
  > e.out 2>&1 &
E_PID=$!
PIDS+=("$E_PID")
sleep 0.3
"$CLIENT" --room-invite "$INVITE" --identity a.id --send-tone 6 --duration 8.5 > a.out 2>&1 &
A_PID=$!
PIDS+=("$A_PID")
wait "$A_PID" "$B_PID" "$E_PID"
cat a.out b.out e.out
EFP=$("$CLIENT" identity show --identity e.id | grep -o "[0-9a-f]\{4\}\(:[0-9a-f]\{4\}\)\{7\}" | head -1)
grep -q "joining secret room $ROOM" a.out
grep -q "joining room \"$ROOM\" (an open room" e.out
grep -q "REFUSED a member: $EFP did not prove it knows this secret room's secret" a.out
grep -q "REFUSED a member: $EFP did not prove it knows this secret room's secret" b.out
grep -q "room has 3 member(s)" b.out # E was in the room all along
! grep -q "end-to-end keys with" e.out
level() { "$TONES" "$1" 2.5 6 440 | cut -d' ' -f2; }
LB=$(level b.wav) LE=$(level e.wav)
echo "B (invited) hears 440 Hz at $LB dBFS; E (room id, no secret) at $LE dBFS"
awk -v l="$LB" 'BEGIN { exit !(l >= -14 && l <= -8) }'
awk -v l="$LE" 'BEGIN { exit !(l <= -50) }'
! grep -q -- "$SECRET" relay.out

# refusals: a damaged invite (one character of the room id changed), an invite with --room
BAD=$(echo "$INVITE" | sed "s#/$ROOM#/$(echo "$ROOM" | tr '0-9a-f' '1-9a-f0')#")
run_rc "$CLIENT" --room-invite "$BAD" --identity a.id --duration 2 > bad.out 2>&1
cat bad.out
[ "$RC" = 2 ] && grep -q "the invite is damaged" bad.out
run_rc "$CLIENT" --room-invite "$INVITE" --room x --identity a.id --duration 2 > both.out 2>&1
cat both.out
[ "$RC" = 2 ] && grep -q "not with --room" both.out
run_rc "$CLIENT" room new --known-relays none.txt "$ADDR" > nofp.out 2>&1
cat nofp.out
[ "$RC" = 2 ] && grep -q "give --relay-fp" nofp.out
kill -TERM "$RELAY_PID"
wait "$RELAY_PID"
echo "secret room: ok"

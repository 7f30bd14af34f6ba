#!/usr/bin/env bash
# Trust on first use without --relay-fp: the first connection records the relay's certificate
# fingerprint (the one the relay printed) and says so; the next connection is pinned to it
# silently; a changed certificate is refused with a loud warning and exit code 4; a damaged
# entry is never trusted.
set -euo pipefail
RELAY=$1 CLIENT=$2
source "$(dirname "$0")/lib.sh"
start_relay "$RELAY"

"$CLIENT" --known-relays kr --identity a.id --duration 1 "$ADDR" > first.out 2>&1
cat first.out
grep -q "first connection to $ADDR: trusting its certificate" first.out
grep -q "$FP" first.out
[ "$(cat kr)" = "$ADDR $FP" ]
[ "$(stat -c %a kr)" = 600 ]

"$CLIENT" --known-relays kr --identity a.id --duration 1 "$ADDR" > second.out 2>&1
! grep -q "first connection" second.out
grep -q "room has 1 member" second.out

WRONG=$(echo "$FP" | sed 's/^\(..\)/00/')
echo "$ADDR $WRONG" > kr
run_rc "$CLIENT" --known-relays kr --identity a.id --duration 1 "$ADDR" > changed.out 2>&1
cat changed.out
[ "$RC" = 4 ] && grep -q "WARNING: the relay at $ADDR presented a certificate that differs" changed.out

echo "$ADDR 00:11:zz" > kr
run_rc "$CLIENT" --known-relays kr --identity a.id --duration 1 "$ADDR" > damaged.out 2>&1
cat damaged.out
[ "$RC" = 2 ] && grep -q "cannot use its entry" damaged.out
kill -TERM "$RELAY_PID"
wait "$RELAY_PID"
echo "trust on first use: ok"

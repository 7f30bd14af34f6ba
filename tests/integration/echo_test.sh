#!/usr/bin/env bash
# --echo-test end to end: on a clean path the known signal comes back whole (verdict OK, exit 0);
# through wzp-netsim losing 60% of what the relay sends from 8 s on, the later seconds show the
# loss and the verdict is DEGRADING (exit 6). A relay without a pinned fingerprint is refused.
set -euo pipefail
RELAY=$1 CLIENT=$2 NETSIM=$3
source "$(dirname "$0")/lib.sh"
start_relay "$RELAY"
run_rc "$CLIENT" --relay-fp "$FP" --identity a.id --echo-test 12 "$ADDR" > clean.out 2>&1
cat clean.out
[ "$RC" -eq 0 ]
grep -q "echo test verdict: OK" clean.out
[ "$(grep -c "^ \+[0-9]\+-[0-9]\+ \+[0-9.]\+%" clean.out)" -eq 11 ]   # seconds 1..12 judged
printf '8 loss=0.6\n' > late.scn
start_netsim "$NETSIM" "$PORT" --direction down --scenario late.scn --seed 5 --duration 40
run_rc "$CLIENT" --relay-fp "$FP" --identity a.id --echo-test 15 "127.0.0.1:$NETSIM_PORT" \
  > lossy.out 2>&1
cat lossy.out
[ "$RC" -eq 6 ]
grep -q "echo test verdict: DEGRADING" lossy.out
# without a pin, refused with a clear message (exit 2)
run_rc "$CLIENT" --known-relays kr --identity a.id --echo-test 5 "$ADDR" > nopin.out 2>&1
[ "$RC" -eq 2 ] && grep -q "needs the relay's fingerprint" nopin.out
echo "echo test: ok"

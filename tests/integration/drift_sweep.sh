#!/usr/bin/env bash
# --drift-test and --sweep end to end. A listens through wzp-netsim (0..40 ms of jitter, reordering;
# in order, one stream held behind the other would bias the clock samples as their phases slide)
# with both on; B sends as if its sound card ran 1000 ppm fast (--clock-skew), C with a true
# clock. A must measure B at +1000 ppm and C at 0 (each within 200 ppm: the per-second minima of
# 24 s give ~30 ppm of noise, more on a loaded machine; +1105 was seen under CI), and its sweep table must
# show the trade a jitter buffer makes: a depth of one frame conceals much more than a depth of
# eight, which delays more.
set -euo pipefail
RELAY=$1 CLIENT=$2 NETSIM=$3
source "$(dirname "$0")/lib.sh"
start_relay "$RELAY"
start_netsim "$NETSIM" "$PORT" --direction down --jitter 40 --reorder --seed 3 --duration 40
"$CLIENT" --relay-fp "$FP" --identity a.id --room d --drift-test --sweep --duration 24 \
  "127.0.0.1:$NETSIM_PORT" > a.out 2>&1 &
A_PID=$!
PIDS+=("$A_PID")
sleep 0.5
"$CLIENT" --relay-fp "$FP" --identity b.id --room d --send-tone 25 --clock-skew 1000 "$ADDR" \
  > b.out 2>&1 &
B_PID=$!
PIDS+=("$B_PID")
"$CLIENT" --relay-fp "$FP" --identity c.id --room d --send-tone 25 "$ADDR" > c.out 2>&1 &
C_PID=$!
PIDS+=("$C_PID")
wait "$A_PID"
kill "$B_PID" "$C_PID" 2>/dev/null || true
grep -E "clock drift|sweep|fixed|adaptive" a.out
FB=$("$CLIENT" identity show --identity b.id | grep -o "[0-9a-f]\{4\}\(:[0-9a-f]\{4\}\)\{7\}" | head -1)
FC=$("$CLIENT" identity show --identity c.id | grep -o "[0-9a-f]\{4\}\(:[0-9a-f]\{4\}\)\{7\}" | head -1)
PB=$(grep "clock drift of $FB" a.out | grep -o ": [-+][0-9]* ppm" | tr -d ': ppm')
PC=$(grep "clock drift of $FC" a.out | grep -o ": [-+][0-9]* ppm" | tr -d ': ppm')
echo "B (skewed +1000 ppm) measured $PB ppm; C (true clock) $PC ppm"
[ "$PB" -ge 800 ] && [ "$PB" -le 1200 ]
[ "$PC" -ge -200 ] && [ "$PC" -le 200 ]
# the sweep over C's frames: depth 1 conceals more than depth 8 (in %), depth 8 delays more
/usr/bin/python3 - "$FC" a.out <<'PY'
import re, sys
fp, text = sys.argv[1], open(sys.argv[2]).read()
part = [s for s in text.split("jitter-buffer sweep over")[1:] if fp in s.split("\n")[0]][0]
rows = {m.group(1): (float(m.group(2)), float(m.group(3)))
        for m in re.finditer(r"^\s+(fixed \d+|adaptive \S+)\s+\d+\s+([\d.]+)%\s+\d+\s+(-?\d+) ms", part, re.M)}
print("C's sweep:", rows)
assert rows["fixed 1"][0] > 5 * max(rows["fixed 8"][0], 0.1), rows
assert rows["fixed 8"][1] > rows["fixed 1"][1] + 40, rows
PY
echo "drift and sweep: ok"

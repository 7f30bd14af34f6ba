#!/usr/bin/env bash
# wzp-netsim measured against itself: a known stream (2000 datagrams, one every 5 ms) goes
# through the real proxy and what arrives matches what was configured: random loss, delay and
# jitter (in order, then with reordering), Gilbert-Elliott bursts, duplication, and a scheduled
# blackout from a scenario file. Loopback adds well under a millisecond.
set -euo pipefail
RELAY=$1 CLIENT=$2 NETSIM=$3 PROBE=$4
source "$(dirname "$0")/lib.sh"

# measure NAME NETSIM_OPTIONS...: the probe's JSON in NAME.json
measure() {
  local name=$1
  shift
  /usr/bin/python3 "$PROBE" "$name.rx" "$name.port" 2000 5 > "$name.json" &
  local probe=$!
  PIDS+=("$probe")
  wait_for 5 "$name.rx" "[0-9]"
  "$NETSIM" --upstream "127.0.0.1:$(cat "$name.rx")" --direction up --duration 16 "$@" \
    > "$name.netsim" 2>&1 &
  local ns=$!
  PIDS+=("$ns")
  wait_for 5 "$name.netsim" "listening on"
  grep -o "listening on 127.0.0.1:[0-9]*" "$name.netsim" | cut -d: -f2 > "$name.port.tmp"
  mv "$name.port.tmp" "$name.port"
  wait "$probe"
  kill "$ns" 2> /dev/null || true
  wait "$ns" 2> /dev/null || true
  echo "$name ($*): $(cat "$name.json")"
}
# check NAME FIELD LO HI
check() {
  local v
  v=$(/usr/bin/python3 -c "import json,sys; print(json.load(open('$1.json'))['$2'])")
  awk -v v="$v" -v lo="$3" -v hi="$4" 'BEGIN { exit !(v >= lo && v <= hi) }' ||
    { echo "$1: $2 = $v, want $3..$4"; exit 1; }
}

measure loss --loss 0.2 --seed 7
check loss loss 0.17 0.23
check loss delay_mean_ms 0 2
measure delay --delay 40 --jitter 20 --seed 7
check delay loss 0 0
check delay delay_min_ms 39 45
check delay delay_max_ms 55 100  # 40 + 20; a loaded machine adds scheduling delay (78.5 seen under ASan beside another test); the min here and the mean and jitter of the run below are the tight checks
check delay reordered 0 0
measure reorder --delay 40 --jitter 20 --reorder --seed 7
check reorder delay_mean_ms 48 53          # 40 + uniform 0..20
check reorder reordered 200 2000           # 20 ms of jitter over 5 ms spacing
check reorder jitter_ms 4 12
measure bursts --ge 0.02,0.25,0,1 --seed 7
check bursts loss 0.04 0.10                # stationary 0.02 / 0.27 = 0.074
measure dup --dup 0.1 --seed 7
check dup duplicates 140 260
printf '0 loss=0\n3 blackout=1\n5 blackout=0\n' > blackout.scn
measure blackout --scenario blackout.scn --seed 7
check blackout loss 0.15 0.25              # 2 s of the 10 s stream
echo "netsim: ok"

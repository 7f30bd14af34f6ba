#!/usr/bin/env bash
# Forward mode: a relay chain. Relay F (--remote) hosts no rooms and carries its clients to relay
# R through one link with FEC; between F and R wzp-netsim drops 20% of the datagrams both ways.
# A calls in through F and sends a tone, B (directly on R) records: the tone arrives intact,
# and the link's FEC recovered what the lossy stretch took. Both clients pin R's certificate:
# F holds no keys and terminates nothing of theirs.
set -euo pipefail
RELAY=$1 CLIENT=$2 NETSIM=$3 TONES=$4
LOSS=${WZP_FORWARD_LOSS:-0.2}
source "$(dirname "$0")/lib.sh"
RELAY_OUT=r.out start_relay "$RELAY" --peer-relay 127.0.0.1 # F's link comes from there
R_FP=$FP R_ADDR=$ADDR R_PORT=$PORT R_METRICS=$METRICS
start_netsim "$NETSIM" "$R_PORT" --loss "$LOSS" --seed 1 --duration 60
"$RELAY" --listen 127.0.0.1:0 --remote "127.0.0.1:$NETSIM_PORT@$R_FP" \
  --metrics-listen 127.0.0.1:0 > f.out 2>&1 &
PIDS+=("$!")
wait_for 5 f.out "^(Ctrl-C"
F_ADDR=127.0.0.1:$(grep -o "listening on 127.0.0.1:[0-9]*" f.out | cut -d: -f2)
F_METRICS=$(grep -o "http://[0-9.]*:[0-9]*/metrics" f.out)
grep "forwarding" f.out
for _ in $(seq 50); do [ "$(metric "$F_METRICS" 'wzp_forward_link_up{remote="127.0.0.1:'"$NETSIM_PORT"'"}')" = 1 ] && break; sleep 0.1; done

"$CLIENT" --relay-fp "$R_FP" --identity b.id --room x --record b.wav --duration 14 "$R_ADDR" \
  > b.out 2>&1 &
B_PID=$!
PIDS+=("$B_PID")
sleep 0.3
"$CLIENT" --relay-fp "$R_FP" --identity a.id --room x --send-tone 11 --duration 12.5 "$F_ADDR" \
  > a.out 2>&1
wait "$B_PID"
cat a.out b.out | grep -v "keys with\|member" || true
curl -sf "$F_METRICS" | grep "^wzp_forward"
curl -sf "$R_METRICS" | grep "^wzp_relay_link"
kill -INT "$NETSIM_PID"  # wzp-netsim prints its counters at the end
sleep 0.3
tail -1 netsim.out
LEVELS=$(for t in $(seq 3 10); do "$TONES" b.wav "$t" $((t + 1)) 440 | cut -d' ' -f2; done)
echo "B hears A (through F, $LOSS loss between the relays), per second from t = 3 s:" $LEVELS
# every second at the level sent (-10.5 dBFS); one second may dip to -16 when the quality loop
# moves A's tier and B's jitter buffer grows for the new block span by stretching a few frames
if [ "$(echo "$LEVELS" | awk '$1 < -16 || $1 > -8' | wc -l)" -ne 0 ] ||
  [ "$(echo "$LEVELS" | awk '$1 < -13' | wc -l)" -gt 1 ]; then
  if grep -q "fell behind real time" a.out b.out; then
    grep -h "fell behind real time" a.out b.out
    echo "forward: levels NOT JUDGED (this machine starved the clients of CPU)"
  else
    exit 1
  fi
fi
RECOVERED=$(metric "$R_METRICS" 'wzp_relay_link_datagrams_total{direction="recovered"}')
echo "datagrams from F recovered by the link's FEC at R: $RECOVERED"
awk -v l="$LOSS" -v r="$RECOVERED" 'BEGIN { exit !(l == 0 || r > 0) }'
echo "forward: ok"

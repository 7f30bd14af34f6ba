#!/usr/bin/env bash
# Roaming with the real binaries. A talks (440 Hz) through wzp-netsim: an on-path copier re-sends
# each of A's media datagrams from its own port, ahead of A's (--copier), and at 4 s A's NAT
# rebinds: its traffic goes on from a new port (--rebind-at 4). B sends 880 Hz; both record. The
# copier gets no more than the relay's challenge trickle (at most 4 a second, 25 bytes each); the
# relay answers A's new port in under a second; B hears A's tone at full level before and after
# the move, A hears B's again less than a second after it, the QUIC connection migrating with it.
# (The copier also copies QUIC packets whose fixed bit ngtcp2 greased -- their first byte is in
# the media range too: the relay drops those copies when the original comes from the
# connection's address within 25 ms; before it did, the copies made QUIC start migrating to the
# copier and the call's key exchange never finished.)
set -euo pipefail
RELAY=$1 CLIENT=$2 NETSIM=$3 TONES=$4
source "$(dirname "$0")/lib.sh"
start_relay "$RELAY"
start_netsim "$NETSIM" "$PORT" --copier --rebind-at 4 --stats 1 --duration 14
"$CLIENT" --relay-fp "$FP" --identity b.id --room m --record b.wav --send-tone 10 --tone-hz 880 \
  --duration 12 "$ADDR" > b.out 2>&1 &
B_PID=$!
PIDS+=("$B_PID")
sleep 0.3
"$CLIENT" --relay-fp "$FP" --identity a.id --room m --send-tone 9 --record a.wav --duration 11 \
  "127.0.0.1:$NETSIM_PORT" > a.out 2>&1 &
A_PID=$!
PIDS+=("$A_PID")
wait "$A_PID" "$B_PID"
cat a.out b.out
kill -TERM "$NETSIM_PID" 2>/dev/null || true
wait "$NETSIM_PID" || true
tail -1 netsim.out
/usr/bin/python3 - netsim.out <<'PY'
import json, sys
last = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]
secs = last["t"]
print(f"copier: {last['copied']} datagrams ({last['copied_bytes']} bytes) copied; got back "
      f"{last['copier_rx']} datagrams, {last['copier_rx_bytes']} bytes, "
      f"{last['copier_rx_small']} of them challenge-sized, in {secs:.1f} s; "
      f"rebind at {last['rebind_at']:.1f} s, "
      f"relay answered the new port after {last['rebind_first_down_ms']:.0f} ms")
assert last["copied"] > 300, last                     # it really copied A's media
# media: the relay's path challenges (25 bytes) at most 4 a second, all the copier gets of it
assert last["copier_rx_small"] <= 4 * secs + 4, last
# QUIC: greased short headers were copied too; ngtcp2 probes the copier's address (PATH_CHALLENGE)
# within QUIC's anti-amplification limit and keeps the connection where it was validated
assert last["copier_rx_bytes"] <= 3 * last["copied_bytes"], last
assert 0 <= last["rebind_first_down_ms"] < 1000, last
PY
level() { "$TONES" b.wav "$1" "$2" 440 | cut -d' ' -f2; }
BEFORE=$(level 1.5 3.5) AFTER=$(level 5.5 9)
echo "B hears A's 440 Hz at $BEFORE dBFS before the move, $AFTER dBFS after"
awk -v l="$BEFORE" 'BEGIN { exit !(l >= -14 && l <= -8) }'
awk -v l="$AFTER" 'BEGIN { exit !(l >= -14 && l <= -8) }'
# A hears B (880 Hz) again after its move: the gap in A's recording, in 100 ms slices from 1 s to
# 9 s (the move is near 3.5 s of A's recording), is under a second, and B is back at full level
GAP=0
for i in $(seq 10 89); do
  l=$("$TONES" a.wav "$(echo "$i" | awk '{print $1/10}')" "$(echo "$i" | awk '{print ($1+1)/10}')" 880 | cut -d' ' -f2)
  awk -v l="$l" 'BEGIN { exit !(l < -30) }' && GAP=$((GAP + 100))
done
ABACK=$("$TONES" a.wav 6 9 880 | cut -d' ' -f2)
echo "A hears B's 880 Hz at $ABACK dBFS after its move; $GAP ms of A's recording in 1..9 s without it"
[ "$GAP" -lt 1000 ]
awk -v l="$ABACK" 'BEGIN { exit !(l >= -14 && l <= -8) }'
curl -s "$METRICS" | grep -E "^wzp_relay_(path_challenges|roams|quic_copies_dropped|quic_held_released)_total"
[ "$(metric "$METRICS" wzp_relay_roams_total)" -ge 1 ]               # the media path moved
kill -TERM "$RELAY_PID"
wait "$RELAY_PID"
echo "roaming: ok"

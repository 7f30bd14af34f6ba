#!/usr/bin/env bash
# Two relays probing each other (certificates pinned) export RTT, jitter, loss and up gauges per
# target; killing one flips the other's wzp_probe_up to 0 within 3 s, and it is 1 again soon
# after the killed relay restarts (same identity, same address). A relay that does not count the
# prober's host among its peers refuses its probes.
set -euo pipefail
RELAY=$1
source "$(dirname "$0")/lib.sh"
free_udp() { /usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P1=$(free_udp)
P2=$(free_udp)

start() { # NAME PORT [OPTIONS...]: sets PID_<NAME>, FP_<NAME>, METRICS_<NAME>
  local name=$1 port=$2
  shift 2
  "$RELAY" --listen "127.0.0.1:$port" --identity "$name.id" --metrics-listen 127.0.0.1:0 "$@" \
    > "$name.out" 2>&1 &
  PIDS+=("$!")
  eval "PID_$name=$!"
  wait_for 5 "$name.out" "^(Ctrl-C" || exit 1
  eval "FP_$name=$(grep '^TLS fingerprint' "$name.out" | cut -d' ' -f3)"
  eval "METRICS_$name=$(grep -o 'http://[0-9.]*:[0-9]*/metrics' "$name.out")"
}
start r1 "$P1"
kill "$PID_r1"
wait "$PID_r1" || true
start r2 "$P2" --probe "127.0.0.1:$P1@$FP_r1"
start r1 "$P1" --probe "127.0.0.1:$P2@$FP_r2"
grep -q "probing 127.0.0.1:$P2 (certificate pinned)" r1.out

# wait_metric SECONDS URL SAMPLE VALUE: poll every 0.1 s; prints how long it took
wait_metric() {
  local t0 i
  t0=$(date +%s.%N)
  for i in $(seq $(($1 * 10))); do
    if [ "$(metric "$2" "$3")" = "$4" ]; then
      echo "$3 = $4 after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
      return 0
    fi
    sleep 0.1
  done
  echo "$3 never became $4 (now '$(metric "$2" "$3")')"
  return 1
}
T1="{target=\"127.0.0.1:$P1\"}"
T2="{target=\"127.0.0.1:$P2\"}"
wait_metric 10 "$METRICS_r1" "wzp_probe_up$T2" 1
wait_metric 10 "$METRICS_r2" "wzp_probe_up$T1" 1
sleep 4
for m in wzp_probe_rtt_seconds wzp_probe_jitter_seconds wzp_probe_loss_ratio wzp_probe_sent_total wzp_probe_echoed_total; do
  echo "r1 -> r2: $m $(metric "$METRICS_r1" "$m$T2")   r2 -> r1: $m $(metric "$METRICS_r2" "$m$T1")"
done
rtt=$(metric "$METRICS_r1" "wzp_probe_rtt_seconds$T2")
awk -v r="$rtt" 'BEGIN { exit !(r >= 0 && r < 0.05) }'
[ "$(metric "$METRICS_r1" "wzp_probe_loss_ratio$T2")" = 0 ]
[ "$(metric "$METRICS_r1" "wzp_probe_echoed_total$T2")" -ge 4 ]
[ "$(metric "$METRICS_r2" 'wzp_relay_probe_sessions')" = 1 ]

# kill r2: r1 sees it down within 3 s
kill -KILL "$PID_r2"
wait "$PID_r2" 2> /dev/null || true
wait_metric 3 "$METRICS_r1" "wzp_probe_up$T2" 0
sleep 2
# restart r2 (same identity and address): up again
start r2 "$P2" --probe "127.0.0.1:$P1@$FP_r1"
wait_metric 10 "$METRICS_r1" "wzp_probe_up$T2" 1
loss=$(metric "$METRICS_r1" "wzp_probe_loss_ratio$T2")
echo "r1 -> r2 loss over the last 60 probes, outage included: $loss"
awk -v l="$loss" 'BEGIN { exit !(l > 0) }'

# a relay that neither probes r3's host nor names it with --peer-relay refuses r3's probes: its
# probe slots are for its peers only (r1 and r2 accept each other because each probes the other)
P0=$(free_udp)
start r0 "$P0"
P3=$(free_udp)
start r3 "$P3" --probe "127.0.0.1:$P0@$FP_r0"
T0='{target="127.0.0.1:'"$P0"'"}'
wait_metric 5 "$METRICS_r0" "wzp_relay_peer_refused_total" 1 || true
sleep 2
echo "r0 refused $(metric "$METRICS_r0" wzp_relay_peer_refused_total) probe connection(s); r3 sees it up: $(metric "$METRICS_r3" "wzp_probe_up$T0")"
[ "$(metric "$METRICS_r0" wzp_relay_peer_refused_total)" -ge 1 ]
[ "$(metric "$METRICS_r3" "wzp_probe_up$T0")" = 0 ]
[ "$(metric "$METRICS_r0" wzp_relay_probe_sessions)" = 0 ]
grep -q "refused a probe from a host that is not a configured peer relay" r0.out
echo "probes: ok"

#!/usr/bin/env bash
# Prometheus /metrics as an operator uses it: Debian's real Prometheus scrapes the relay while
# two clients are in a room, and its HTTP API gives back wzp_relay_active_sessions = 2 (then 0
# once they leave); promtool finds the page well-formed.
set -euo pipefail
RELAY=$1 CLIENT=$2
source "$(dirname "$0")/lib.sh"
start_relay "$RELAY"
TARGET=${METRICS#http://}
TARGET=${TARGET%/metrics}
curl -sf "$METRICS" | promtool check metrics
curl -sf "$METRICS" | grep -c "^# TYPE" | sed 's/^/metric families: /'

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PROM_PORT=$(free_port)
cat > prometheus.yml <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: wzp-relay
    static_configs:
      - targets: ["$TARGET"]
EOF
prometheus --config.file=prometheus.yml --storage.tsdb.path=prom-data \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn > prometheus.out 2>&1 &
PIDS+=("$!")
API=http://127.0.0.1:$PROM_PORT/api/v1

# query EXPR: the value Prometheus has for EXPR now (empty while it has none)
query() {
  curl -sf --get --data-urlencode "query=$1" "$API/query" |
    /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' \
    2> /dev/null || true
}
# wait_query SECONDS EXPR VALUE
wait_query() {
  for _ in $(seq $(($1 * 5))); do
    [ "$(query "$2")" = "$3" ] && return 0
    sleep 0.2
  done
  echo "Prometheus never had $2 = $3 (last: '$(query "$2")')"
  cat prometheus.out
  return 1
}

for who in a b; do
  "$CLIENT" --relay-fp "$FP" --identity $who.id --room x --duration 12 "$ADDR" > $who.out 2>&1 &
  PIDS+=("$!")
done
wait_query 30 wzp_relay_active_sessions 2
echo "Prometheus: wzp_relay_active_sessions = 2, wzp_relay_active_rooms = $(query wzp_relay_active_rooms)"
[ "$(query 'up{job="wzp-relay"}')" = 1 ]
[ "$(query 'wzp_relay_handshake_duration_seconds_count')" -ge 2 ]
wait_query 30 wzp_relay_active_sessions 0
echo "Prometheus: wzp_relay_active_sessions = 0 after they left"
echo "metrics: ok"

#!/usr/bin/env bash
# wzp-bench's system benchmarks run and say what they measured, as JSON (figures are for
# docs/OPERATIONS.md and docs/QUALITY.md, never asserted on timing here): the relay bench with 40
# streams for 2 s gets every packet forwarded by the real relay and by the baseline forwarder;
# the quality bench covers 4 tiers x 9 loss cases.
set -euo pipefail
RELAY=$1 CLIENT=$2 BENCH=$3
source "$(dirname "$0")/lib.sh"
"$BENCH" relay --sessions 40 --rooms 10 --seconds 2 > relay.json 2> relay.txt
cat relay.txt
"$BENCH" quality --iterations 3 > quality.json 2> quality.txt
/usr/bin/python3 - <<'PY'
import json
r = json.load(open("relay.json"))[0]
assert r["bench"] == "relay" and r["streams"] == 40 and r["rooms"] == 10, r
for side in ("relay", "baseline"):
    s = r[side]
    # 40 streams x 50 packets/s x 2 s, each to the 3 others of its room of 4
    expected = 40 * 50 * 2 * 3
    assert 0.9 * expected <= s["received"] <= 1.1 * expected, (side, s)
    assert s["cpu_pct_of_one_core"] >= 0 and s["rss_mib"] > 0 and s["latency_p50_us"] > 0, s
print("relay bench: relay %d, baseline %d packets forwarded; ratio CPU/packet %.2f" % (
    r["relay"]["received"], r["baseline"]["received"], r["cpu_per_packet_ratio"]))
q = json.load(open("quality.json"))[0]
assert q["bench"] == "quality" and len(q["results"]) == 36, len(q["results"])
assert all(0 <= x["unconcealed_pct"] <= 100 for x in q["results"])
print("quality bench: %d cases" % len(q["results"]))
PY
echo "bench smoke: ok"

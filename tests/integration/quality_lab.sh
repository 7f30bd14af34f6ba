#!/usr/bin/env bash
# Issue 8's acceptance through wzp-netsim, as scripts/quality-lab.sh measures it: GOOD keeps >= 99%
# of frames unconcealed at 20% random loss, DEGRADED >= 95% at 50%, CATASTROPHIC >= 90% at 30%
# Gilbert-Elliott bursts; with an adaptive tier, 50% loss from 5 s to 15 s moves the sender down
# within 2 s and back to GOOD after, in at most 4 switches, and the tone has no gap as it climbs.
set -euo pipefail
exec "$(dirname "$0")/../../scripts/quality-lab.sh" "$1" "$2" "$3" "$4" "$5" acceptance

#!/usr/bin/env bash
# The first real call, as users run it: a relay and six clients on loopback. A sends 440 Hz and
# B 880 Hz into room x, E and F send files (660 Hz WAV at 16 kHz stereo, 1200 Hz raw 48 kHz),
# C records room x, D records room y. Measured from the recordings: C hears
# both tones at the level sent, A hears B but not itself, D hears nothing. All media is
# end-to-end encrypted (pairwise handshakes + sender keys), FEC-protected and hop-authenticated.
set -euo pipefail
RELAY=$1 CLIENT=$2 TONES=$3
source "$(dirname "$0")/lib.sh"
start_relay "$RELAY"

run() { "$CLIENT" --relay-fp "$FP" "$@" "$ADDR" & PIDS+=("$!"); }
"$CLIENT" --relay-fp "$FP" --identity c.id --room x --record c.wav --duration 8 --status \
  "$ADDR" 2> c.status &
PIDS+=("$!")
run --identity d.id --room y --record d.wav --duration 8
sleep 0.3
run --identity a.id --room x --send-tone 6 --record a.wav --duration 7.5
run --identity b.id --room x --send-tone 6 --tone-hz 880 --duration 7.5
# files: E a 16 kHz stereo WAV (resampled, mixed down), F headerless 48 kHz s16le
sox -n -r 16000 -c 2 -b 16 e.wav synth 6.5 sine 660 vol 0.15
sox -n -r 48000 -c 1 -b 16 -e signed-integer -L -D f.raw synth 6.5 sine 1200 vol 0.15
run --identity e.id --room x --send-file e.wav --no-dsp --duration 7.5
run --identity f.id --room x --send-file f.raw --no-dsp --duration 7.5
for p in "${PIDS[@]:1}"; do wait "$p"; done

level() { "$TONES" "$1" 2.5 6 "$2" | cut -d' ' -f2; }
check() { # file hz min max
  local l; l=$(level "$1" "$2")
  echo "$1 at $2 Hz: $l dBFS (want $3..$4)"
  awk -v l="$l" -v lo="$3" -v hi="$4" 'BEGIN { exit !(l >= lo && l <= hi) }'
}
check c.wav 440 -14 -8     # sent at 0.3 of full scale = -10.5 dBFS
check c.wav 880 -14 -8
check c.wav 660 -20 -13    # from the WAV file, sent at 0.15 = -16.5 dBFS
check c.wav 1200 -20 -13   # from the raw file
check a.wav 880 -14 -8
check a.wav 440 -200 -50   # never its own voice back
check d.wav 440 -200 -50   # another room hears nothing
check d.wav 880 -200 -50
# C's status line, once a second: four peers heard
grep "^wzp: tier" c.status | tail -1
grep "^wzp: tier" c.status | tail -1 | grep -Eq "^wzp: tier GOOD \| peers 4 \(0 verified\) \| loss [0-9.]+% \| rtt [0-9]+ ms \| jitter [0-9]+ ms \| buffer [0-9]+ frames$"
# a relay that is not the one pinned: refused with a clear message and exit code 4
WRONG=$(echo "$FP" | sed 's/^\(..\)/00/')
run_rc "$CLIENT" --relay-fp "$WRONG" --identity a.id --room x --duration 3 "$ADDR" > wrong.out 2>&1
cat wrong.out
[ "$RC" = 4 ] && grep -q "does not match --relay-fp" wrong.out
# a file that cannot be read: a clear message, exit code 1, no call
run_rc "$CLIENT" --relay-fp "$FP" --identity a.id --send-file missing.wav "$ADDR" > missing.out 2>&1
cat missing.out
[ "$RC" = 1 ] && grep -q "cannot read missing.wav" missing.out
kill -TERM "$RELAY_PID"
wait "$RELAY_PID"
echo "call with tones: ok"

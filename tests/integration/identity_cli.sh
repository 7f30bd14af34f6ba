#!/usr/bin/env bash
# wzp-client identity new|show|import, as a user runs them: the file is private, an existing
# identity is never overwritten, unsafe permissions are refused, and a known mnemonic restores
# the known fingerprint (tests/data/identity.json).
set -euo pipefail
CLIENT=$1
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
export XDG_CONFIG_HOME=$DIR/config

# before any identity exists: what to do, not an I/O error
if "$CLIENT" identity show 2> "$DIR/none.err"; then echo "showed an identity that does not exist"; exit 1; fi
grep -q "no identity at .* yet: .wzp-client identity new. makes one" "$DIR/none.err"

out=$("$CLIENT" identity new)
grep -q "^fingerprint: [0-9a-f:]\{39\}$" <<<"$out"
[ "$(stat -c %a "$DIR/config/wzp/identity")" = 600 ]
fp=$(grep '^fingerprint' <<<"$out")
[ "$("$CLIENT" identity show | grep '^fingerprint')" = "$fp" ]
if "$CLIENT" identity new 2>/dev/null; then echo "overwrote an identity"; exit 1; fi
chmod 644 "$DIR/config/wzp/identity"
if "$CLIENT" identity show 2>/dev/null; then echo "loaded a world-readable identity"; exit 1; fi

words="abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon"
words="$words abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon"
words="$words abandon abandon art"
out=$(echo "$words" | "$CLIENT" identity import --identity "$DIR/restored")
grep -q "^fingerprint: 27ba:36eb:371e:ea99:e7d0:ee57:3165:e50e$" <<<"$out"
out=$("$CLIENT" identity show --identity "$DIR/restored" --reveal)
grep -q "abandon art$" <<<"$out"
if echo "abandon abandon" | "$CLIENT" identity import --identity "$DIR/bad" 2>/dev/null; then
  echo "accepted a bad mnemonic"; exit 1
fi
[ ! -e "$DIR/bad" ]
echo "identity CLI: ok"

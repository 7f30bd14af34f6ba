#!/usr/bin/env bash
# The dependency rule of docs/ARCHITECTURE.md, checked on the sources: the sans-I/O layers (the
# call session and media chain, the wire formats, crypto, FEC, audio, and the relay's session
# table, core and link) include no libuv or socket header and read no clock; the client includes
# no relay header; no layer reaches up into client code; socket-address lengths are computed in
# one place.
set -euo pipefail
SRC=$1/src
fail=0
bad() { echo "layering: $*" >&2; fail=1; }

SANS_IO=("$SRC"/call/*.[ch] "$SRC"/proto/*.[ch] "$SRC"/crypto/*.[ch] "$SRC"/fec/*.[ch]
         "$SRC"/audio/*.[ch] "$SRC"/relay/rooms.c "$SRC"/relay/core.c "$SRC"/relay/core_signal.c
         "$SRC"/relay/core_internal.h "$SRC"/relay/link.c "$SRC"/transport/demux.c)
for f in "${SANS_IO[@]}"; do
  if grep -qE '#include <(uv|sys/socket|netinet/in|arpa/inet|ngtcp2/[a-z_]+)\.h>' "$f"; then
    bad "$f includes an I/O header"
  fi
  if grep -qE '\b(uv_[a-z_]+|clock_gettime|gettimeofday|sendto|sendmsg|recvfrom|recvmsg|socket)\(' "$f"; then
    bad "$f does I/O or reads a clock"
  fi
done
for f in "$SRC"/client/*.[ch] "$1"/include/wzp/session.h "$1"/include/wzp/client.h; do
  if grep -qE '#include "wzp/(relay|relay_core|rooms|auth|probe|forward|link)\.h"' "$f"; then
    bad "$f (client side) includes a relay header"
  fi
done
for f in "$SRC"/{common,proto,crypto,fec,audio,call,transport,relay,netsim,metrics}/*.[ch]; do
  if grep -qE '#include "client/' "$f"; then
    bad "$f reaches into src/client"
  fi
done
n=$(grep -rlE 'sizeof\(struct sockaddr_in6\) *:' "$SRC" | wc -l)
[ "$n" -eq 1 ] || bad "$n files compute a sockaddr length (src/common/addr.c should be the one)"
[ "$fail" -eq 0 ] && echo "layering: ok"
exit "$fail"

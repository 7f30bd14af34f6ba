#!/usr/bin/env bash
# The checks CI runs after the plain test suite: the whole suite again under ASan+UBSan, then
# every libFuzzer target for a bounded time from its seed corpus (WZP_FUZZ_SECONDS each; by
# default 300 s in all, shared by the targets, so a new target does not lengthen CI). Fails on
# any sanitizer report, crash, leak or fuzzer finding.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=$(nproc)

echo "== ASan+UBSan test run"
cmake -S "$ROOT" -B "$ROOT/build-asan" -DCMAKE_BUILD_TYPE=Debug \
  -DWZP_SANITIZE=address,undefined > /dev/null
cmake --build "$ROOT/build-asan" -j "$JOBS"
(cd "$ROOT/build-asan" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j "$JOBS")

CC=clang cmake -S "$ROOT" -B "$ROOT/build-fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWZP_FUZZ=ON > /dev/null
cmake --build "$ROOT/build-fuzz" -j "$JOBS"
TARGETS=$(find "$ROOT/build-fuzz/fuzz" -maxdepth 1 -name 'fuzz_*' -type f -executable | wc -l)
SECONDS_EACH=${WZP_FUZZ_SECONDS:-$((300 / (TARGETS > 0 ? TARGETS : 1)))}
echo "== libFuzzer targets: $TARGETS, ${SECONDS_EACH}s each"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for bin in "$ROOT"/build-fuzz/fuzz/fuzz_*; do
  [ -f "$bin" ] && [ -x "$bin" ] || continue
  name=$(basename "$bin")
  mkdir -p "$WORK/$name"
  cp "$ROOT/fuzz/corpus/$name"/* "$WORK/$name/" 2>/dev/null || true
  if ! "$bin" -max_total_time="$SECONDS_EACH" -max_len=8192 -rss_limit_mb=2048 \
      -artifact_prefix="$WORK/" "$WORK/$name" > "$WORK/$name.log" 2>&1; then
    tail -n 40 "$WORK/$name.log"
    echo "fuzz: $name FAILED" >&2
    exit 1
  fi
  runs=$(grep -Eo 'Done [0-9]+ runs' "$WORK/$name.log" | awk '{print $2}' || true)
  echo "fuzz: $name ok, ${runs:-?} executions"
done

#!/usr/bin/env bash
# WarzonePhone set-up for a fresh Debian 12 machine: installs every package the project needs
# (idempotent: apt-get runs only when something is missing, with one 'apt-get update'), then
# configures and builds. Then, by the first argument:
#   run    start wzp-relay in the foreground with its embedded defaults (the main job)
#   test   run the whole test suite with ctest
#   build  stop after building (default)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${WZP_BUILD_DIR:-$ROOT/build}
MODE=${1:-build}

# Every Debian package the project needs, build and test alike. Later issues add theirs here.
PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  clang libclang-rt-14-dev llvm-14 clang-format   # libFuzzer, sanitizers, formatting
  libcjson-dev                                     # signalling JSON
  libsodium-dev libgnutls28-dev                    # end-to-end crypto, HKDF
  python3-nacl python3-mnemonic python3-cryptography  # independent crypto cross-checks
  libopus-dev libcodec2-dev libspeexdsp-dev        # codecs, resampling, denoising
  espeak-ng libsndfile1-dev sox                    # speech test signal, WAV files
  libngtcp2-dev libngtcp2-crypto-gnutls-dev libuv1-dev  # QUIC control plane, event loop
  portaudio19-dev libasound2-dev libjack-jackd2-dev  # --live microphone and speaker
  pulseaudio pulseaudio-utils libasound2-plugins   # a real-time sound server for --live tests
  libmicrohttpd-dev libconfig-dev libcurl4-gnutls-dev  # relay: /metrics, config file, auth
  prometheus curl                                  # metrics test: a real Prometheus scrapes
  libcmocka-dev                                    # unit tests
  liblcrq-dev                                      # RFC 6330 oracle (GPL: tests only)
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return
  fi
  echo "setup: installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
  # Debian starts the Prometheus service on install; the tests run their own, and a system one
  # would hold port 9090, where the relay serves /metrics by default.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
    as_root systemctl disable --now prometheus > /dev/null 2>&1 || true
  fi
}

build() {
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
  cmake --build "$BUILD_DIR" -j "$(nproc)"
}

install_packages
build
case "$MODE" in
  run)
    exec "$BUILD_DIR/wzp-relay"
    ;;
  test)
    cd "$BUILD_DIR"
    ctest --output-on-failure -j "$(nproc)"
    ;;
  build)
    ;;
  *)
    echo "usage: scripts/setup.sh [run|test|build]" >&2
    exit 2
    ;;
esac

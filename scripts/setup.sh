#!/usr/bin/env bash
# Installs every Debian package ridge's build and tests need. Idempotent: does
# nothing when all are present. Run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  g++ cmake ninja-build pkg-config make
  libgtest-dev nlohmann-json3-dev libutf8proc-dev libboost-dev
  clang libclang-rt-14-dev          # libFuzzer + sanitizer runtimes for the fuzz target
  curl ca-certificates              # model download in the quick start
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

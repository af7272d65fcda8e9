#!/usr/bin/env bash
# Installs Node.js (Debian's, when no node is on PATH), Debian's chromium (for
# the web page test) and the pinned npm test clients in tests/js (OpenAI SDK,
# @huggingface/jinja, playwright-core). Idempotent.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
missing=()
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  echo "setup-node: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
cd "$root/tests/js"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

#!/usr/bin/env bash
# Installs what the build and the tests need and is not there yet: the Debian packages listed in
# tools/debian-packages.txt (as root, with apt-get), then the npm dependencies and the native
# build (`npm ci` runs node-gyp for native/).
#
# RUNSC_TS_SKIP_NPM_CI=1 skips `npm ci` (a developer's tree that is already installed).
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t wanted < <(grep -v '^\s*#' tools/debian-packages.txt | grep -v '^\s*$')
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages (${missing[*]}); run as root or install them" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "${RUNSC_TS_SKIP_NPM_CI:-0}" != 1 ]; then
  npm ci --no-audit --no-fund
fi

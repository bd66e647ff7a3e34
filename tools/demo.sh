#!/usr/bin/env bash
# The README's "run" command: installs what is needed, builds, and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
npm run build >/dev/null
exec node tools/demo.mjs "$@"

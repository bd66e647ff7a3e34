#!/usr/bin/env bash
# The README's "run" command: installs what is needed (Debian packages, npm dependencies, the
# native build), builds, and runs a command sandboxed with `runsc-ts do` over the host's root
# filesystem (read-only, writes kept in memory). With no arguments it runs a Python one-liner
# that shows where it is: Linux 4.4.0 (the sentry), pid 1.
#
#   tools/do.sh                       the default
#   tools/do.sh /bin/ls -la /usr      any program (absolute path, or found through PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh >&2
npm run build >/dev/null
if [ "$#" -eq 0 ]; then
  set -- /usr/bin/python3 -c "import platform, os; print('hello from', platform.system(), platform.release(), 'as pid', os.getpid(), 'in', os.getcwd())"
fi
exec node packages/runsc/bin/runsc-ts.js do -- "$@"

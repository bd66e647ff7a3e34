#!/usr/bin/env bash
# Lists the host system calls that serving gofers make, to build and check the gofer's seccomp
# allowlist (packages/gofer/src/seccomp-policy.ts): runs the gofer e2e suites (or the vitest
# arguments given) under `strace -f`, keeps the tasks of every gofer process after it re-exec'd
# itself into its serving stage (execve with --pivot-helper) and the threads they started, and
# prints each system call they made with its count, like `strace -c`.
#
#   tools/seccomp/gofer-syscalls.sh [vitest args...]     (default: e2e/gofer e2e/sentry-gofer)
#
# Needs strace (tools/debian-packages.txt) and a build (npm run build). Not for suites that run
# the sentry's ptrace platform: a task has one tracer, and strace would take the stubs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ $# -gt 0 ] || set -- e2e/gofer e2e/sentry-gofer
strace -f -qq -s 64 -o "$out/trace" -- npx vitest run "$@" >&2 || true
/usr/bin/python3 "$here/gofer-syscalls.py" "$out/trace"

#!/usr/bin/env bash
# The whole test suite from a fresh machine: install what is missing, build, check that generated
# code is up to date, lint, then run every vitest project (unit tests and e2e).
#
# Ends with one summary line: "tests: N passed, M failed, K skipped".
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh
npm run build
# Type-check the tests too (the build compiles only the sources).
npx nx run-many -t typecheck --output-style=static --skip-nx-cache
npm run gen:check -w @runsc-ts/abi
npm run gen:check -w @runsc-ts/proto
npx eslint .

report=$(mktemp -t runsc-ts-vitest.XXXXXX.json)
trap 'rm -f "$report"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$report" || true
exit "$status"

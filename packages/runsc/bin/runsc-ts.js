#!/usr/bin/env node
// The runsc-ts binary: the compiled entry (build first: npx tsc -b packages/runsc).
import "../dist/main.js";

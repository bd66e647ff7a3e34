// The compiled addon. Only @runsc-ts/platform (src/native.ts) may require this package.
"use strict";
module.exports = require("./build/Release/runsc_native.node");

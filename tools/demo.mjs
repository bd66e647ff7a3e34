#!/usr/bin/env node
// Demo of the RPC spine: two real processes connected by a socketpair. The child serves the
// `testing.Echo` interface over Cap'n Proto RPC; asked for a file, it opens it and donates the
// host FD (SCM_RIGHTS, as an attachedFd capability). The parent reads the file through the FD it
// received and prints it. (Once the gofer lands, this demo becomes `runsc-ts do`.)
//
//   node tools/demo.mjs [FILE]      default: /etc/os-release
import { spawn } from "node:child_process";
import { openSync, readFileSync, closeSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { native, rpcOverFd } from "@runsc-ts/platform";
import { hostFd, takeFd, testing } from "@runsc-ts/proto";

const file = process.argv[2] ?? "/etc/os-release";

if (process.env.RUNSC_TS_DEMO_SERVER === "1") {
  // The child: serve on fd 3; openFd donates the requested file.
  const conn = rpcOverFd(3, {
    bootstrap: new testing.Echo$Server({
      async openFd(_p, r) {
        r.fd = hostFd(testing.TestFd$Client, openSync(file, "r"));
      },
    }),
  });
  await conn.closed();
  process.exit(0);
}

const [mine, theirs] = native.socketpair(native.constants.SOCK_STREAM | native.constants.SOCK_CLOEXEC);
const child = spawn(process.execPath, [fileURLToPath(import.meta.url), file], {
  stdio: ["ignore", "inherit", "inherit", theirs],
  env: { ...process.env, RUNSC_TS_DEMO_SERVER: "1" },
});
native.close(theirs);
const conn = rpcOverFd(mine);
const echo = conn.bootstrap(testing.Echo$Client);
const r = await echo.openFd((p) => (p.none = false)).promise().catch((e) => {
  process.stderr.write(`demo: ${e.message}\n`);
  process.exit(1);
});
const fd = takeFd(r.fd);
process.stderr.write(`demo: pid ${child.pid} donated ${file} as fd ${fd} in this process (pid ${process.pid}):\n`);
process.stdout.write(readFileSync(fd));
closeSync(fd);
conn.close();
await new Promise((resolve) => child.on("exit", resolve));

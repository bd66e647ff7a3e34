// Test fixture: a Node process that is a ptrace tracer. Plain Node (not under vitest), so it
// loads the addon package directly. Starts the zygote, forks an address space from it and
// clones a context in that, prints the zygote's pid (the stubs' process group), then:
//   node test-tracer-peer.mjs          waits to be killed;
//   node test-tracer-peer.mjs exit     arms the idle watcher, stops the platform (its kills wake
//                                      the watcher) and exits at once: Node's teardown must not
//                                      call into JavaScript (exit status 0, not an abort).
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const native = require("@runsc-ts/native");
const C = native.ptraceConstants;
const stub = require.resolve("@runsc-ts/native/package.json").replace(/package\.json$/, "build/stub/runsc-stub");
const [channel] = native.socketpair(native.constants.SOCK_SEQPACKET | native.constants.SOCK_CLOEXEC);
const zygote = native.ptraceStart(stub, channel);
const args = new BigUint64Array(6);
const [, as] = native.ptraceInject(zygote, C.SYS_fork, args);
args[0] = 0x100n | 0x11n;  // CLONE_VM | SIGCHLD
const [, ctx] = native.ptraceInject(as, C.SYS_clone, args);
console.log(JSON.stringify({ zygote, as, ctx }));
if (process.argv[2] === "exit") {
  native.tracerSetIdleCallback(() => {});
  native.ptraceIdle();
  native.ptraceStop();
  process.exit(0);
}
setInterval(() => {}, 1000);

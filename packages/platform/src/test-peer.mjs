// Test fixture: the other process in platform's multi-process tests. Plain Node (a spawned child
// does not go through vitest), so it loads the addon package directly. It gets its end of a
// socketpair as fd 3.
//
//   node test-peer.mjs peer       Serve newline-delimited JSON commands on fd 3 (blocking I/O):
//                                   {op:"echo", text}       -> {op:"echo", text}
//                                   {op:"read-fd"} + 1 fd   -> {op:"read-fd", content, cloexec}
//                                   {op:"send-fd", text}    -> {op:"send-fd"} + 1 fd (a file
//                                                              holding text, already unlinked)
//                                   {op:"bye"}              -> exit 0
//                                 End of stream: exit 0.
//   node test-peer.mjs ctrunc     Receive once on fd 3 (expecting more fds than RLIMIT_NOFILE
//                                 admits) and print {code, errno, syscall, leaked} as JSON.
//   node test-peer.mjs watch-keepalive
//                                 Watch fd 3 with a ref'd watcher, print "ready", and print
//                                 "got <bytes>" when data arrives; then close and exit.
//   node test-peer.mjs watch-idle Arm a stopped watcher and an unref'd active one, print "armed";
//                                 the process must then exit by itself.
//   node test-peer.mjs watch-throw
//                                 A watcher callback throws: print "uncaught: <message>".
import { createRequire } from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const native = createRequire(import.meta.url)("@runsc-ts/native");
const C = native.constants;
const SOCK = 3;

function openFdCount() {
  return fs.readdirSync("/proc/self/fd").length;
}

function peer() {
  native.setNonblock(SOCK, false);
  const buf = new Uint8Array(65536);
  const fdQueue = [];
  let pending = "";
  const reply = (obj, fds = []) => {
    const bytes = Buffer.from(JSON.stringify(obj) + "\n");
    let off = 0;
    while (off < bytes.length) {
      off += native.sendmsg(SOCK, [bytes.subarray(off)], off === 0 ? fds : []);
    }
  };
  for (;;) {
    const n = native.recvmsg(SOCK, buf, fdQueue);
    if (n === 0) process.exit(0);
    pending += Buffer.from(buf.subarray(0, n)).toString();
    let nl;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const cmd = JSON.parse(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      switch (cmd.op) {
        case "echo":
          reply({ op: "echo", text: cmd.text });
          break;
        case "read-fd": {
          const fd = fdQueue.shift();
          const cloexec = native.getCloexec(fd);
          const data = Buffer.alloc(4096);
          const got = fs.readSync(fd, data, 0, data.length, 0);
          native.close(fd);
          reply({ op: "read-fd", content: data.subarray(0, got).toString(), cloexec });
          break;
        }
        case "send-fd": {
          const file = path.join(os.tmpdir(), `runsc-ts-peer-${process.pid}-${Date.now()}`);
          fs.writeFileSync(file, cmd.text);
          const fd = fs.openSync(file, "r");
          fs.unlinkSync(file);
          reply({ op: "send-fd" }, [fd]);
          native.close(fd);
          break;
        }
        case "bye":
          process.exit(0);
          break;
        default:
          throw new Error(`test-peer: unknown op ${cmd.op}`);
      }
    }
  }
}

function ctrunc() {
  native.setNonblock(SOCK, false);
  const before = openFdCount();
  const fds = [];
  try {
    native.recvmsg(SOCK, new Uint8Array(16), fds);
    console.log(JSON.stringify({ code: null, received: fds.length }));
  } catch (e) {
    console.log(JSON.stringify({ code: e.code, errno: e.errno, syscall: e.syscall, leaked: openFdCount() - before, fdsOut: fds.length }));
  }
}

function watchKeepalive() {
  const w = new native.FdWatcher(SOCK, function (status, events) {
    const buf = new Uint8Array(64);
    const n = native.recvmsg(SOCK, buf, []);
    console.log(`got ${Buffer.from(buf.subarray(0, n)).toString()} status=${status} events=${events} this=${this === w}`);
    w.close();
  });
  w.start(C.POLL_READABLE);
  console.log("ready");
}

function watchIdle() {
  const [a, b] = native.socketpair(C.SOCK_STREAM | C.SOCK_CLOEXEC | C.SOCK_NONBLOCK);
  native.sendmsg(a, [new Uint8Array([1])], []); // b is readable: an active ref'd watcher would fire forever
  const stopped = new native.FdWatcher(b, () => {});
  stopped.start(C.POLL_READABLE);
  stopped.stop();
  const unrefed = new native.FdWatcher(a, () => {});
  unrefed.start(C.POLL_WRITABLE);
  unrefed.unref();
  process.on("exit", () => {
    stopped.close();
    unrefed.close();
  });
  console.log("armed");
}

function watchThrow() {
  process.on("uncaughtException", (e) => {
    console.log(`uncaught: ${e.message}`);
    process.exit(0);
  });
  const [a, b] = native.socketpair(C.SOCK_STREAM | C.SOCK_CLOEXEC | C.SOCK_NONBLOCK);
  const w = new native.FdWatcher(b, () => {
    w.close();
    throw new Error("thrown from a watcher callback");
  });
  w.start(C.POLL_READABLE);
  native.sendmsg(a, [new Uint8Array([1])], []);
}

const modes = { peer, ctrunc, "watch-keepalive": watchKeepalive, "watch-idle": watchIdle, "watch-throw": watchThrow };
const mode = modes[process.argv[2] ?? ""];
if (mode === undefined) throw new Error(`test-peer: unknown mode ${process.argv[2]}`);
mode();

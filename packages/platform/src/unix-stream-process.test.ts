// Two real processes: this one drives a UnixFdStream; the child (test-peer.mjs, plain Node over
// the addon, blocking I/O) serves newline-delimited JSON commands on its end of a socketpair.
import { describe, expect, it } from "vitest";

import { native } from "./native.js";
import { expectNoFdLeaks, finished, openTempFile, readFd, spawnPeer, until } from "./test-util.js";
import { fromFd } from "./unix-stream.js";

const C = native.constants;

interface Reply {
  readonly message: { op: string; text?: string; content?: string; cloexec?: boolean };
  readonly fds: number[];
}

describe("UnixFdStream between two processes", () => {
  expectNoFdLeaks();

  it("exchanges bytes and descriptors both ways with a child process", async () => {
    const [mine, theirs] = native.socketpair(C.SOCK_STREAM | C.SOCK_CLOEXEC | C.SOCK_NONBLOCK);
    const child = spawnPeer("peer", theirs);
    native.close(theirs);
    const exited = finished(child);

    const stream = fromFd(mine);
    const replies: Reply[] = [];
    const fdQueue: number[] = [];
    let pending = "";
    let ends = 0;
    stream.start({
      data(bytes, fds) {
        fdQueue.push(...fds);
        pending += Buffer.from(bytes).toString();
        for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
          const message = JSON.parse(pending.slice(0, nl)) as Reply["message"];
          pending = pending.slice(nl + 1);
          replies.push({ message, fds: message.op === "send-fd" ? fdQueue.splice(0, 1) : [] });
        }
      },
      end() {
        ends++;
      },
    });
    const send = (message: object, fds?: number[]): void =>
      stream.write([Buffer.from(JSON.stringify(message) + "\n")], fds);

    // Bytes, there and back.
    send({ op: "echo", text: "ping across processes" });
    await until(() => replies.length === 1);
    expect(replies[0]!.message).toEqual({ op: "echo", text: "ping across processes" });

    // A descriptor to the child: it reads the file through it and finds it close-on-exec.
    const file = openTempFile("read by the child");
    send({ op: "read-fd" }, [file]);
    await until(() => replies.length === 2);
    expect(replies[1]!.message).toEqual({ op: "read-fd", content: "read by the child", cloexec: true });

    // A descriptor from the child.
    send({ op: "send-fd", text: "written by the child" });
    await until(() => replies.length === 3);
    const [got] = replies[2]!.fds;
    expect(got).toBeDefined();
    expect(native.getCloexec(got!)).toBe(true);
    expect(readFd(got!)).toBe("written by the child");
    native.close(got!);

    // A large message crosses intact (several socket buffers' worth).
    const text = "x".repeat(3 << 20);
    send({ op: "echo", text });
    await until(() => replies.length === 4);
    expect(replies[3]!.message.text === text).toBe(true);

    // The child leaving ends the stream once, without an error.
    send({ op: "bye" });
    const { code } = await exited;
    expect(code).toBe(0);
    await until(() => ends > 0);
    expect(ends).toBe(1);
    expect(stream.closed).toBe(true);
    stream.close();
  });
});

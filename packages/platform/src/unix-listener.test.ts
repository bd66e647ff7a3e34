import { closeSync, mkdtempSync, openSync, constants as fsConstants, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { native } from "./native.js";
import { UnixListener, listenUnixAt } from "./unix-listener.js";

const { SOCK_STREAM } = native.constants;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDirFd(): number {
  const d = mkdtempSync(join(tmpdir(), "listener-"));
  dirs.push(d);
  return openSync(d, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
}

describe("UnixListener", () => {
  it("hands over every connection as a connected socket, and refuses connections once closed", async () => {
    const dirFd = tempDirFd();
    const accepted: number[] = [];
    const listener = listenUnixAt(dirFd, "ctl.sock", (fd) => accepted.push(fd));
    const clients = [0, 1, 2].map(() => native.connectUnixAt(dirFd, "ctl.sock", SOCK_STREAM));
    for (let i = 0; i < 100 && accepted.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(accepted).toHaveLength(3);
    // Each accepted socket is the peer of a client.
    native.sendmsg(clients[1]!, [Buffer.from("hi")], []);
    const buf = new Uint8Array(8);
    let got = -1;
    for (const fd of accepted) {
      for (let i = 0; i < 50 && got < 0; i++) {
        got = native.recvmsg(fd, buf, []);
        if (got < 0) await new Promise((r) => setTimeout(r, 5));
      }
      if (got > 0) break;
    }
    expect(Buffer.from(buf.subarray(0, 2)).toString()).toBe("hi");
    expect(native.getCloexec(accepted[0]!)).toBe(true);
    expect(native.getNonblock(accepted[0]!)).toBe(true);
    listener.close();
    expect(listener.listening).toBe(false);
    expect(() => native.connectUnixAt(dirFd, "ctl.sock", SOCK_STREAM)).toThrow(/ECONNREFUSED/);
    for (const fd of [...accepted, ...clients]) native.close(fd);
    closeSync(dirFd);
  });

  it("refuses a descriptor that is not a socket, and closes it", () => {
    const dirFd = tempDirFd();
    const fd = native.dup(dirFd);
    expect(() => new UnixListener(fd, () => {})).toThrow(/ENOTSOCK/);
    expect(() => native.getCloexec(fd)).toThrow(/EBADF/);
    closeSync(dirFd);
  });
});

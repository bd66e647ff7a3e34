// The TypeScript stack against the real Linux TCP/IP stack. The test makes a network namespace
// and a TAP device; Linux's end of the TAP (10.77.0.1/24) lives in the namespace, the
// `runsc-ts netstack` process holds the other end (10.77.0.2/24). Then:
//   - Linux pings the stack;
//   - curl in the namespace fetches 20 MB from an HTTP server on the TS stack (this test serves
//     it through the netstack's RPC sockets, as the sentry will);
//   - a TS client fetches 20 MB from nginx-light in the namespace;
// both files verified by SHA-256. Needs root, and fails (never skips) without it: CI runs as root.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AF_INET, AF_INET6, EALREADY, EINPROGRESS, IPPROTO_ICMP, SHUT_WR, SOCK_DGRAM, SOCK_STREAM } from "@runsc-ts/abi";
import { RemoteSocket } from "@runsc-ts/netstack";
import { native } from "@runsc-ts/platform";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NetstackProcess, makeNamespace, sh, spawnNetstack } from "./harness.js";

const LINUX = "10.77.0.1";
const STACK = "10.77.0.2";
const SIZE = 20 * 1000 * 1000;

let ns: { name: string; remove(): void };
let dir: string;
let netstackProc: NetstackProcess;
let nginx: ChildProcess | undefined;
let pcapFile: string;
let tapName: string;
const body = randomBytes(SIZE);
const bodyHash = createHash("sha256").update(body).digest("hex");

/** Runs a command to completion without blocking the event loop (the test's RPC needs it). */
function run(cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function waitForListen(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await run("ip", ["netns", "exec", ns.name, "ss", "-Hltn", `sport = :${port}`]);
    if (r.stdout.trim() !== "") return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`nothing listens on port ${port} in ${ns.name}`);
}

beforeAll(async () => {
  ns = makeNamespace("tap");
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "netstack-interop-"));
  // With IFF_VNET_HDR: the netstack asks for offloads, and Linux sends it large TCP segments.
  const C = native.constants;
  const [tapFd, name] = native.tunOpen(`rtstap${process.pid % 100000}`, C.IFF_TAP | C.IFF_NO_PI | C.IFF_VNET_HDR);
  tapName = name;
  try {
    sh("ip", ["link", "set", tapName, "netns", ns.name]);
    sh("ip", ["-n", ns.name, "addr", "add", `${LINUX}/24`, "dev", tapName]);
    sh("ip", ["-n", ns.name, "link", "set", tapName, "up"]);
    pcapFile = path.join(dir, "packets.pcap");
    netstackProc = spawnNetstack(["--addr", `${STACK}/24`, "--gw", LINUX, "--log-packets", pcapFile], tapFd);
  } finally {
    native.close(tapFd); // the netstack process holds its own copy
  }
  // nginx-light in the namespace, serving the same 20 MB.
  fs.mkdirSync(path.join(dir, "www"));
  fs.mkdirSync(path.join(dir, "tmp"));
  fs.writeFileSync(path.join(dir, "www", "file"), body);
  const conf = path.join(dir, "nginx.conf");
  fs.writeFileSync(
    conf,
    [
      "daemon off;",
      "master_process off;",
      "worker_processes 1;",
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/nginx-error.log;`,
      "events { worker_connections 64; }",
      "http {",
      "  access_log off;",
      `  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp;`,
      `  uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;`,
      `  server { listen ${LINUX}:8080; root ${dir}/www; }`,
      "}",
    ].join("\n"),
  );
  nginx = spawn("ip", ["netns", "exec", ns.name, "nginx", "-c", conf, "-p", dir], { stdio: "ignore" });
  await waitForListen(8080);
}, 60_000);

afterAll(async () => {
  if (nginx !== undefined && nginx.exitCode === null) {
    nginx.kill("SIGTERM");
    await new Promise((resolve) => nginx?.once("close", resolve));
  }
  if (netstackProc !== undefined) await netstackProc.stop();
  ns?.remove();
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
});

describe("the TS stack against Linux over a TAP device", () => {
  it("answers Linux's ping", async () => {
    const r = await run("ip", ["netns", "exec", ns.name, "ping", "-c", "3", "-i", "0.2", "-W", "2", STACK]);
    expect(r.stdout).toMatch(/3 packets transmitted, 3 received/);
    expect(r.code).toBe(0);
  });

  it("pings Linux from an ICMP echo socket on the TS stack", async () => {
    const s = await RemoteSocket.open(netstackProc.stack, AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    // type 8 (echo request), code 0, checksum and identifier filled in by the stack, sequence 7.
    const request = Uint8Array.of(8, 0, 0, 0, 0, 0, 0, 7, ...Buffer.from("runsc-ts"));
    expect(await s.sendOnce(request, { address: LINUX, port: 0 })).toBe(request.length);
    const reply = await s.recvFrom();
    expect(reply.from.address).toBe(LINUX);
    expect(reply.data[0]).toBe(0); // echo reply
    expect(reply.data[7]).toBe(7);
    expect(Buffer.from(reply.data.subarray(8)).toString()).toBe("runsc-ts");
    s.close();
  });

  it("exchanges UDP datagrams with a Linux socket, fragmented both ways when large", { timeout: 30_000 }, async () => {
    const echo = spawn("ip", ["netns", "exec", ns.name, "/usr/bin/python3", "-c",
      `import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(("${LINUX}",5353))\nprint("ready",flush=True)\nfor _ in range(3):\n  d,a=s.recvfrom(65536)\n  s.sendto(d[::-1],a)\n`], { stdio: ["ignore", "pipe", "inherit"] });
    const echoExited = new Promise((resolve) => echo.once("close", resolve));
    await new Promise((resolve) => echo.stdout?.once("data", resolve));
    const s = await RemoteSocket.open(netstackProc.stack, AF_INET, SOCK_DGRAM);
    await s.bind({ address: STACK, port: 4000 });
    for (const size of [1, 1400, 4000]) {
      // 4000 bytes travel as IPv4 fragments both ways (MTU 1500).
      const d = Uint8Array.from({ length: size }, (_, i) => i & 0xff);
      expect(await s.sendOnce(d, { address: LINUX, port: 5353 })).toBe(size);
      const back = await s.recvFrom();
      expect(back.from).toEqual({ address: LINUX, port: 5353 });
      expect([...back.data]).toEqual([...d].reverse());
    }
    await echoExited;
    s.close();
  });

  it("serves 20 MB to curl (Linux TCP) from an HTTP server on the TS stack", async () => {
    const listener = await RemoteSocket.open(netstackProc.stack, AF_INET, SOCK_STREAM);
    await listener.bind({ address: "0.0.0.0", port: 80 });
    await listener.listen();
    const out = path.join(dir, "from-ts");
    const curl = run("ip", ["netns", "exec", ns.name, "curl", "-sS", "--max-time", "60", "-o", out, `http://${STACK}/file`]);
    const { socket, peer } = await listener.accept();
    expect(peer.address).toBe(LINUX);
    let request = "";
    while (!request.includes("\r\n\r\n")) {
      const d = await socket.recv();
      if (d.length === 0) break;
      request += Buffer.from(d).toString("latin1");
    }
    expect(request).toMatch(/^GET \/file HTTP\/1\.1\r\n/);
    await socket.sendAll(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${SIZE}\r\nConnection: close\r\n\r\n`));
    await socket.sendAll(body);
    await socket.shutdown(SHUT_WR);
    const r = await curl;
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(createHash("sha256").update(fs.readFileSync(out)).digest("hex")).toBe(bodyHash);
    socket.close();
    listener.close();
  });

  it("has asked the kernel for offloads: the TAP does TCP segmentation offload", async () => {
    const r = await run("ip", ["netns", "exec", ns.name, "ethtool", "-k", tapName]);
    expect(r.stdout).toMatch(/tcp-segmentation-offload: on/);
    expect(r.stdout).toMatch(/tx-checksumming: on/);
  });

  it("fetches 20 MB from nginx-light (Linux TCP) with a TS client", async () => {
    const s = await RemoteSocket.open(netstackProc.stack, AF_INET, SOCK_STREAM);
    await s.connect({ address: LINUX, port: 8080 });
    await s.sendAll(Buffer.from(`GET /file HTTP/1.1\r\nHost: ${LINUX}\r\nConnection: close\r\n\r\n`));
    const chunks: Uint8Array[] = [];
    await s.readToEnd((d) => chunks.push(d));
    const response = Buffer.concat(chunks);
    const headerEnd = response.indexOf("\r\n\r\n");
    expect(response.subarray(0, headerEnd).toString("latin1")).toMatch(new RegExp(`^HTTP/1\\.1 200 OK\\r\\n[\\s\\S]*Content-Length: ${SIZE}`));
    const received = response.subarray(headerEnd + 4);
    expect(received.length).toBe(SIZE);
    expect(createHash("sha256").update(received).digest("hex")).toBe(bodyHash);
    s.close();
  });

  it("opens a TAP device by name (--tap) and speaks IPv6 with Linux: NDP, ping -6, curl over TCP/IPv6", async () => {
    const dev = `rtsdev${process.pid % 100000}`;
    const alone = spawnNetstack(["--tap", dev, "--addr", "fd00:79::2/64"], undefined, ns.name);
    try {
      let up = false;
      for (let i = 0; i < 200 && !up; i++) {
        up = (await run("ip", ["-n", ns.name, "link", "show", dev])).code === 0;
        if (!up) await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(up).toBe(true);
      sh("ip", ["-n", ns.name, "addr", "add", "fd00:79::1/64", "dev", dev, "nodad"]);
      sh("ip", ["-n", ns.name, "link", "set", dev, "up"]);
      const ping = await run("ip", ["netns", "exec", ns.name, "ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", "fd00:79::2"]);
      expect(ping.stdout).toMatch(/2 packets transmitted, 2 received/);

      const small = body.subarray(0, 1 << 20);
      const listener = await RemoteSocket.open(alone.stack, AF_INET6, SOCK_STREAM);
      await listener.bind({ address: "::", port: 80 });
      await listener.listen();
      const out = path.join(dir, "from-ts-v6");
      const curl = run("ip", ["netns", "exec", ns.name, "curl", "-sS", "-g", "--max-time", "30", "-o", out, "http://[fd00:79::2]/small"]);
      const { socket, peer } = await listener.accept();
      expect(peer.address).toBe("fd00:79::1");
      let request = "";
      while (!request.includes("\r\n\r\n")) request += Buffer.from(await socket.recv()).toString("latin1");
      await socket.sendAll(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${small.length}\r\nConnection: close\r\n\r\n`));
      await socket.sendAll(small);
      await socket.shutdown(SHUT_WR);
      const r = await curl;
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(fs.readFileSync(out).equals(small)).toBe(true);
    } finally {
      expect(await alone.stop()).toMatchObject({ code: 0, stderr: "" });
    }
  });

  it("answers a second connect(2) to a silent host with EALREADY while the handshake waits", async () => {
    const s = await RemoteSocket.open(netstackProc.stack, AF_INET, SOCK_STREAM);
    const connect = async (): Promise<number> =>
      (
        await s.endpoint
          .connect((p) => {
            const a = p._initAddr();
            a.family = AF_INET;
            a.port = 80;
            a._initAddr(4).copyBuffer(Uint8Array.of(10, 77, 0, 99)); // nobody answers ARP
          })
          .promise()
      ).errno;
    expect(await connect()).toBe(EINPROGRESS.errno);
    expect(await connect()).toBe(EALREADY.errno);
    s.close();
  });

  it("records the TAP's frames in the --log-packets pcap file", () => {
    const pcap = fs.readFileSync(pcapFile);
    expect(pcap.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(pcap.readUInt32LE(20)).toBe(1); // LINKTYPE_ETHERNET
    // At least the ping and both transfers' segments.
    expect(pcap.length).toBeGreaterThan(2 * SIZE);
  });
});

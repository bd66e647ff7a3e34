// The netstack service (netstack.capnp) driven in this process over a real socket pair, with the
// host clock, the way the sentry will drive it: sockets, TCP and UDP over loopback, readiness
// notifications, options, and hostile arguments.
import { randomBytes } from "node:crypto";
import {
  AF_INET,
  AF_INET6,
  EADDRINUSE,
  EAFNOSUPPORT,
  ECONNREFUSED,
  ECONNRESET,
  EINPROGRESS,
  EISCONN,
  ENFILE,
  EINVAL,
  ENOPROTOOPT,
  ENOTCONN,
  ENOTTY,
  EPERM,
  EPOLLIN,
  EPOLLOUT,
  EPROTONOSUPPORT,
  ESOCKTNOSUPPORT,
  FIONREAD,
  IPPROTO_ICMP,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  IPV6_V6ONLY,
  MSG_PEEK,
  MSG_TRUNC,
  SHUT_WR,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_DOMAIN,
  SO_LINGER,
  SO_RCVBUF,
  SO_TYPE,
  TCP_CONGESTION,
  TCP_NODELAY,
} from "@runsc-ts/abi";
import { rpcPair } from "@runsc-ts/platform";
import { type RpcConnection, netstack } from "@runsc-ts/proto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RemoteSocket, SocketError } from "./client.js";
import { createHostStack, type HostStack } from "./serve.js";
import { NetstackServer } from "./server.js";

let host: HostStack;
let server: NetstackServer;
let client: RpcConnection;
let serverConn: RpcConnection;
let stack: netstack.Stack$Client;

beforeEach(() => {
  host = createHostStack({ log: { info() {}, warn() {}, error() {}, debug() {} } });
  server = new NetstackServer({ stack: host.stack, interfaces: host.interfaces });
  [client, serverConn] = rpcPair({}, { bootstrap: server.bootstrap() });
  stack = client.bootstrap(netstack.Stack$Client);
});

afterEach(async () => {
  client.close();
  await serverConn.closed();
  server.close();
  host.close();
});

async function errnoOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SocketError) return e.errno;
    throw e;
  }
  return 0;
}

async function socketErrno(family: number, type: number, protocol = 0): Promise<number> {
  const r = await stack
    .socket((p) => {
      p.family = family;
      p.type = type;
      p.protocol = protocol;
    })
    .promise();
  return r.errno;
}

describe("socket", () => {
  it("refuses families, types and protocols it does not serve, with Linux's errno", async () => {
    expect(await socketErrno(1 /* AF_UNIX */, SOCK_STREAM)).toBe(EAFNOSUPPORT.errno);
    expect(await socketErrno(AF_INET, SOCK_SEQPACKET)).toBe(ESOCKTNOSUPPORT.errno);
    expect(await socketErrno(AF_INET, SOCK_STREAM, 17)).toBe(EPROTONOSUPPORT.errno);
    expect(await socketErrno(AF_INET, SOCK_DGRAM, 6)).toBe(EPROTONOSUPPORT.errno);
    expect(await socketErrno(AF_INET, SOCK_RAW, 1)).toBe(EPERM.errno);
    expect(await socketErrno(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)).toBe(0);
  });

  it("lists lo with 127.0.0.1/8 and ::1/128 and its routes", async () => {
    const ifs = (await stack.interfaces().promise()).interfaces;
    expect(ifs.length).toBe(1);
    expect(ifs.get(0).name).toBe("lo");
    expect(ifs.get(0).index).toBe(1);
    const addrs = (await stack.addresses().promise()).addresses;
    expect([...Array(addrs.length).keys()].map((i) => `${[...addrs.get(i).addr.toUint8Array()].join(".")}/${addrs.get(i).prefixLen}`)).toEqual([
      "127.0.0.1/8",
      "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1/128",
    ]);
    const routes = (await stack.routes().promise()).routes;
    const list = [...Array(routes.length).keys()].map((i) => `${[...routes.get(i).dst.toUint8Array()].join(".")}/${routes.get(i).dstPrefixLen}`);
    expect(list.sort()).toEqual(["0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1/128", "127.0.0.0/8"]);
  });
});

describe("TCP over loopback", () => {
  it.each([
    [AF_INET, "127.0.0.1"],
    [AF_INET6, "::1"],
    [AF_INET6, "127.0.0.1"],
  ])("echoes 1 MiB (family %i to %s) and reports both ends' addresses", async (family, address) => {
    const listener = await RemoteSocket.open(stack, family, SOCK_STREAM);
    await listener.bind({ address: family === AF_INET ? "0.0.0.0" : "::", port: 0 });
    await listener.listen(8);
    const { port } = await listener.getSockName();
    expect(port).toBeGreaterThan(0);
    const conn = await RemoteSocket.open(stack, family, SOCK_STREAM);
    const [accepted] = await Promise.all([listener.accept(), conn.connect({ address, port })]);
    const server = accepted.socket;
    const payload = randomBytes(1 << 20);
    const echo = (async () => {
      for (let d = await server.recv(); d.length > 0; d = await server.recv()) await server.sendAll(d);
      await server.shutdown(SHUT_WR);
    })();
    const got: Uint8Array[] = [];
    const reading = conn.readToEnd((d) => got.push(d));
    await conn.sendAll(payload);
    await conn.shutdown(SHUT_WR);
    expect(await reading).toBe(payload.length);
    await echo;
    expect(Buffer.concat(got).equals(payload)).toBe(true);
    const local = await conn.getSockName();
    const peer = await conn.getPeerName();
    expect(peer.port).toBe(port);
    expect(accepted.peer.port).toBe(local.port);
    // An AF_INET6 socket reports an IPv4 peer as IPv4-mapped, as Linux does.
    expect(peer.address).toBe(family === AF_INET6 && address === "127.0.0.1" ? "::ffff:7f00:1" : address);
    for (const s of [conn, server, listener]) s.close();
  });

  it("answers connect(2) again the way Linux does: 0 once the handshake is done, then EISCONN", async () => {
    const listener = await RemoteSocket.open(stack, AF_INET, SOCK_STREAM);
    await listener.bind({ address: "127.0.0.1", port: 0 });
    await listener.listen();
    const to = await listener.getSockName();
    const c = await RemoteSocket.open(stack, AF_INET, SOCK_STREAM);
    const again = (): Promise<number> =>
      c.endpoint
        .connect((p) => {
          const a = p._initAddr();
          a.family = AF_INET;
          a.port = to.port;
          a._initAddr(4).copyBuffer(Uint8Array.of(127, 0, 0, 1));
        })
        .promise()
        .then((r) => r.errno);
    expect(await again()).toBe(EINPROGRESS.errno);
    await c.waitFor(EPOLLOUT);
    expect(await again()).toBe(0);
    expect(await again()).toBe(EISCONN.errno);
    // A refused one reports its error once through connect, as through SO_ERROR.
    const d = await RemoteSocket.open(stack, AF_INET, SOCK_STREAM);
    const refused = async (): Promise<number> =>
      (await d.endpoint.connect((p) => {
        const a = p._initAddr();
        a.family = AF_INET;
        a.port = 9;
        a._initAddr(4).copyBuffer(Uint8Array.of(127, 0, 0, 1));
      }).promise()).errno;
    expect(await refused()).toBe(EINPROGRESS.errno);
    await d.waitFor(EPOLLOUT);
    expect(await refused()).toBe(ECONNREFUSED.errno);
  });

  it("closes with a RST under SO_LINGER {on, 0}: the peer reads ECONNRESET", async () => {
    const listener = await RemoteSocket.open(stack, AF_INET, SOCK_STREAM);
    await listener.bind({ address: "127.0.0.1", port: 0 });
    await listener.listen();
    const c = await RemoteSocket.open(stack, AF_INET, SOCK_STREAM);
    const [{ socket: peer }] = await Promise.all([listener.accept(), c.connect(await listener.getSockName())]);
    const linger = new Uint8Array(8);
    new DataView(linger.buffer).setInt32(0, 1, true);
    await c.setSockOpt(SOL_SOCKET, SO_LINGER, linger);
    expect([...(await c.getSockOpt(SOL_SOCKET, SO_LINGER, 8))]).toEqual([...linger]);
    c.close();
    expect(await errnoOf(peer.recv())).toBe(ECONNRESET.errno);
  });

  it("reports a refused connect through SO_ERROR", async () => {
    const conn = await RemoteSocket.open(stack, AF_INET, SOCK_STREAM);
    expect(await errnoOf(conn.connect({ address: "127.0.0.1", port: 9 }))).toBe(ECONNREFUSED.errno);
    expect(await errnoOf(conn.getPeerName())).toBe(ENOTCONN.errno);
  });

  it("frees the port when the client releases the socket", async () => {
    const a = await RemoteSocket.open(stack, AF_INET, SOCK_STREAM);
    await a.bind({ address: "127.0.0.1", port: 4242 });
    await a.listen();
    const b = await RemoteSocket.open(stack, AF_INET, SOCK_STREAM);
    expect(await errnoOf(b.bind({ address: "127.0.0.1", port: 4242 }))).toBe(EADDRINUSE.errno);
    const before = server.endpointCount;
    a.close();
    await expect.poll(() => server.endpointCount).toBe(before - 1);
    await b.bind({ address: "127.0.0.1", port: 4242 });
  });

  it("notifies readiness: data arriving makes the socket readable, once per change", async () => {
    const listener = await RemoteSocket.open(stack, AF_INET, SOCK_STREAM);
    await listener.bind({ address: "127.0.0.1", port: 0 });
    await listener.listen();
    const conn = await RemoteSocket.open(stack, AF_INET, SOCK_STREAM);
    const [{ socket: peer }] = await Promise.all([listener.accept(), conn.connect(await listener.getSockName())]);
    const r0 = await peer.endpoint.readiness((p) => void (p.mask = EPOLLIN | EPOLLOUT)).promise();
    expect(r0.events & EPOLLIN).toBe(0);
    expect(r0.events & EPOLLOUT).toBe(EPOLLOUT);
    const before = peer.notifications;
    await conn.sendAll(new TextEncoder().encode("ping"));
    expect((await peer.waitFor(EPOLLIN)) & EPOLLIN).toBe(EPOLLIN);
    await expect.poll(() => peer.notifications).toBeGreaterThan(before);
    expect(await peer.ioctl(FIONREAD)).toBe(4);
    expect(new TextDecoder().decode(await peer.recv())).toBe("ping");
    const r1 = await peer.endpoint.readiness((p) => void (p.mask = EPOLLIN)).promise();
    expect(r1.events & EPOLLIN).toBe(0);
  });

  it("gets and sets the common options", async () => {
    const s = await RemoteSocket.open(stack, AF_INET6, SOCK_STREAM);
    expect(await s.getSockOptInt(SOL_SOCKET, SO_TYPE)).toBe(SOCK_STREAM);
    expect(await s.getSockOptInt(SOL_SOCKET, SO_DOMAIN)).toBe(AF_INET6);
    expect(await s.getSockOptInt(IPPROTO_TCP, TCP_NODELAY)).toBe(0);
    await s.setSockOptInt(IPPROTO_TCP, TCP_NODELAY, 1);
    expect(await s.getSockOptInt(IPPROTO_TCP, TCP_NODELAY)).toBe(1);
    await s.setSockOptInt(SOL_SOCKET, SO_RCVBUF, 100_000);
    expect(await s.getSockOptInt(SOL_SOCKET, SO_RCVBUF)).toBe(200_000);
    expect(new TextDecoder().decode(await s.getSockOpt(IPPROTO_TCP, TCP_CONGESTION, 16)).replace(/\0+$/, "")).toBe("cubic");
    expect(await errnoOf(s.getSockOpt(SOL_SOCKET, 12345))).toBe(ENOPROTOOPT.errno);
    expect(await errnoOf(s.setSockOpt(IPPROTO_TCP, TCP_NODELAY, new Uint8Array(2)))).toBe(EINVAL.errno);
    // IPV6_V6ONLY: afterwards an IPv4-mapped address is refused; earlier options stay set.
    await s.setSockOptInt(IPPROTO_IPV6, IPV6_V6ONLY, 1);
    expect(await s.getSockOptInt(IPPROTO_IPV6, IPV6_V6ONLY)).toBe(1);
    expect(await s.getSockOptInt(IPPROTO_TCP, TCP_NODELAY)).toBe(1);
    expect(await s.getSockOptInt(SOL_SOCKET, SO_RCVBUF)).toBe(200_000);
    expect(await errnoOf(s.bind({ address: "127.0.0.1", port: 0 }))).toBe(EINVAL.errno);
    await s.bind({ address: "::1", port: 0 });
    expect(await errnoOf(s.setSockOptInt(IPPROTO_IPV6, IPV6_V6ONLY, 0))).toBe(EINVAL.errno);
  });
});

describe("UDP over loopback", () => {
  it("moves datagrams with their source addresses; PEEK, TRUNC and FIONREAD behave as Linux", async () => {
    const a = await RemoteSocket.open(stack, AF_INET, SOCK_DGRAM);
    const b = await RemoteSocket.open(stack, AF_INET, SOCK_DGRAM);
    await a.bind({ address: "127.0.0.1", port: 0 });
    await b.bind({ address: "127.0.0.1", port: 0 });
    const aAddr = await a.getSockName();
    const bAddr = await b.getSockName();
    expect(await a.sendOnce(new TextEncoder().encode("hello, b"), bAddr)).toBe(8);
    await b.waitFor(EPOLLIN);
    expect(await b.ioctl(FIONREAD)).toBe(8);
    const peeked = await b.recvOnce(100, MSG_PEEK);
    expect(new TextDecoder().decode(peeked?.data)).toBe("hello, b");
    const short = await b.recvOnce(5, MSG_TRUNC);
    expect(new TextDecoder().decode(short?.data)).toBe("hello");
    expect(short?.n).toBe(8);
    expect(short?.msgFlags).toBe(MSG_TRUNC);
    expect(short?.from).toEqual(aAddr);
    expect(await b.recvOnce(100)).toBeUndefined();
    // connect + send without an address; AF_UNSPEC dissolves the association.
    await b.connect(aAddr);
    expect(await b.sendOnce(new Uint8Array([1, 2, 3]))).toBe(3);
    expect((await a.recvFrom()).from).toEqual(bAddr);
    const r = await b.endpoint.connect((p) => void (p._initAddr().family = 0)).promise();
    expect(r.errno).toBe(0);
    expect(await errnoOf(b.sendOnce(new Uint8Array([1])))).not.toBe(0);
  });
});

describe("hostile arguments", () => {
  it("answers malformed addresses and requests with errno and keeps serving", async () => {
    const s = await RemoteSocket.open(stack, AF_INET, SOCK_STREAM);
    const bind = (fill: (a: netstack.SockAddr) => void): Promise<number> =>
      s.endpoint
        .bind((p) => fill(p._initAddr()))
        .promise()
        .then((r) => r.errno);
    expect(await bind((a) => ((a.family = AF_INET), a._initAddr(3)))).toBe(EINVAL.errno);
    expect(await bind((a) => ((a.family = AF_INET), a._initAddr(16)))).toBe(EINVAL.errno);
    expect(await bind((a) => ((a.family = 99), a._initAddr(4)))).toBe(EAFNOSUPPORT.errno);
    expect(await bind((a) => ((a.family = AF_INET6), a._initAddr(16)))).toBe(EAFNOSUPPORT.errno);
    expect((await s.endpoint.bind().promise()).errno).toBe(EINVAL.errno);
    expect((await s.endpoint.shutdown((p) => void (p.how = 7)).promise()).errno).toBe(EINVAL.errno);
    expect((await s.endpoint.ioctl((p) => void (p.request = 0xdead)).promise()).errno).toBe(ENOTTY.errno);
    expect((await s.endpoint.listen((p) => void (p.backlog = -5)).promise()).errno).toBe(0);
    const r = await s.endpoint
      .recvMsg((p) => {
        p.maxBytes = 0xffffffff;
      })
      .promise();
    expect(r.errno).toBe(ENOTCONN.errno);
    // Still serving.
    expect(await socketErrno(AF_INET, SOCK_DGRAM)).toBe(0);
  });

  it("bounds the sockets one connection may hold (ENFILE), and frees a slot on release", async () => {
    const small = new NetstackServer({ stack: host.stack, interfaces: host.interfaces, maxEndpoints: 3 });
    const [c, sc] = rpcPair({}, { bootstrap: small.bootstrap() });
    const st = c.bootstrap(netstack.Stack$Client);
    const open = async (): Promise<number> => {
      const r = await st.socket((p) => ((p.family = AF_INET), (p.type = SOCK_DGRAM))).promise();
      return r.errno;
    };
    const socks = [];
    for (let i = 0; i < 3; i++) socks.push(await RemoteSocket.open(st, AF_INET, SOCK_DGRAM));
    expect(await open()).toBe(ENFILE.errno);
    socks[0]?.close();
    await expect.poll(() => small.endpointCount).toBe(2);
    expect(await open()).toBe(0);
    c.close();
    await sc.closed();
    small.close();
  });

  it("closes every endpoint when the connection ends", async () => {
    const s = await RemoteSocket.open(stack, AF_INET, SOCK_STREAM);
    await s.bind({ address: "127.0.0.1", port: 5555 });
    await s.listen();
    expect(server.endpointCount).toBe(1);
    client.close();
    await serverConn.closed();
    server.close();
    expect(server.endpointCount).toBe(0);
    const again = host.stack.newTcpEndpoint("ipv4");
    expect(again.bind({ port: 5555 })).toBeUndefined();
  });
});

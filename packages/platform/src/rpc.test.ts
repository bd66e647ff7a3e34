import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostFd, takeFd, testing } from "@runsc-ts/proto";
import { describe, expect, it } from "vitest";
import { rpcPair } from "./rpc.js";

describe("rpcPair", () => {
  it("carries calls and a donated FD over a real socketpair", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rpc-pair-"));
    try {
      writeFileSync(join(dir, "f"), "over the socket");
      const target = {
        async openFd(p: testing.Echo_OpenFd$Params, r: testing.Echo_OpenFd$Results): Promise<void> {
          if (!p.none) r.fd = hostFd(testing.TestFd$Client, openSync(join(dir, "f"), "r"));
        },
      } as unknown as testing.Echo$Server$Target;
      const [client, server] = rpcPair({}, { bootstrap: new testing.Echo$Server(target) });
      const echo = client.bootstrap(testing.Echo$Client);
      const r = await echo.openFd((p) => (p.none = false)).promise();
      const fd = takeFd(r.fd);
      expect(fd).toBeGreaterThanOrEqual(0);
      expect(readFileSync(fd, "utf8")).toBe("over the socket");
      closeSync(fd);
      client.close();
      expect(await server.closed()).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("answers 10,000 concurrent calls over a real socket, each with its own result", async () => {
    const target = {
      async echo(p: testing.Echo_Echo$Params, r: testing.Echo_Echo$Results): Promise<void> {
        // Answer some calls late so that returns come back out of order.
        if (p.value % 7n === 0n) await new Promise((res) => setImmediate(res));
        r.value = p.value;
      },
      async echoData(p: testing.Echo_EchoData$Params, r: testing.Echo_EchoData$Results): Promise<void> {
        const src = p.data.toUint8Array();
        r._initData(src.length).copyBuffer(src);
      },
    } as unknown as testing.Echo$Server$Target;
    const [client, server] = rpcPair({}, { bootstrap: new testing.Echo$Server(target) });
    const echo = client.bootstrap(testing.Echo$Client);
    const results = await Promise.all(
      Array.from({ length: 10_000 }, (_, i) => echo.echo((p) => (p.value = BigInt(i))).promise().then((r) => r.value)),
    );
    expect(results).toEqual(Array.from({ length: 10_000 }, (_, i) => BigInt(i)));
    const big = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
    const r = await echo.echoData((p) => p._initData(big.length).copyBuffer(big)).promise();
    expect(r.data.toUint8Array()).toEqual(big);
    expect(client.stats()).toEqual({ questions: 0, answers: 0, exports: 0, imports: 1 });
    client.close();
    await server.closed();
  });
});


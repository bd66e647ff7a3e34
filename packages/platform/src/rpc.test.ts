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
});

/**
 * The shared port conformance tests (src/testing/port-conformance.ts) over a net_memif pair in this
 * process: the port under test is one end (server, then client), its far end the other, both on the same
 * pool. The far end's RX is what the port sent; its TX is what the port receives.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { MemifPort } from "./memif.js";
import { portConformance, framesInPool, bytesOf, sendAll, receive } from "../testing/port-conformance.js";
import type { MemifRole } from "./memif-options.js";

for (const role of ["server", "client"] as const) {
  portConformance(`net_memif (${role})`, async ({ debug }) => {
    const dir = mkdtempSync(join(tmpdir(), "xdplane-memif-"));
    const umem = Umem.create({ frames: 1024 });
    const pool = Mempool.create({ umem, cacheSize: 32, debug });
    const socket = join(dir, "memif.sock");
    const other: MemifRole = role === "server" ? "client" : "server";
    const port = MemifPort.create({ name: "memif0:0", pid: 0, mempool: pool, role, socket, socketAbstract: false, rsize: 8, reconnectMs: 20 });
    const far = MemifPort.create({ name: "memif1:0", pid: 1, mempool: pool, role: other, socket, socketAbstract: false, rsize: 8, reconnectMs: 20 });
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      port.close();
      far.close();
      umem.close();
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      await port.whenUp(5000);
      await far.whenUp(5000);
    } catch (e) {
      close();
      throw e;
    }
    return {
      port, pool, rx: "exact", exclusive: true,
      async inject(frames) {
        await sendAll(far, framesInPool(pool, frames));
      },
      async captured(count) {
        const got = await receive(far, count, 3000);
        const out = got.map((h) => bytesOf(pool, h));
        pool.freeBulk(Uint32Array.from(got), got.length);
        return out;
      },
      close,
    };
  });
}

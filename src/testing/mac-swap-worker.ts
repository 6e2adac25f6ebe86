/**
 * A CNF worker for tests (run through cnf/ by `Cnf.start`): sends every frame back on the port it came
 * in on with its MAC addresses swapped. The shape of a user's UDP echo responder.
 */
import type { WorkerContext } from "../cnf/index.js";

export function run(ctx: WorkerContext): void {
  const pool = ctx.mempool!;
  const u8 = pool.umem.u8;
  const shift = pool.umem.shift;
  const dataOff = pool.mbufs.dataOff;
  const bufs = new Uint32Array(ctx.burst);
  const ports = ctx.ports;
  while (ctx.running()) {
    let received = 0;
    for (let p = 0; p < ports.length; p++) {
      const port = ports[p]!;
      const n = port.rxBurst(bufs, bufs.length);
      if (n === 0) continue;
      received += n;
      for (let i = 0; i < n; i++) {
        const h = bufs[i]!;
        const o = ((h << shift) >>> 0) + dataOff[h]!;
        for (let k = 0; k < 6; k++) {
          const t = u8[o + k]!;
          u8[o + k] = u8[o + 6 + k]!;
          u8[o + 6 + k] = t;
        }
      }
      const sent = port.txBurst(bufs, n);
      if (sent < n) pool.freeBulk(bufs, n - sent, sent);
      ctx.count(n, sent, n - sent);
    }
    ctx.idle(received);
  }
}

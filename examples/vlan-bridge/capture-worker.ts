/**
 * For the test only: a CNF worker that posts a copy of every frame it receives to the main thread and
 * frees it. The test runs it on the far end of port B's veth to see the 802.1Q tag, which the kernel
 * strips before a packet socket could see it (XDP sees the frame as it arrived).
 */
import type { WorkerContext } from "xdplane/cnf";

export function run(ctx: WorkerContext): void {
  const pool = ctx.mempool!;
  const { u8, shift } = pool.umem;
  const { dataOff, dataLen } = pool.mbufs;
  const bufs = new Uint32Array(ctx.burst);
  while (ctx.running()) {
    let received = 0;
    for (const port of ctx.ports) {
      const n = port.rxBurst(bufs, bufs.length);
      received += n;
      for (let i = 0; i < n; i++) {
        const o = ((bufs[i]! << shift) >>> 0) + dataOff[bufs[i]!]!;
        ctx.post(u8.slice(o, o + dataLen[bufs[i]!]!));
      }
      pool.freeBulk(bufs, n, 0);
      ctx.count(n, 0, 0);
    }
    ctx.idle(received);
  }
}

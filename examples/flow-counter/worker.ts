// The flow counter's worker: counts every frame in this thread's FlowCounter (IPv4 by 5-tuple, the rest
// apart; shared with main) and sends it back out of its port with the MAC addresses swapped.
import type { WorkerContext } from "xdplane/cnf";
import { FlowCounter, swapMac } from "xdplane/wire";

export function run(ctx: WorkerContext<SharedArrayBuffer>): void {
  const pool = ctx.mempool!;
  const { u8, shift } = pool.umem;
  const { dataOff, dataLen } = pool.mbufs;
  const table = new FlowCounter(ctx.data); // the thread's table, made by main
  const bufs = new Uint32Array(ctx.burst);
  while (ctx.running()) {
    let received = 0;
    for (const port of ctx.ports) {
      const n = port.rxBurst(bufs, bufs.length);
      received += n;
      for (let i = 0; i < n; i++) {
        const h = bufs[i]!;
        const o = ((h << shift) >>> 0) + dataOff[h]!;
        table.countFrame(u8, o, dataLen[h]!);
        swapMac(u8, o);
      }
      const sent = port.txBurst(bufs, n);
      if (sent < n) pool.freeBulk(bufs, n - sent, sent);
      ctx.count(n, sent, n - sent);
    }
    ctx.idle(received);
  }
}

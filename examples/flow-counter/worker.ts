/**
 * The flow counter's worker: counts every IPv4 frame under its 5-tuple (ports for TCP and UDP) in this
 * thread's flow table (flow-table.ts, shared with the main thread), counts non-IPv4 frames apart, and
 * sends every frame back out of its port with the MAC addresses swapped (a counting reflector).
 */
import type { WorkerContext } from "xdplane/cnf";
import { flowTable, countFlow } from "./flow-table.js";

/** ctx.data: the thread's flow table and its counter of non-IPv4 frames (one f64). */
export interface FlowData { table: SharedArrayBuffer; other: SharedArrayBuffer }

export function run(ctx: WorkerContext<FlowData>): void {
  const pool = ctx.mempool!;
  const { u8, shift } = pool.umem;
  const { dataOff, dataLen } = pool.mbufs;
  const table = flowTable(ctx.data.table);
  const other = new Float64Array(ctx.data.other);
  const bufs = new Uint32Array(ctx.burst);
  const be32 = (o: number) => ((u8[o]! << 24) | (u8[o + 1]! << 16) | (u8[o + 2]! << 8) | u8[o + 3]!) >>> 0;
  while (ctx.running()) {
    let received = 0;
    for (const port of ctx.ports) {
      const n = port.rxBurst(bufs, bufs.length);
      received += n;
      for (let i = 0; i < n; i++) {
        const h = bufs[i]!;
        const o = ((h << shift) >>> 0) + dataOff[h]!;
        const len = dataLen[h]!;
        const ip = o + 14;
        if (len >= 34 && u8[o + 12] === 0x08 && u8[o + 13] === 0x00 && u8[ip]! >> 4 === 4) {
          const proto = u8[ip + 9]!;
          const l4 = ip + (u8[ip]! & 0x0f) * 4;
          const ported = (proto === 6 || proto === 17) && l4 + 4 <= o + len;
          countFlow(table, be32(ip + 12), be32(ip + 16), ported ? be32(l4) : 0, proto, len);
        } else {
          other[0] = other[0]! + 1;
        }
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

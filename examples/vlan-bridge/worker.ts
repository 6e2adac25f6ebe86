/**
 * The VLAN bridge's worker: one thread serves both ports. Frames from port A (ctx.ports[0]) get an
 * 802.1Q tag with the configured VID and leave by port B; frames from B tagged with that VID lose the tag
 * and leave by A; everything else from B is dropped and counted. The tag goes into the frame's headroom:
 * the MAC addresses move 4 bytes (copyWithin, no allocation) and dataOff/dataLen follow.
 */
import type { WorkerContext } from "xdplane/cnf";

/** ctx.data: the VLAN id and the shared counters (Float64Array over it: tagged, untagged, dropped). */
export interface BridgeData { vid: number; counters: SharedArrayBuffer }

export function run(ctx: WorkerContext<BridgeData>): void {
  const a = ctx.ports[0]!;
  const b = ctx.ports[1]!;
  const pool = ctx.mempool!;
  const { u8, shift } = pool.umem;
  const { dataOff, dataLen } = pool.mbufs;
  const vid = ctx.data.vid;
  const counters = new Float64Array(ctx.data.counters);
  const bufs = new Uint32Array(ctx.burst);
  const drop = new Uint32Array(ctx.burst);
  while (ctx.running()) {
    // A -> B: tag every frame.
    let n = a.rxBurst(bufs, bufs.length);
    const received = n;
    for (let i = 0; i < n; i++) {
      const h = bufs[i]!;
      const o = ((h << shift) >>> 0) + dataOff[h]!;
      u8.copyWithin(o - 4, o, o + 12);
      u8[o + 8] = 0x81; u8[o + 9] = 0x00; // TPID
      u8[o + 10] = vid >>> 8; u8[o + 11] = vid & 0xff; // TCI: PCP 0, DEI 0, VID
      dataOff[h] = dataOff[h]! - 4;
      dataLen[h] = dataLen[h]! + 4;
    }
    let sent = b.txBurst(bufs, n);
    if (sent < n) pool.freeBulk(bufs, n - sent, sent);
    counters[0] = counters[0]! + sent;
    ctx.count(n, sent, n - sent);
    // B -> A: untag frames of our VID, drop the rest.
    n = b.rxBurst(bufs, bufs.length);
    let out = 0;
    let dropped = 0;
    for (let i = 0; i < n; i++) {
      const h = bufs[i]!;
      const o = ((h << shift) >>> 0) + dataOff[h]!;
      if (dataLen[h]! >= 18 && u8[o + 12] === 0x81 && u8[o + 13] === 0x00 && (((u8[o + 14]! & 0x0f) << 8) | u8[o + 15]!) === vid) {
        u8.copyWithin(o + 4, o, o + 12);
        dataOff[h] = dataOff[h]! + 4;
        dataLen[h] = dataLen[h]! - 4;
        bufs[out++] = h;
      } else {
        drop[dropped++] = h;
      }
    }
    sent = a.txBurst(bufs, out);
    if (sent < out) pool.freeBulk(bufs, out - sent, sent);
    if (dropped > 0) pool.freeBulk(drop, dropped, 0);
    counters[1] = counters[1]! + sent;
    counters[2] = counters[2]! + dropped;
    ctx.count(n, sent, n - sent);
    ctx.idle(received + n);
  }
}

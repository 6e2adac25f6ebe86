/**
 * The UDP echo responder's worker (one per thread of the config): every IPv4/UDP frame goes back out of
 * the port it came in on with MACs, IPs and ports swapped and TTL 64; everything else is dropped.
 *
 * Checksums: swapping the addresses and ports leaves both one's-complement sums unchanged (the UDP
 * checksum covers them through the pseudo-header), so the UDP checksum, 0 or not, stays valid as it is.
 * The new TTL changes the IPv4 header: its checksum is updated incrementally (RFC 1624, eqn. 3).
 */
import type { WorkerContext } from "xdplane/cnf";

const TTL = 64;

export function run(ctx: WorkerContext): void {
  const pool = ctx.mempool!;
  const { u8, shift } = pool.umem;
  const { dataOff, dataLen } = pool.mbufs;
  const bufs = new Uint32Array(ctx.burst);
  const drop = new Uint32Array(ctx.burst);
  while (ctx.running()) {
    let received = 0;
    for (const port of ctx.ports) {
      const n = port.rxBurst(bufs, bufs.length);
      received += n;
      let out = 0;
      let dropped = 0;
      for (let i = 0; i < n; i++) {
        const h = bufs[i]!;
        const o = ((h << shift) >>> 0) + dataOff[h]!;
        const ip = o + 14;
        const l4 = ip + (u8[ip]! & 0x0f) * 4;
        if (dataLen[h]! < 42 || u8[o + 12] !== 0x08 || u8[o + 13] !== 0x00 || u8[ip]! >> 4 !== 4 || u8[ip + 9] !== 17 || l4 + 8 > o + dataLen[h]!) {
          drop[dropped++] = h;
          continue;
        }
        swap(u8, o, o + 6, 6); // Ethernet destination <-> source
        swap(u8, ip + 12, ip + 16, 4); // IPv4 source <-> destination
        swap(u8, l4, l4 + 2, 2); // UDP source port <-> destination port
        // TTL and protocol share a 16-bit word: HC' = ~(~HC + ~m + m') (RFC 1624).
        const m = (u8[ip + 8]! << 8) | u8[ip + 9]!;
        const m2 = (TTL << 8) | u8[ip + 9]!;
        let sum = (~((u8[ip + 10]! << 8) | u8[ip + 11]!) & 0xffff) + (~m & 0xffff) + m2;
        sum = (sum & 0xffff) + (sum >>> 16);
        sum = (sum & 0xffff) + (sum >>> 16);
        const hc = ~sum & 0xffff;
        u8[ip + 8] = TTL;
        u8[ip + 10] = hc >>> 8;
        u8[ip + 11] = hc & 0xff;
        bufs[out++] = h;
      }
      const sent = port.txBurst(bufs, out);
      if (sent < out) pool.freeBulk(bufs, out - sent, sent);
      if (dropped > 0) pool.freeBulk(drop, dropped, 0);
      ctx.count(n, sent, n - sent);
    }
    ctx.idle(received);
  }
}

function swap(u8: Uint8Array, a: number, b: number, len: number): void {
  for (let k = 0; k < len; k++) {
    const t = u8[a + k]!;
    u8[a + k] = u8[b + k]!;
    u8[b + k] = t;
  }
}

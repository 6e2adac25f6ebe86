/**
 * The UDP echo worker: IPv4/UDP frames go back out of their port with MACs, IPs and ports swapped and TTL 64
 * (IPv4 checksum updated per RFC 1624; the UDP checksum stays valid); everything else is dropped.
 */
import type { WorkerContext } from "xdplane/cnf";
import { ETH_HLEN, udpAt, swapMac, swapIp4, swapUdpPorts, setIp4Ttl } from "xdplane/wire";

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
        const l4 = udpAt(u8, o, dataLen[h]!);
        if (l4 < 0) {
          drop[dropped++] = h;
          continue;
        }
        swapMac(u8, o);
        swapIp4(u8, o + ETH_HLEN);
        swapUdpPorts(u8, l4);
        setIp4Ttl(u8, o + ETH_HLEN, 64);
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

// The VLAN bridge's worker, one thread for both ports: A's frames get the VID's 802.1Q tag and leave by B;
// B's frames of that VID leave by A untagged; B's others are dropped.
import type { WorkerContext } from "xdplane/cnf";
import { Pktmbuf } from "xdplane/mem";
import { VLAN_HLEN, vlanInsert, vlanRemove, vlanId } from "xdplane/wire";

/** ctx.data: the VLAN id and the counters shared with main (tagged, untagged, dropped). */
export interface BridgeData { vid: number; counters: Float64Array }

export function run(ctx: WorkerContext<BridgeData>): void {
  const [a, b] = [ctx.ports[0]!, ctx.ports[1]!];
  const pool = ctx.mempool!;
  const u8 = pool.umem.u8;
  const pkt = new Pktmbuf(pool.umem, pool.mbufs); // frame offsets and lengths by handle
  const { vid, counters } = ctx.data;
  const bufs = new Uint32Array(ctx.burst);
  const drop = new Uint32Array(ctx.burst);
  while (ctx.running()) {
    // A -> B: tag every frame, in its headroom.
    let n = a.rxBurst(bufs, bufs.length);
    const received = n;
    for (let i = 0; i < n; i++) {
      vlanInsert(u8, pkt.mtod(bufs[i]!), vid);
      pkt.prepend(bufs[i]!, VLAN_HLEN);
    }
    let sent = b.txBurst(bufs, n);
    if (sent < n) pool.freeBulk(bufs, n - sent, sent);
    counters[0] = counters[0]! + sent;
    ctx.count(n, sent, n - sent);
    // B -> A: untag frames of our VID, drop the rest.
    n = b.rxBurst(bufs, bufs.length);
    let out = 0, dropped = 0;
    for (let i = 0; i < n; i++) {
      const h = bufs[i]!;
      if (vlanId(u8, pkt.mtod(h), pkt.len(h)) !== vid) { drop[dropped++] = h; continue; }
      vlanRemove(u8, pkt.mtod(h));
      pkt.adj(h, VLAN_HLEN);
      bufs[out++] = h;
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

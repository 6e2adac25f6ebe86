/**
 * net_ring: a port over two in-memory rings (RX and TX), for pipelines between threads and for tests.
 * Two ring ports are wired back to back with {@link RingPort.pair}; one port loops back to itself when
 * its RX and TX are the same ring.
 */
import { Lport, newPortState, type LportShared } from "./lport.js";
import { Ring, type RingShared } from "../ring/ring.js";
import type { MbufTable, MbufShared } from "../mem/mbuf.js";
import { MbufTable as Mbufs } from "../mem/mbuf.js";
import * as S from "../xsk/stats.js";

export interface RingPortShared extends LportShared {
  rx: RingShared;
  tx: RingShared;
  mbufs: MbufShared;
}

export class RingPort extends Lport {
  readonly rx: Ring;
  readonly tx: Ring;
  readonly pool = null;
  private readonly mbufs: MbufTable;

  private constructor(s: RingPortShared, mbufs?: MbufTable) {
    super(s);
    this.rx = Ring.fromShared(s.rx);
    this.tx = Ring.fromShared(s.tx);
    this.mbufs = mbufs ?? Mbufs.fromShared(s.mbufs);
  }

  /**
   * A ring port. `rx`/`tx` default to new single-producer/single-consumer rings of `size` slots
   * (default 1024); pass the same ring for both to loop back.
   */
  static create(o: { name: string; pid: number; mbufs: MbufTable; rx?: Ring; tx?: Ring; size?: number; mac?: string; multi?: boolean }): RingPort {
    const size = o.size ?? 1024;
    const mk = (dir: string) => Ring.create({ size, name: `${o.name}-${dir}`, multiProducer: o.multi ?? false, multiConsumer: o.multi ?? false });
    const rx = o.rx ?? mk("rx");
    const tx = o.tx ?? mk("tx");
    return new RingPort({ driver: "net_ring", name: o.name, pid: o.pid, mac: o.mac ?? "00:00:00:00:00:00", ...newPortState(), rx: rx.toShared(), tx: tx.toShared(), mbufs: o.mbufs.toShared() }, o.mbufs);
  }

  /** Two ports wired back to back: what `a` sends, `b` receives, and the other way round. */
  static pair(o: { names: [string, string]; pids: [number, number]; mbufs: MbufTable; size?: number }): [RingPort, RingPort] {
    const size = o.size ?? 1024;
    const ab = Ring.create({ size, name: `${o.names[0]}->${o.names[1]}` });
    const ba = Ring.create({ size, name: `${o.names[1]}->${o.names[0]}` });
    return [
      RingPort.create({ name: o.names[0], pid: o.pids[0], mbufs: o.mbufs, rx: ba, tx: ab }),
      RingPort.create({ name: o.names[1], pid: o.pids[1], mbufs: o.mbufs, rx: ab, tx: ba }),
    ];
  }

  static fromShared(s: RingPortShared, mbufs?: MbufTable): RingPort {
    return new RingPort(s, mbufs);
  }

  toShared(): RingPortShared {
    return { driver: this.driver, name: this.name, pid: this.pid, mac: this.mac, stats: this.stats.buffer as SharedArrayBuffer, admin: this.admin.buffer as SharedArrayBuffer, rx: this.rx.toShared(), tx: this.tx.toShared(), mbufs: this.mbufs.toShared() };
  }

  rxBurst(bufs: Uint32Array, max: number): number {
    if (this.admin[0] !== 1) return 0;
    const n = this.rx.dequeueBurst(bufs, max);
    if (n === 0) {
      this.stats[S.ST_RX_EMPTY_POLLS]!++;
      return 0;
    }
    const dataLen = this.mbufs.dataLen;
    const port = this.mbufs.port;
    const pid = this.pid;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const h = bufs[i]!;
      port[h] = pid;
      bytes += dataLen[h]!;
    }
    const st = this.stats;
    st[S.ST_IPACKETS]! += n;
    st[S.ST_IBYTES]! += bytes;
    return n;
  }

  txBurst(bufs: Uint32Array, n: number): number {
    if (this.admin[0] !== 1) return 0;
    const k = this.tx.enqueueBurst(bufs, n);
    const dataLen = this.mbufs.dataLen;
    let bytes = 0;
    for (let i = 0; i < k; i++) bytes += dataLen[bufs[i]!]!;
    const st = this.stats;
    st[S.ST_OPACKETS]! += k;
    st[S.ST_OBYTES]! += bytes;
    if (k < n) st[S.ST_ODROPPED]! += n - k;
    return k;
  }

  close(): void { /* rings are garbage-collected memory; nothing to release */ }
}

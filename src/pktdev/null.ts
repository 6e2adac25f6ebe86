/**
 * net_null: RX fabricates packets (buffers from the mempool with a fixed length, contents untouched), TX
 * frees them. It measures pure user-space cost: a null -> work -> null pipeline has no kernel in it.
 */
import { Lport, newPortState, type LportShared } from "./lport.js";
import { Mempool, type MempoolShared } from "../mem/mempool.js";
import * as S from "../xsk/stats.js";

export interface NullShared extends LportShared {
  mempool: MempoolShared;
  pktSize: number;
}

export class NullPort extends Lport {
  readonly mempool: Mempool;
  readonly pool: Mempool;
  readonly pktSize: number;
  private readonly dataLen: Uint16Array;
  private readonly port: Uint16Array;

  private constructor(s: NullShared, mempool: Mempool) {
    super(s);
    this.mempool = mempool;
    this.pool = mempool;
    this.pktSize = s.pktSize;
    this.dataLen = mempool.mbufs.dataLen;
    this.port = mempool.mbufs.port;
  }

  static create(o: { name: string; pid: number; mempool: Mempool; pktSize?: number; mac?: string }): NullPort {
    const pktSize = o.pktSize ?? 64;
    if (pktSize < 14 || pktSize > o.mempool.umem.frameSize - o.mempool.umem.headroom) {
      throw new RangeError(`Invalid packet size ${pktSize} for null port '${o.name}'`);
    }
    return new NullPort({ driver: "net_null", name: o.name, pid: o.pid, mac: o.mac ?? "00:00:00:00:00:00", ...newPortState(), mempool: o.mempool.toShared(), pktSize }, o.mempool);
  }

  static fromShared(s: NullShared, mempool?: Mempool): NullPort {
    return new NullPort(s, mempool ?? Mempool.fromShared(s.mempool));
  }

  toShared(): NullShared {
    return { driver: this.driver, name: this.name, pid: this.pid, mac: this.mac, stats: this.stats.buffer as SharedArrayBuffer, admin: this.admin.buffer as SharedArrayBuffer, mempool: this.mempool.toShared(), pktSize: this.pktSize };
  }

  rxBurst(bufs: Uint32Array, max: number): number {
    if (this.admin[0] !== 1) return 0;
    const n = this.mempool.allocBulk(bufs, max);
    const len = this.pktSize;
    const dataLen = this.dataLen;
    const port = this.port;
    const pid = this.pid;
    for (let i = 0; i < n; i++) {
      const h = bufs[i]!;
      dataLen[h] = len;
      port[h] = pid;
    }
    const st = this.stats;
    st[S.ST_IPACKETS]! += n;
    st[S.ST_IBYTES]! += n * len;
    return n;
  }

  txBurst(bufs: Uint32Array, n: number): number {
    if (this.admin[0] !== 1) return 0;
    const dataLen = this.dataLen;
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += dataLen[bufs[i]!]!;
    this.mempool.freeBulk(bufs, n);
    const st = this.stats;
    st[S.ST_OPACKETS]! += n;
    st[S.ST_OBYTES]! += bytes;
    return n;
  }

  close(): void {
    this.mempool.flushCache();
  }
}

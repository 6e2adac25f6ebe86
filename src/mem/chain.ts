/**
 * Chained packets (DPDK's multi-segment rte_mbuf, lib/mbuf/rte_mbuf.h) over the mbuf table: a packet
 * larger than one frame is a chain of handles linked by `next`, its first segment carrying `nbSegs` and
 * `pktLen`. Multi-buffer AF_XDP sockets receive jumbo frames as chains and send chains as descriptor
 * sequences (xsk/socket.ts); applications build and edit them with {@link MbufChain}.
 *
 * The operations keep DPDK's rte_pktmbuf_* semantics:
 * - prepend / adj work on the first segment (its headroom, its data), append / trim on the last one;
 *   each fails with -1, changing nothing, when that segment has no room (or too few bytes);
 * - every one keeps the packet length on the first segment;
 * - chain(head, tail) links `tail`'s segments after `head`'s last one;
 * - freeing a packet (pool.freeBulk / free) frees every segment; a frame with other references (clones,
 *   refcntUpdate, see clone.ts) loses one instead, and a clone releases the frame it views.
 *
 * A single-segment packet is a chain of one: its length is `dataLen` (`pktLen` is written only for chains
 * of two or more, so receive paths of single frames stay as they were).
 *
 * Making an MbufChain turns the table's segment mode on ({@link MbufTable.enableSegments}): from then
 * on the pools' frees look at the segment words. Nothing here allocates, except {@link MbufChain.bytes}
 * and {@link MbufChain.fromBytes} (control path and tests).
 *
 * @example
 * const pm = new MbufChain(pool);
 * const p = pm.fromBytes(frame);           // a 9000-byte frame: six segments of up to 1792 bytes
 * pm.prepend(p, 4);                        // room for a tag in the first segment's headroom
 * pm.pktLen(p);                            // 9004
 * pool.free(p);                            // every segment back to the pool
 */
import type { Mempool } from "./mempool.js";
import type { MbufTable } from "./mbuf.js";
import type { Umem } from "./umem.js";
import { clonePacket, refcntUpdate } from "./clone.js";

/** Most segments one packet can have (nbSegs is 16 bits; DPDK's RTE_MBUF_MAX_NB_SEGS). */
export const MAX_SEGS = 0xffff;

export class MbufChain {
  readonly pool: Mempool;
  readonly umem: Umem;
  readonly mbufs: MbufTable;
  private readonly shift: number;
  private readonly frameSize: number;
  private readonly next: Int32Array;
  private readonly direct: Int32Array;
  private readonly nbSegsA: Uint16Array;
  private readonly pktLenA: Uint32Array;
  private readonly dataOff: Uint16Array;
  private readonly dataLen: Uint16Array;

  /** Operations on chains of `pool`'s frames; turns segment mode on for its mbuf table. */
  constructor(pool: Mempool) {
    this.pool = pool;
    this.umem = pool.umem;
    this.mbufs = pool.mbufs;
    this.shift = pool.umem.shift;
    this.frameSize = pool.umem.frameSize;
    this.next = pool.mbufs.next;
    this.direct = pool.mbufs.direct;
    this.nbSegsA = pool.mbufs.nbSegs;
    this.pktLenA = pool.mbufs.pktLen;
    this.dataOff = pool.mbufs.dataOff;
    this.dataLen = pool.mbufs.dataLen;
    pool.mbufs.enableSegments();
  }

  /** Byte offset in the UMEM of segment `s`'s data (a clone's is in the frame it views). */
  mtod(s: number): number {
    const d = this.direct[s]!;
    return (((d === -1 ? s : d) << this.shift) >>> 0) + this.dataOff[s]!;
  }

  /** Segments in packet `h`. */
  nbSegs(h: number): number {
    return this.nbSegsA[h]!;
  }

  /** Bytes in packet `h`, every segment. */
  pktLen(h: number): number {
    return this.nbSegsA[h]! > 1 ? this.pktLenA[h]! : this.dataLen[h]!;
  }

  /** The segment after `s`, or -1. */
  nextSeg(s: number): number {
    return this.next[s]!;
  }

  /** The last segment of packet `h`. */
  lastSeg(h: number): number {
    let s = h;
    for (let k = this.mbufs.count; this.next[s] !== -1 && k > 0; k--) s = this.next[s]!;
    return s;
  }

  /** Room before segment `s`'s data (in the frame holding it). */
  headroom(s: number): number {
    return this.dataOff[s]!;
  }

  /** Room after segment `s`'s data. */
  tailroom(s: number): number {
    return this.frameSize - this.dataOff[s]! - this.dataLen[s]!;
  }

  /** Whether `h` is a clone (an indirect handle viewing another frame's bytes). */
  isIndirect(h: number): boolean {
    return this.direct[h] !== -1;
  }

  /** References to the frame holding `s`'s bytes (1 when nobody shares it). */
  refcnt(s: number): number {
    const d = this.direct[s]!;
    return this.mbufs.refcnt[d === -1 ? s : d]!;
  }

  /** Adds `n` bytes before the data of the first segment; returns their UMEM offset, or -1 without headroom. */
  prepend(h: number, n: number): number {
    if (n > this.dataOff[h]!) return -1;
    this.dataOff[h] = this.dataOff[h]! - n;
    this.dataLen[h] = this.dataLen[h]! + n;
    if (this.nbSegsA[h]! > 1) this.pktLenA[h] = this.pktLenA[h]! + n;
    return this.mtod(h);
  }

  /** Adds `n` bytes after the data of the last segment; returns their UMEM offset, or -1 without tailroom. */
  append(h: number, n: number): number {
    const last = this.lastSeg(h);
    if (n > this.tailroom(last)) return -1;
    const o = this.mtod(last) + this.dataLen[last]!;
    this.dataLen[last] = this.dataLen[last]! + n;
    if (this.nbSegsA[h]! > 1) this.pktLenA[h] = this.pktLenA[h]! + n;
    return o;
  }

  /** Removes `n` bytes from the start of the first segment; returns the new data offset, or -1 if it has fewer. */
  adj(h: number, n: number): number {
    if (n > this.dataLen[h]!) return -1;
    this.dataLen[h] = this.dataLen[h]! - n;
    this.dataOff[h] = this.dataOff[h]! + n;
    if (this.nbSegsA[h]! > 1) this.pktLenA[h] = this.pktLenA[h]! - n;
    return this.mtod(h);
  }

  /** Removes `n` bytes from the end of the last segment; returns 0, or -1 if it has fewer. */
  trim(h: number, n: number): number {
    const last = this.lastSeg(h);
    if (n > this.dataLen[last]!) return -1;
    this.dataLen[last] = this.dataLen[last]! - n;
    if (this.nbSegsA[h]! > 1) this.pktLenA[h] = this.pktLenA[h]! - n;
    return 0;
  }

  /**
   * Links packet `tail` after packet `head` (rte_pktmbuf_chain): `head` becomes one packet of both
   * segment lists. Returns 0, or -1 (nothing changed) when the segments would exceed {@link MAX_SEGS} or
   * `tail` is `head`.
   */
  chain(head: number, tail: number): number {
    const nb = this.nbSegsA[head]! + this.nbSegsA[tail]!;
    if (nb > MAX_SEGS || head === tail) return -1;
    const total = this.pktLen(head) + this.pktLen(tail);
    this.next[this.lastSeg(head)] = tail;
    this.nbSegsA[head] = nb;
    this.pktLenA[head] = total;
    // Only the first segment carries the packet's counts.
    this.nbSegsA[tail] = 1;
    this.pktLenA[tail] = this.dataLen[tail]!;
    return 0;
  }

  /**
   * Copies `len` bytes of packet `h` from byte `off` (across segments) into `dst` at `at`; returns `len`,
   * or -1 (nothing copied) when the packet is shorter than off + len or `dst` too small. Copies byte by
   * byte: for headers and small reads (use {@link bytes} for whole jumbo frames in tests).
   */
  read(h: number, off: number, len: number, dst: Uint8Array, at = 0): number {
    if (off < 0 || len < 0 || off + len > this.pktLen(h) || at + len > dst.length) return -1;
    const u8 = this.umem.u8;
    let s = h;
    let skip = off;
    let done = 0;
    for (let k = this.mbufs.count; s !== -1 && done < len && k > 0; k--) {
      const dl = this.dataLen[s]!;
      if (skip >= dl) {
        skip -= dl;
      } else {
        const o = this.mtod(s) + skip;
        const n = Math.min(dl - skip, len - done);
        for (let i = 0; i < n; i++) dst[at + done + i] = u8[o + i]!;
        done += n;
        skip = 0;
      }
      s = this.next[s]!;
    }
    return done;
  }

  /**
   * Moves the data of every segment into the first one when its tailroom takes them
   * (rte_pktmbuf_linearize) and frees the others: returns 0, or -1 (nothing changed) when it does not
   * fit or the first segment's bytes are shared (a clone, or a frame with other references).
   */
  linearize(h: number): number {
    if (this.nbSegsA[h]! <= 1) return 0;
    if (this.isIndirect(h) || this.refcnt(h) !== 1) return -1;
    const total = this.pktLenA[h]!;
    if (this.dataOff[h]! + total > this.frameSize) return -1;
    const u8 = this.umem.u8;
    let at = this.mtod(h) + this.dataLen[h]!;
    const rest = this.next[h]!;
    for (let s = rest, k = this.mbufs.count; s !== -1 && k > 0; s = this.next[s]!, k--) {
      const o = this.mtod(s);
      u8.copyWithin(at, o, o + this.dataLen[s]!);
      at += this.dataLen[s]!;
    }
    this.next[h] = -1;
    this.nbSegsA[h] = 1;
    this.dataLen[h] = total;
    this.pool.free(rest);
    return 0;
  }

  /**
   * Clones packet `h` (see clone.ts): returns the clone's first handle, or -1 when the pool has too few
   * free handles. The clone views the same bytes; the frames live until the original and every clone
   * are freed.
   */
  clone(h: number): number {
    return clonePacket(this.pool, h);
  }

  /** Adds `v` references to every segment of `h` (see clone.ts refcntUpdate); 0, or -1 when refused. */
  refcntUpdate(h: number, v: number): number {
    return refcntUpdate(this.pool, h, v);
  }

  /** Frees packet `h`: every segment (or one reference to it). */
  free(h: number): void {
    this.pool.free(h);
  }

  /**
   * A new packet holding `data`, in segments of at most `segSize` bytes (default: the frame size after
   * the headroom) each at the headroom of its frame; returns its first handle, or -1 (nothing taken) when
   * the pool runs out. Control path and tests.
   */
  fromBytes(data: Uint8Array, segSize = this.frameSize - this.umem.headroom): number {
    if (!Number.isInteger(segSize) || segSize < 1 || segSize > this.frameSize - this.umem.headroom) {
      throw new RangeError(`Invalid segment size ${segSize}: 1 to ${this.frameSize - this.umem.headroom} (frame size ${this.frameSize} minus the ${this.umem.headroom}-byte headroom)`);
    }
    const nseg = Math.max(1, Math.ceil(data.length / segSize));
    if (nseg > MAX_SEGS) throw new RangeError(`${data.length} bytes in ${segSize}-byte segments need ${nseg} segments; at most ${MAX_SEGS}`);
    const hs = new Uint32Array(nseg);
    const got = this.pool.allocBulk(hs, nseg);
    if (got < nseg) {
      this.pool.freeBulk(hs, got);
      return -1;
    }
    for (let i = 0; i < nseg; i++) {
      const s = hs[i]!;
      const part = data.subarray(i * segSize, Math.min(data.length, (i + 1) * segSize));
      this.umem.u8.set(part, this.mtod(s));
      this.dataLen[s] = part.length;
      if (i > 0) this.next[hs[i - 1]!] = s;
    }
    const h = hs[0]!;
    this.nbSegsA[h] = nseg;
    this.pktLenA[h] = data.length;
    return h;
  }

  /** A copy of packet `h`'s bytes, every segment (control path and tests). */
  bytes(h: number): Uint8Array {
    const out = new Uint8Array(this.pktLen(h));
    let at = 0;
    for (let s = h, k = this.mbufs.count; s !== -1 && k > 0; s = this.next[s]!, k--) {
      const o = this.mtod(s);
      out.set(this.umem.u8.subarray(o, o + this.dataLen[s]!), at);
      at += this.dataLen[s]!;
    }
    return out;
  }

  /** The handles of packet `h`'s segments, in order (control path and tests). */
  segments(h: number): number[] {
    const out: number[] = [];
    for (let s = h, k = this.mbufs.count; s !== -1 && k > 0; s = this.next[s]!, k--) out.push(s);
    return out;
  }
}

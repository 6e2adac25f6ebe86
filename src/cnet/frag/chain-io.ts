/**
 * Reading and summing packets that may be mbuf chains (a reassembled datagram, a large datagram a
 * channel sends): byte ranges are counted from the start of the first segment's data (the Ethernet
 * header in the stack), across segments. One object per stack over the mbuf table's arrays; nothing
 * here allocates per packet.
 *
 * @example
 * const io = new ChainIo(mempool);
 * const len = io.pktLen(h);
 * const sum = io.sum(h, 34, len - 34); // the folded one's-complement sum of the IPv4 payload
 */
import type { Mempool } from "../../mem/mempool.js";

/**
 * Byte ranges of packets across segments. See the module comment.
 *
 * @example
 * const io = new ChainIo(mempool);
 */
export class ChainIo {
  declare readonly u8: Uint8Array;
  declare private readonly shift: number;
  declare private readonly next: Int32Array;
  declare private readonly nbSegs: Uint16Array;
  declare private readonly pktLenA: Uint32Array;
  declare private readonly dataOff: Uint16Array;
  declare private readonly dataLen: Uint16Array;
  declare private readonly count: number;
  declare private readonly mp: Mempool;

  constructor(mp: Mempool) {
    this.mp = mp;
    this.u8 = mp.umem.u8;
    this.shift = mp.umem.shift;
    this.next = mp.mbufs.next;
    this.nbSegs = mp.mbufs.nbSegs;
    this.pktLenA = mp.mbufs.pktLen;
    this.dataOff = mp.mbufs.dataOff;
    this.dataLen = mp.mbufs.dataLen;
    this.count = mp.mbufs.count;
  }

  /**
   * Bytes in packet `h` (every segment).
   *
   * @example
   * const n = io.pktLen(h);
   */
  pktLen(h: number): number {
    return this.nbSegs[h]! > 1 ? this.pktLenA[h]! : this.dataLen[h]!;
  }

  /**
   * Whether `h` is a chain of two or more segments.
   *
   * @example
   * if (io.chained(h)) console.log(io.pktLen(h));
   */
  chained(h: number): boolean {
    return this.nbSegs[h]! > 1;
  }

  /**
   * The folded one's-complement sum (0 to 0xffff, not complemented) of the `len` bytes of packet `h` from
   * byte `from`, as if they were contiguous (a segment starting at an odd position is byte-swapped, RFC
   * 1071 2(B)). The caller checked that the packet holds them.
   *
   * @example
   * const pseudo = 0x1234; // the UDP pseudo-header's sum
   * const ok = cksumFold(io.sum(h, 34, 8 + 4000) + pseudo) === 0xffff;
   */
  sum(h: number, from: number, len: number): number {
    const u8 = this.u8;
    let s = 0;
    let skip = from;
    let left = len;
    let odd = 0;
    let seg = h;
    for (let k = this.count; seg !== -1 && left > 0 && k > 0; k--) {
      const dl = this.dataLen[seg]!;
      if (skip >= dl) {
        skip -= dl;
      } else {
        const o = ((seg << this.shift) >>> 0) + this.dataOff[seg]! + skip;
        const n = dl - skip < left ? dl - skip : left;
        let p = 0;
        let i = o;
        const last = o + n - 1;
        for (; i < last; i += 2) {
          p += (u8[i]! << 8) | u8[i + 1]!;
          if (p >= 0x40000000) p = (p & 0xffff) + (p >>> 16);
        }
        if (i === last) p += u8[i]! << 8;
        p = (p & 0xffff) + (p >>> 16);
        p = (p & 0xffff) + (p >>> 16);
        if (odd !== 0) p = ((p & 0xff) << 8) | (p >>> 8);
        s += p;
        if (s >= 0x40000000) s = (s & 0xffff) + (s >>> 16);
        odd ^= n & 1;
        left -= n;
        skip = 0;
      }
      seg = this.next[seg]!;
    }
    s = (s & 0xffff) + (s >>> 16);
    return (s & 0xffff) + (s >>> 16);
  }

  /**
   * Copies `len` bytes of packet `h` from byte `from` to `u8[to..)` (the UMEM's bytes: another frame);
   * returns the bytes copied (fewer only when the packet is shorter).
   *
   * @example
   * const h2 = mempool.alloc(); // the second fragment's frame
   * io.copyOut(h, 34 + 1480, 1480, frameAt(ctx, h2) + 34);
   */
  copyOut(h: number, from: number, len: number, to: number): number {
    const u8 = this.u8;
    let skip = from;
    let done = 0;
    let seg = h;
    for (let k = this.count; seg !== -1 && done < len && k > 0; k--) {
      const dl = this.dataLen[seg]!;
      if (skip >= dl) {
        skip -= dl;
      } else {
        const o = ((seg << this.shift) >>> 0) + this.dataOff[seg]! + skip;
        const n = dl - skip < len - done ? dl - skip : len - done;
        u8.copyWithin(to + done, o, o + n);
        done += n;
        skip = 0;
      }
      seg = this.next[seg]!;
    }
    return done;
  }

  /**
   * Frees every segment after the first of packet `h`: it becomes a single-segment packet of its first
   * segment's bytes.
   *
   * @example
   * io.cut(h);
   */
  cut(h: number): void {
    const nx = this.next[h]!;
    if (nx === -1) return;
    this.next[h] = -1;
    this.nbSegs[h] = 1;
    this.mp.free(nx);
  }

  /**
   * Byte `at` of packet `h` (0 past its end).
   *
   * @example
   * const type = io.byteAt(h, 34);
   */
  byteAt(h: number, at: number): number {
    let skip = at;
    let seg = h;
    for (let k = this.count; seg !== -1 && k > 0; k--) {
      const dl = this.dataLen[seg]!;
      if (skip < dl) return this.u8[((seg << this.shift) >>> 0) + this.dataOff[seg]! + skip]!;
      skip -= dl;
      seg = this.next[seg]!;
    }
    return 0;
  }
}

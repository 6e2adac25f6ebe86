/**
 * Packet buffer operations over the UMEM and the mbuf table, named as CNDP's pktmbuf_*: mtod, append,
 * prepend, adj, trim, copy, reset. They take a handle; none allocates.
 */
import type { Umem } from "./umem.js";
import type { MbufTable } from "./mbuf.js";

export class Pktmbuf {
  readonly umem: Umem;
  readonly mbufs: MbufTable;
  private readonly shift: number;
  private readonly frameSize: number;

  constructor(umem: Umem, mbufs: MbufTable) {
    this.umem = umem;
    this.mbufs = mbufs;
    this.shift = umem.shift;
    this.frameSize = umem.frameSize;
  }

  /** Byte offset of the packet data in the UMEM (CNDP's pktmbuf_mtod). */
  mtod(h: number): number {
    return ((h << this.shift) >>> 0) + this.mbufs.dataOff[h]!;
  }

  /** The packet bytes as a view (allocates a view: control path and tests only). */
  bytes(h: number): Uint8Array {
    const o = this.mtod(h);
    return this.umem.u8.subarray(o, o + this.mbufs.dataLen[h]!);
  }

  len(h: number): number {
    return this.mbufs.dataLen[h]!;
  }

  /** Headroom left before the data. */
  headroom(h: number): number {
    return this.mbufs.dataOff[h]!;
  }

  /** Room left after the data. */
  tailroom(h: number): number {
    return this.frameSize - this.mbufs.dataOff[h]! - this.mbufs.dataLen[h]!;
  }

  /** Resets data offset to the UMEM headroom and length to 0. */
  reset(h: number): void {
    this.mbufs.dataOff[h] = this.umem.headroom;
    this.mbufs.dataLen[h] = 0;
  }

  /** Grows the packet at its end by `n` bytes; returns the offset of the new bytes, or -1 without room. */
  append(h: number, n: number): number {
    if (n > this.tailroom(h)) return -1;
    const o = this.mtod(h) + this.mbufs.dataLen[h]!;
    this.mbufs.dataLen[h] = this.mbufs.dataLen[h]! + n;
    return o;
  }

  /** Grows the packet at its start by `n` bytes; returns the new data offset in the UMEM, or -1. */
  prepend(h: number, n: number): number {
    if (n > this.mbufs.dataOff[h]!) return -1;
    this.mbufs.dataOff[h] = this.mbufs.dataOff[h]! - n;
    this.mbufs.dataLen[h] = this.mbufs.dataLen[h]! + n;
    return this.mtod(h);
  }

  /** Removes `n` bytes from the start; returns the new data offset, or -1 when shorter than n. */
  adj(h: number, n: number): number {
    if (n > this.mbufs.dataLen[h]!) return -1;
    this.mbufs.dataOff[h] = this.mbufs.dataOff[h]! + n;
    this.mbufs.dataLen[h] = this.mbufs.dataLen[h]! - n;
    return this.mtod(h);
  }

  /** Removes `n` bytes from the end; returns 0, or -1 when shorter than n. */
  trim(h: number, n: number): number {
    if (n > this.mbufs.dataLen[h]!) return -1;
    this.mbufs.dataLen[h] = this.mbufs.dataLen[h]! - n;
    return 0;
  }

  /** Copies packet data and metadata from `src` into `dst` (a distinct buffer). */
  copy(dst: number, src: number): void {
    const len = this.mbufs.dataLen[src]!;
    const so = this.mtod(src);
    this.mbufs.dataOff[dst] = this.mbufs.dataOff[src]!;
    this.mbufs.dataLen[dst] = len;
    this.mbufs.port[dst] = this.mbufs.port[src]!;
    this.mbufs.ptype[dst] = this.mbufs.ptype[src]!;
    this.umem.u8.copyWithin(this.mtod(dst), so, so + len);
  }

  /** Writes `data` as the packet content of `h` (control path, tests). */
  write(h: number, data: Uint8Array): void {
    this.reset(h);
    this.umem.u8.set(data, this.mtod(h));
    this.mbufs.dataLen[h] = data.length;
  }
}

/**
 * Packet buffer metadata as a struct of arrays indexed by buffer handle (CNDP's pktmbuf fields, without
 * an object per packet). Shared between threads: all arrays live in one SharedArrayBuffer.
 *
 * - dataOff[h]: offset of the packet data from the frame start (256 after receive)
 * - dataLen[h]: packet length in bytes
 * - port[h]:    the lport id the packet came in on
 * - ptype[h]:   packet type bits (see PTYPE_*), 0 when not classified
 * - udata[h]:   32 bits for the application (CNDP's udata64 low half)
 * - owner[h]:   the ownership state in debug mode (see tracker.ts)
 *
 * Chains and clones (DPDK's rte_mbuf next / nb_segs / pkt_len / refcnt / indirect mbufs; see chain.ts):
 * - next[h]:    the next segment of the packet, or -1 ({@link MBUF_NO_NEXT}) for the last one
 * - nbSegs[h]:  segments in the packet, on its first segment (1 for a single-segment packet)
 * - pktLen[h]:  bytes in the whole packet, on its first segment when nbSegs > 1 (a single segment's
 *               length is dataLen: receive paths do not write pktLen for it)
 * - refcnt[h]:  references to frame h's bytes (1 normally; clones and refcntUpdate add)
 * - direct[h]:  for an indirect handle (a clone), the frame holding its bytes; -1 for a direct handle
 *               (its data is in its own frame, the usual case)
 * - segFlags:   one shared word; non-zero once chains or clones may exist (the pool's free and the
 *               sockets' TX then look at next/refcnt/direct; before, they never read them)
 *
 * A free frame always has next -1, nbSegs 1, refcnt 1, direct -1: whoever frees a segment resets them,
 * so allocation has nothing to reset.
 */
export interface MbufShared {
  buf: SharedArrayBuffer;
  count: number;
}

/** Packet type bits (subset of CNDP/DPDK's CNE_PTYPE_*). */
export const PTYPE_L2_ETHER = 0x1;
export const PTYPE_L3_IPV4 = 0x10;
export const PTYPE_L3_IPV6 = 0x40;
export const PTYPE_L4_TCP = 0x100;
export const PTYPE_L4_UDP = 0x200;
export const PTYPE_L4_ICMP = 0x500;

/** next[h] of the last segment of a packet. */
export const MBUF_NO_NEXT = -1;

/** 8-byte aligned size of the original six arrays (18 bytes a frame). */
function baseBytes(count: number): number {
  return (count * 18 + 7) & ~7;
}

export class MbufTable {
  readonly count: number;
  readonly buf: SharedArrayBuffer;
  readonly dataOff: Uint16Array;
  readonly dataLen: Uint16Array;
  readonly port: Uint16Array;
  readonly ptype: Uint32Array;
  readonly udata: Uint32Array;
  readonly owner: Int32Array;
  /** Next segment of the packet, -1 for the last. */
  readonly next: Int32Array;
  /** Length of the whole packet, on the first segment of a chain of two or more. */
  readonly pktLen: Uint32Array;
  /** For an indirect handle: the frame holding its bytes; -1 for a direct one. */
  readonly direct: Int32Array;
  /** Segments in the packet (on its first segment). */
  readonly nbSegs: Uint16Array;
  /** References to the frame (updated with Atomics when above 1). */
  readonly refcnt: Uint16Array;
  /** Word 0 is non-zero once chains or clones may exist in pools over this table (see chain.ts). */
  readonly segFlags: Int32Array;

  private constructor(s: MbufShared) {
    const n = s.count;
    this.count = n;
    this.buf = s.buf;
    let off = 0;
    this.udata = new Uint32Array(s.buf, off, n); off += n * 4;
    this.ptype = new Uint32Array(s.buf, off, n); off += n * 4;
    this.owner = new Int32Array(s.buf, off, n); off += n * 4;
    this.dataOff = new Uint16Array(s.buf, off, n); off += n * 2;
    this.dataLen = new Uint16Array(s.buf, off, n); off += n * 2;
    this.port = new Uint16Array(s.buf, off, n);
    off = baseBytes(n);
    this.next = new Int32Array(s.buf, off, n); off += n * 4;
    this.pktLen = new Uint32Array(s.buf, off, n); off += n * 4;
    this.direct = new Int32Array(s.buf, off, n); off += n * 4;
    this.nbSegs = new Uint16Array(s.buf, off, n); off += n * 2;
    this.refcnt = new Uint16Array(s.buf, off, n); off += n * 2;
    off = (off + 7) & ~7;
    this.segFlags = new Int32Array(s.buf, off, 2);
  }

  static bytesFor(count: number): number {
    return ((baseBytes(count) + count * 16 + 7) & ~7) + 8;
  }

  static create(count: number): MbufTable {
    const t = new MbufTable({ buf: new SharedArrayBuffer(MbufTable.bytesFor(count)), count });
    t.next.fill(MBUF_NO_NEXT);
    t.direct.fill(-1);
    t.nbSegs.fill(1);
    t.refcnt.fill(1);
    return t;
  }

  static fromShared(s: MbufShared): MbufTable {
    return new MbufTable(s);
  }

  toShared(): MbufShared {
    return { buf: this.buf, count: this.count };
  }

  /**
   * Turns segment mode on for every pool and socket over this table (every thread sees it: the word is
   * shared): frees then walk chains and count references, TX posts chains and clones. Done by
   * MbufChain's (chain.ts) constructor and by multi-buffer sockets, before any chain or clone exists; never
   * turned off. Until then the data path reads none of the segment words.
   */
  enableSegments(): void {
    Atomics.store(this.segFlags, 0, 1);
  }

  /** Whether {@link enableSegments} was called (by any thread). */
  get segmentsEnabled(): boolean {
    return Atomics.load(this.segFlags, 0) !== 0;
  }
}

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

export class MbufTable {
  readonly count: number;
  readonly buf: SharedArrayBuffer;
  readonly dataOff: Uint16Array;
  readonly dataLen: Uint16Array;
  readonly port: Uint16Array;
  readonly ptype: Uint32Array;
  readonly udata: Uint32Array;
  readonly owner: Int32Array;

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
  }

  static bytesFor(count: number): number {
    return count * (4 + 4 + 4 + 2 + 2 + 2);
  }

  static create(count: number): MbufTable {
    return new MbufTable({ buf: new SharedArrayBuffer(MbufTable.bytesFor(count)), count });
  }

  static fromShared(s: MbufShared): MbufTable {
    return new MbufTable(s);
  }

  toShared(): MbufShared {
    return { buf: this.buf, count: this.count };
  }
}

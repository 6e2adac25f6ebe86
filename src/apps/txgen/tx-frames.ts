/**
 * What the AF_XDP engine writes into the UMEM per packet, as one routine the worker calls and the tests
 * call: {@link TemplateFrames} copies a template frame and patches its range fields, latency tag and
 * checksums (the arithmetic of packet.ts's plan); {@link PcapFrames} copies the frames of a pcap file in
 * turn. {@link patchFrame} (packet.ts) is the same routine on one frame.
 *
 * The plan travels as a flat Uint32Array ({@link compilePlan}). Per packet there is no floating-point
 * `%`: every range field keeps its current value and index and wraps them with a compare, the tag's
 * 32-bit sequence number wraps the same way, and all of it stays in uint32. A buffer handle becomes a
 * byte offset with unsigned arithmetic ({@link frameOffset}): UMEMs up to 4 GiB have offsets >= 2^31.
 *
 * After a TX burst that took only k of the n frames written, {@link TemplateFrames.sent} /
 * {@link PcapFrames.sent} put the state where the k sent ones leave it: the next burst reuses the rest's
 * sequence numbers, as the counters (C_TX_SEQ) say.
 */
import type { Umem } from "../../mem/umem.js";
import type { MbufTable } from "../../mem/mbuf.js";
import type { FramePlan } from "./packet.js";
import type { Clock } from "../../sys/clock.js";
import { copyTemplate } from "../../wire/frame-template.js";
import { ETH_HLEN } from "../../wire/ether.js";
import { IP4_CSUM } from "../../wire/ipv4.js";

/** Offset of the IPv4 header checksum in txgen's frames (untagged Ethernet, packet.ts IP_CSUM_OFF). */
const IP_CSUM_OFF = ETH_HLEN + IP4_CSUM;

/** Field flags (packet.ts F_IP, F_L4): contributes to the IPv4 header checksum / the L4 checksum. */
const F_IP = 1;
const F_L4 = 2;

// Flat plan (Uint32Array): a header, then FIELD_WORDS words per range field.
const P_LEN = 0;
const P_NFIELDS = 1;
/** tagOff + 1 (0: no tag). */
const P_TAG = 2;
const P_IP_BASE = 3;
/** l4CsumOff + 1 (0: no L4 checksum). */
const P_L4_OFF = 4;
const P_L4_BASE = 5;
/** Bit 0: UDP (a computed 0 is sent as 0xffff); bit 1: something varies between packets. */
const P_FLAGS = 6;
const P_HDR = 8;
// Per field: offset, bytes (2 or 4), min, n (values in the range, 1 to 2^31 - 1), step, flags.
const F_OFF = 0, F_BYTES = 1, F_MIN = 2, F_N = 3, F_STEP = 4, F_FLAGS = 5;
const FIELD_WORDS = 6;

const TWO32 = 4294967296;

/**
 * A clock as the writer reads it (the worker's MonoClock): `read()` puts seconds and nanoseconds in `ts`.
 * Read where the time is used: a time passed or returned as a number is boxed by a call not inlined.
 */
export type ClockSource = Pick<Clock, "read" | "ts">;

/** The byte offset of packet data of buffer `h`: unsigned, right for every handle of a UMEM up to 4 GiB. */
export function frameOffset(h: number, shift: number, dataOff: number): number {
  return ((h << shift) >>> 0) + dataOff;
}

/** The plan of packet.ts as the flat array the worker receives (control path, once per plan). */
export function compilePlan(p: FramePlan): Uint32Array {
  const a = new Uint32Array(P_HDR + p.fields.length * FIELD_WORDS);
  a[P_LEN] = p.len;
  a[P_NFIELDS] = p.fields.length;
  a[P_TAG] = p.tagOff + 1;
  a[P_IP_BASE] = p.ipBase;
  a[P_L4_OFF] = p.l4CsumOff + 1;
  a[P_L4_BASE] = p.l4Base;
  a[P_FLAGS] = (p.l4Udp ? 1 : 0) | (p.varies ? 2 : 0);
  p.fields.forEach((f, i) => {
    if (f.n < 1 || f.n > 0x7fffffff || f.min + (f.n - 1) * f.step > (f.bytes === 4 ? 0xffffffff : 0xffff)) {
      throw new RangeError(`Invalid range field '${f.name}': ${f.n} values from ${f.min} step ${f.step} do not fit ${f.bytes} bytes`);
    }
    const b = P_HDR + i * FIELD_WORDS;
    a[b + F_OFF] = f.off;
    a[b + F_BYTES] = f.bytes;
    a[b + F_MIN] = f.min;
    a[b + F_N] = f.n;
    a[b + F_STEP] = f.step;
    a[b + F_FLAGS] = f.flags & (F_IP | F_L4);
  });
  return a;
}

/**
 * A template frame and its plan, with the state of the sequence: the tag's sequence number (mod 2^32)
 * and each range field's current value and index. One per sending port, in the worker.
 */
export class TemplateFrames {
  readonly len: number;
  private readonly plan: Uint32Array;
  private readonly nf: number;
  /** Tag offset, or -1. */
  private readonly tagOff: number;
  private readonly ipBase: number;
  /** L4 checksum offset, or -1. */
  private readonly l4Off: number;
  private readonly l4Base: number;
  private readonly l4Udp: boolean;
  readonly varies: boolean;
  /** Whether the frames carry the latency tag (fill needs the time). */
  readonly tagged: boolean;
  private readonly tpl32: Uint32Array;
  private readonly tpl8: Uint8Array;
  private readonly words: number;
  /** [0] the tag's sequence number mod 2^32; field i: [1 + 2i] its current value, [2 + 2i] that value's index. */
  private readonly st: Uint32Array;
  /** The state before the last {@link fill}. */
  private readonly saved: Uint32Array;
  /** The tag's time (ns): [0] high 32 bits, [1] low 32 bits, [2] the sum of their 16-bit words. */
  private readonly time = new Uint32Array(3);
  /** Multi-buffer frames: the template cut into pieces of at most `room` bytes (see {@link segments}). */
  private pieces: Uint8Array[] = [];
  private room = 0;

  /**
   * `frame`: the sequence-0 frame (checksums valid), or null to patch frames in place only
   * ({@link patchAt}). `seq`: the first sequence number (any non-negative integer, also >= 2^32).
   */
  constructor(plan: Uint32Array, frame: Uint8Array | null, seq: number) {
    this.plan = plan;
    this.len = plan[P_LEN]!;
    this.nf = plan[P_NFIELDS]!;
    this.tagOff = plan[P_TAG]! - 1;
    this.ipBase = plan[P_IP_BASE]!;
    this.l4Off = plan[P_L4_OFF]! - 1;
    this.l4Base = plan[P_L4_BASE]!;
    this.l4Udp = (plan[P_FLAGS]! & 1) !== 0;
    this.varies = (plan[P_FLAGS]! & 2) !== 0;
    this.tagged = this.tagOff >= 0;
    if (plan.length !== P_HDR + this.nf * FIELD_WORDS) throw new RangeError(`Invalid frame plan: ${plan.length} words for ${this.nf} fields`);
    this.words = (this.len + 3) >>> 2;
    this.tpl32 = new Uint32Array(frame === null ? 0 : this.words);
    this.tpl8 = new Uint8Array(this.tpl32.buffer);
    if (frame !== null) {
      if (frame.length < this.len) throw new RangeError(`Invalid template: ${frame.length} bytes for a ${this.len}-byte frame`);
      this.tpl8.set(frame.subarray(0, this.len));
    }
    this.st = new Uint32Array(1 + 2 * this.nf);
    this.saved = new Uint32Array(this.st.length);
    this.seek(seq);
  }

  /** Puts the state at sequence number `seq` (control path). */
  seek(seq: number): void {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`Invalid sequence number ${seq}`);
    const P = this.plan;
    this.st[0] = seq % TWO32;
    for (let f = 0; f < this.nf; f++) {
      const b = P_HDR + f * FIELD_WORDS;
      const i = seq % P[b + F_N]!;
      this.st[2 + 2 * f] = i;
      this.st[1 + 2 * f] = P[b + F_MIN]! + i * P[b + F_STEP]!;
    }
  }

  /** Advances the state by one packet. */
  private step(): void {
    const P = this.plan;
    const S = this.st;
    for (let f = 0, b = P_HDR, s = 1; f < this.nf; f++, b += FIELD_WORDS, s += 2) {
      const i = S[s + 1]! + 1;
      if (i === P[b + F_N]!) {
        S[s] = P[b + F_MIN]!;
        S[s + 1] = 0;
      } else {
        S[s] = S[s]! + P[b + F_STEP]!;
        S[s + 1] = i;
      }
    }
    const q = S[0]!;
    S[0] = q === 0xffffffff ? 0 : q + 1;
  }

  /** Sets the time the tags carry (ns, a whole number below 2^53). Control path. */
  setTime(tsNs: number): void {
    this.timeFrom(Float64Array.of(0, tsNs));
  }

  /** Sets the time the tags carry from a clock reading `ts` (seconds, nanoseconds): nothing is boxed. */
  private timeFrom(ts: Float64Array): void {
    const ns = ts[0]! * 1e9 + ts[1]!;
    const hi = Math.floor(ns / TWO32);
    const lo = ns - hi * TWO32;
    const t = this.time;
    t[0] = hi;
    t[1] = lo;
    t[2] = (hi >>> 16) + (hi & 0xffff) + (lo >>> 16) + (lo & 0xffff);
  }

  /**
   * Writes the varying fields of the current packet, the tag (the time set last) and the checksums into the
   * frame of buffer `h` (at `(h << shift) + dataOff[h]` in `dv`), and advances the state by one packet.
   * Takes the handle, not the offset: an offset of 2^30 or more (UMEMs above 1 GiB) would be boxed on a
   * call the JIT does not inline.
   */
  patchAt(dv: DataView, h: number, shift: number, dataOff: Uint16Array): void {
    const o = ((h << shift) >>> 0) + dataOff[h]!;
    const P = this.plan;
    const S = this.st;
    let ip = this.ipBase;
    let l4 = this.l4Base;
    for (let f = 0, b = P_HDR, s = 1; f < this.nf; f++, b += FIELD_WORDS, s += 2) {
      const v = S[s]!;
      let w: number;
      if (P[b + F_BYTES] === 4) {
        dv.setUint32(o + P[b + F_OFF]!, v);
        w = (v >>> 16) + (v & 0xffff);
      } else {
        dv.setUint16(o + P[b + F_OFF]!, v);
        w = v;
      }
      const fl = P[b + F_FLAGS]!;
      if ((fl & F_IP) !== 0) ip += w;
      if ((fl & F_L4) !== 0) l4 += w;
      // Next value: one step on, or back to the first at the end of the range.
      const i = S[s + 1]! + 1;
      if (i === P[b + F_N]!) {
        S[s] = P[b + F_MIN]!;
        S[s + 1] = 0;
      } else {
        S[s] = v + P[b + F_STEP]!;
        S[s + 1] = i;
      }
    }
    const q = S[0]!;
    S[0] = q === 0xffffffff ? 0 : q + 1;
    const tagOff = this.tagOff;
    if (tagOff >= 0) {
      const t = this.time;
      dv.setUint32(o + tagOff + 4, q);
      dv.setUint32(o + tagOff + 8, t[0]!);
      dv.setUint32(o + tagOff + 12, t[1]!);
      l4 += (q >>> 16) + (q & 0xffff) + t[2]!;
    }
    while (ip > 0xffff) ip = (ip & 0xffff) + (ip >>> 16);
    dv.setUint16(o + IP_CSUM_OFF, ~ip & 0xffff);
    if (this.l4Off >= 0) {
      while (l4 > 0xffff) l4 = (l4 & 0xffff) + (l4 >>> 16);
      let cs = ~l4 & 0xffff;
      if (cs === 0 && this.l4Udp) cs = 0xffff;
      dv.setUint16(o + this.l4Off, cs);
    }
  }

  /**
   * Writes the frames of the next `n` sequence numbers into buffers `bufs[0..n)` of `umem` (data at
   * dataOff, dataLen set), tagged with the time of `clk` (read once; the worker's MonoClock, CLOCK_MONOTONIC
   * ns as bpf_ktime_get_ns); returns their bytes. The state advances by n; {@link sent} corrects it when
   * fewer went out.
   */
  fill(umem: Umem, mbufs: MbufTable, bufs: Uint32Array, n: number, clk: ClockSource): number {
    this.saved.set(this.st);
    const u32 = umem.u32;
    const u8 = umem.u8;
    const dv = umem.view;
    const shift = umem.shift;
    const dataOff = mbufs.dataOff;
    const dataLen = mbufs.dataLen;
    const tpl = this.tpl32;
    const t8 = this.tpl8;
    const len = this.len;
    const varies = this.varies;
    if (this.tagOff >= 0) {
      clk.read();
      this.timeFrom(clk.ts);
    }
    for (let i = 0; i < n; i++) {
      const h = bufs[i]!;
      copyTemplate(u8, u32, ((h << shift) >>> 0) + dataOff[h]!, tpl, t8, len);
      dataLen[h] = len;
      if (varies) this.patchAt(dv, h, shift, dataOff);
    }
    return n * len;
  }

  /**
   * Multi-buffer (jumbo) frames: how many buffers of `room` bytes one frame takes, and cuts the template
   * into such pieces for {@link fillChains} (control path, once per plan).
   */
  segments(room: number): number {
    const n = Math.max(1, Math.ceil(this.len / room));
    if (room !== this.room) {
      this.room = room;
      this.pieces = Array.from({ length: n }, (_, k) => this.tpl8.subarray(k * room, Math.min(this.len, (k + 1) * room)));
    }
    return n;
  }

  /**
   * {@link fill} for frames larger than a buffer: `segs[i * nseg .. (i + 1) * nseg)` are the buffers of
   * frame i (nseg = {@link segments}(room)); they are linked into an mbuf chain (mem/chain.ts: next,
   * nbSegs, pktLen), each holding its piece of the template, and the chain's first handle goes to
   * `bufs[i]`. The varying fields, tag and checksums all lie in the first piece (the headers): patched
   * there. Returns the frames' bytes.
   */
  fillChains(umem: Umem, mbufs: MbufTable, segs: Uint32Array, nseg: number, bufs: Uint32Array, n: number, clk: ClockSource): number {
    this.saved.set(this.st);
    const u8 = umem.u8;
    const dv = umem.view;
    const shift = umem.shift;
    const { dataOff, dataLen, next, nbSegs, pktLen } = mbufs;
    const pieces = this.pieces;
    const len = this.len;
    if (this.tagOff >= 0) {
      clk.read();
      this.timeFrom(clk.ts);
    }
    for (let i = 0, j = 0; i < n; i++) {
      const h = segs[j]!;
      let prev = -1;
      for (let k = 0; k < nseg; k++, j++) {
        const s = segs[j]!;
        const piece = pieces[k]!;
        u8.set(piece, ((s << shift) >>> 0) + dataOff[s]!);
        dataLen[s] = piece.length;
        if (prev !== -1) next[prev] = s;
        prev = s;
      }
      nbSegs[h] = nseg;
      pktLen[h] = len;
      bufs[i] = h;
      if (this.varies) this.patchAt(dv, h, shift, dataOff);
    }
    return n * len;
  }

  /** After a TX burst took `k` of the `n` frames of the last {@link fill}: the state follows the k sent. */
  sent(k: number, n: number): void {
    if (k === n || !this.varies) return;
    this.st.set(this.saved);
    for (let i = 0; i < k; i++) this.step();
  }
}

/** The frames of a pcap file, packed at 4-byte aligned offsets, sent in turn (looping). */
export class PcapFrames {
  private readonly words: Uint32Array;
  private readonly data: Uint8Array;
  /** Word offset and length of frame i. */
  private readonly offs: Uint32Array;
  private readonly lens: Uint32Array;
  readonly count: number;
  /** The next frame to send. */
  next = 0;
  /** The frame after the last {@link fill}. */
  private filled = 0;

  /** `data` must start 4-byte aligned; `offs` are word offsets into it. */
  constructor(data: Uint8Array, offs: ArrayLike<number>, lens: ArrayLike<number>) {
    if ((data.byteOffset & 3) !== 0) throw new RangeError(`Invalid pcap data: byte offset ${data.byteOffset} is not 4-byte aligned`);
    if (offs.length === 0 || offs.length !== lens.length) throw new RangeError(`Invalid pcap frames: ${offs.length} offsets, ${lens.length} lengths`);
    this.data = data;
    this.words = new Uint32Array(data.buffer, data.byteOffset, data.byteLength >>> 2);
    this.offs = Uint32Array.from(offs);
    this.lens = Uint32Array.from(lens);
    for (let i = 0; i < this.offs.length; i++) {
      if (this.offs[i]! * 4 + ((this.lens[i]! + 3) & ~3) > data.byteLength) throw new RangeError(`Invalid pcap frame ${i}: beyond the data`);
    }
    this.count = this.offs.length;
  }

  /** Writes the next `n` frames into buffers `bufs[0..n)` of `umem`; returns their bytes. */
  fill(umem: Umem, mbufs: MbufTable, bufs: Uint32Array, n: number): number {
    const u32 = umem.u32;
    const u8 = umem.u8;
    const shift = umem.shift;
    const dataOff = mbufs.dataOff;
    const dataLen = mbufs.dataLen;
    const words = this.words;
    const s8 = this.data;
    const offs = this.offs;
    const lens = this.lens;
    const count = this.count;
    let k = this.next;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const h = bufs[i]!;
      const o = ((h << shift) >>> 0) + dataOff[h]!;
      const len = lens[k]!;
      const src = offs[k]!;
      if ((o & 3) === 0) {
        const w = o >>> 2;
        const nw = (len + 3) >>> 2;
        for (let j = 0; j < nw; j++) u32[w + j] = words[src + j]!;
      } else {
        const sb = src << 2;
        for (let j = 0; j < len; j++) u8[o + j] = s8[sb + j]!;
      }
      dataLen[h] = len;
      bytes += len;
      if (++k === count) k = 0;
    }
    this.filled = k;
    return bytes;
  }

  /** After a TX burst took `k` of the `n` frames of the last {@link fill}: the next frame follows the k sent. */
  sent(k: number, n: number): void {
    if (k === n) {
      this.next = this.filled;
      return;
    }
    let x = this.next;
    for (let i = 0; i < k; i++) if (++x === this.count) x = 0;
    this.next = x;
  }
}

/**
 * The IPv4 reassembly table (RFC 791 section 3.2, RFC 815): a bounded set of datagrams in progress,
 * keyed by (source, destination, identification, protocol), each a list of fragment frame handles
 * sorted by offset. Bounds: `maxDatagrams` in progress, `maxFragsPerDatagram` fragments each (one more
 * drops the datagram), `maxHeld` frames held in all (a fragment past it is refused), `timeoutMs` from a
 * datagram's first fragment (RFC 1122 3.3.2 suggests 60 to 120 s; Linux's ipfrag_time is 30 s).
 *
 * Overlaps, with RFC 5722's caution (written for IPv6; Linux does the same for IPv4 since 4.19,
 * CVE-2018-5391): a fragment with the same offset and end as one held is a duplicate (dropped alone, the
 * first copy's bytes are kept); any other overlap drops the whole datagram, so no two fragments ever
 * disagree about a byte. Nothing here allocates: the arrays are made once.
 *
 * @example
 * const t = new ReasmTable(mempool, { maxDatagrams: 64 });
 * const r = t.add(0x0a000002, 0x0a000001, (0x1234 << 8) | 17, 0, 1480, true, h, Date.now());
 * if (r >= 0) console.log("slot", r, "is whole");
 */
import type { Mempool } from "../../mem/mempool.js";

/** Options of {@link ReasmTable}. */
export interface ReasmOptions {
  /** Datagrams in progress at once (default 64). */
  maxDatagrams?: number;
  /** Fragments one datagram may have (default 64: 64 x 1480 bytes covers 65535). */
  maxFragsPerDatagram?: number;
  /** Fragment frames held in all (default 1024). */
  maxHeld?: number;
  /** Milliseconds from a datagram's first fragment to its expiry (default 30000). */
  timeoutMs?: number;
}

/** {@link ReasmTable.add}: the fragment is held, the datagram not whole yet. */
export const REASM_HELD = -1;
/** A duplicate: the caller frees the fragment. */
export const REASM_DUP = -2;
/** An overlap: the datagram's fragments were freed; the caller frees this one. */
export const REASM_OVERLAP = -3;
/** Inconsistent ends (past a known last fragment, two different last ends): as overlap. */
export const REASM_BAD = -4;
/** One fragment more than maxFragsPerDatagram: as overlap. */
export const REASM_TOO_MANY = -5;
/** No room for a new datagram: the caller frees the fragment. */
export const REASM_TABLE_FULL = -6;
/** maxHeld frames already held: the caller frees the fragment. */
export const REASM_HELD_FULL = -7;

/**
 * The table. See the module comment.
 *
 * @example
 * const t = new ReasmTable(mempool);
 */
export class ReasmTable {
  declare readonly maxDatagrams: number;
  declare readonly maxFrags: number;
  declare readonly maxHeld: number;
  declare readonly timeoutMs: number;
  /** Per slot: key. */
  declare readonly src: Uint32Array;
  declare readonly dst: Uint32Array;
  /** Identification << 8 | protocol. */
  declare readonly idProto: Int32Array;
  /** Per slot: ms of its first fragment. */
  declare readonly born: Float64Array;
  /** Per slot: fragments held. */
  declare readonly nfrags: Int32Array;
  /** Per slot: payload bytes in all (the last fragment's end), -1 until it came. */
  declare readonly total: Int32Array;
  /** Per slot: payload bytes held. */
  declare readonly got: Int32Array;
  /** Per slot `s`, fragments at `s * maxFrags ..`: handle, payload offset and end, sorted by offset. */
  declare readonly fh: Uint32Array;
  declare readonly fo: Int32Array;
  declare readonly fe: Int32Array;
  /** The slots in use, `active[0 .. nActive)`. */
  declare readonly active: Int32Array;
  declare nActive: number;
  /** Frames held in all. */
  declare held: number;
  declare private readonly freeSlots: Int32Array;
  declare private nFree: number;
  declare private readonly mp: Mempool;

  constructor(mp: Mempool, o: ReasmOptions = {}) {
    const D = o.maxDatagrams ?? 64;
    const F = o.maxFragsPerDatagram ?? 64;
    const H = o.maxHeld ?? 1024;
    const T = o.timeoutMs ?? 30000;
    if (!Number.isInteger(D) || D < 1 || D > 65536) throw new RangeError(`reassembly: maxDatagrams ${D} is not 1 to 65536`);
    if (!Number.isInteger(F) || F < 2 || F > 8192) throw new RangeError(`reassembly: maxFragsPerDatagram ${F} is not 2 to 8192`);
    if (!Number.isInteger(H) || H < 2 || H > 1 << 24) throw new RangeError(`reassembly: maxHeld ${H} is not 2 to ${1 << 24}`);
    if (!Number.isFinite(T) || T < 1 || T > 3_600_000) throw new RangeError(`reassembly: timeoutMs ${T} is not 1 to 3600000`);
    this.mp = mp;
    this.maxDatagrams = D;
    this.maxFrags = F;
    this.maxHeld = H;
    this.timeoutMs = T;
    this.src = new Uint32Array(D);
    this.dst = new Uint32Array(D);
    this.idProto = new Int32Array(D);
    this.born = new Float64Array(D);
    this.nfrags = new Int32Array(D);
    this.total = new Int32Array(D);
    this.got = new Int32Array(D);
    this.fh = new Uint32Array(D * F);
    this.fo = new Int32Array(D * F);
    this.fe = new Int32Array(D * F);
    this.active = new Int32Array(D);
    this.nActive = 0;
    this.held = 0;
    this.freeSlots = new Int32Array(D);
    for (let i = 0; i < D; i++) this.freeSlots[i] = D - 1 - i;
    this.nFree = D;
  }

  /**
   * The slot of a datagram in progress, or -1.
   *
   * @example
   * const t = new ReasmTable(mempool);
   * const s = t.find(0x0a000002, 0x0a000001, (0x1234 << 8) | 17);
   */
  find(src: number, dst: number, idProto: number): number {
    const a = this.active;
    for (let i = 0; i < this.nActive; i++) {
      const s = a[i]!;
      if (this.idProto[s] === idProto && this.src[s] === src && this.dst[s] === dst) return s;
    }
    return -1;
  }

  /**
   * Adds the fragment in frame `h` carrying payload bytes [off, end) of its datagram (`more`: MF set).
   * Returns the slot when the datagram is now whole (its fragments sorted in `fh`; take them with
   * {@link release}), or one of the REASM_* codes (see each: who frees what).
   *
   * @example
   * const t = new ReasmTable(mempool);
   * const r = t.add(0x0a000002, 0x0a000001, (0x1234 << 8) | 17, 0, 1480, true, h, Date.now());
   */
  add(src: number, dst: number, idProto: number, off: number, end: number, more: boolean, h: number, now: number): number {
    let s = this.find(src, dst, idProto);
    if (this.held >= this.maxHeld) return REASM_HELD_FULL;
    if (s < 0) {
      if (this.nFree === 0) return REASM_TABLE_FULL;
      s = this.freeSlots[--this.nFree]!;
      this.active[this.nActive++] = s;
      this.src[s] = src;
      this.dst[s] = dst;
      this.idProto[s] = idProto;
      this.born[s] = now;
      this.nfrags[s] = 0;
      this.total[s] = -1;
      this.got[s] = 0;
    }
    const base = s * this.maxFrags;
    const n = this.nfrags[s]!;
    const total = this.total[s]!;
    // The last fragment fixes the end; nothing may reach past it, and it may not move.
    if (!more) {
      if ((total >= 0 && total !== end) || (n > 0 && this.fe[base + n - 1]! > end)) {
        this.drop(s);
        return REASM_BAD;
      }
    } else if (total >= 0 && end > total) {
      this.drop(s);
      return REASM_BAD;
    }
    // Position: after every fragment starting at or before `off`.
    let p = n;
    while (p > 0 && this.fo[base + p - 1]! > off) p--;
    if (p > 0) {
      const q = base + p - 1;
      if (this.fo[q] === off && this.fe[q] === end) return REASM_DUP;
      if (this.fe[q]! > off) {
        this.drop(s);
        return REASM_OVERLAP;
      }
    }
    if (p < n && this.fo[base + p]! < end) {
      this.drop(s);
      return REASM_OVERLAP;
    }
    if (n === this.maxFrags) {
      this.drop(s);
      return REASM_TOO_MANY;
    }
    for (let k = n; k > p; k--) {
      this.fh[base + k] = this.fh[base + k - 1]!;
      this.fo[base + k] = this.fo[base + k - 1]!;
      this.fe[base + k] = this.fe[base + k - 1]!;
    }
    this.fh[base + p] = h;
    this.fo[base + p] = off;
    this.fe[base + p] = end;
    this.nfrags[s] = n + 1;
    this.held++;
    if (!more) this.total[s] = end;
    const got = this.got[s]! + (end - off);
    this.got[s] = got;
    if (this.total[s]! >= 0 && got === this.total[s]!) return s;
    return REASM_HELD;
  }

  /**
   * Gives up slot `s` without freeing its frames (the caller took them: a whole datagram, or an expired
   * one's first fragment).
   *
   * @example
   * const t = new ReasmTable(mempool);
   * const s = t.find(0x0a000002, 0x0a000001, (0x1234 << 8) | 17);
   * if (s >= 0) t.release(s);
   */
  release(s: number): void {
    this.held -= this.nfrags[s]!;
    this.nfrags[s] = 0;
    const a = this.active;
    for (let i = 0; i < this.nActive; i++) {
      if (a[i] === s) {
        a[i] = a[--this.nActive]!;
        break;
      }
    }
    this.freeSlots[this.nFree++] = s;
  }

  /**
   * Frees slot `s`'s fragments from index `from` on and gives up the slot; returns how many were freed.
   *
   * @example
   * const t = new ReasmTable(mempool);
   * const s = t.find(0x0a000002, 0x0a000001, (0x1234 << 8) | 17);
   * if (s >= 0) t.drop(s);
   */
  drop(s: number, from = 0): number {
    const n = this.nfrags[s]!;
    const k = n - from;
    if (k > 0) this.mp.freeBulk(this.fh, k, s * this.maxFrags + from);
    this.release(s);
    return k > 0 ? k : 0;
  }

  /**
   * The first slot (in `active` order) whose datagram has expired at `now`, or -1.
   *
   * @example
   * const t = new ReasmTable(mempool);
   * for (let s; (s = t.expired(Date.now())) >= 0;) t.drop(s);
   */
  expired(now: number): number {
    const a = this.active;
    for (let i = 0; i < this.nActive; i++) {
      const s = a[i]!;
      if (now - this.born[s]! >= this.timeoutMs) return s;
    }
    return -1;
  }

  /**
   * Frees every fragment held (stack close); returns how many.
   *
   * @example
   * const freed = new ReasmTable(mempool).clear();
   */
  clear(): number {
    let freed = 0;
    while (this.nActive > 0) freed += this.drop(this.active[0]!);
    return freed;
  }
}

/**
 * The neighbour cache of one worker thread for IPv6 (RFC 4861 section 5.1, 7.3): (IPv6 address,
 * ifindex) to MAC, with a state and the time it was last confirmed, and for an address being resolved a
 * bounded queue of frames (handles) waiting for the answer (RFC 4861 7.2.2). The key includes the
 * interface: a link-local address means a different neighbour on each link. Open addressing with linear
 * probing over typed arrays; a deleted slot becomes a tombstone, so a slot index is stable while the entry
 * lives and the pending queue can be indexed by it. Nothing allocates after construction.
 *
 * States: RFC 4861's INCOMPLETE, REACHABLE and STALE; DELAY/PROBE are folded into STALE the way the ARP
 * table does it (a stale entry in use sends one unicast solicitation, {@link NdTable.probeOnce}); and
 * PERMANENT for entries Linux holds as such.
 *
 * One writer: the worker that owns it (Linux's entries arrive through the worker's feed). Keys, MACs,
 * states and times are in SharedArrayBuffers so the main thread can show them (`/cnet/nd`); the pending
 * queues are the worker's own memory (its frames).
 *
 * @example
 * const nd = NdTable.create({ capacity: 256 });
 * const ip = parseIp6("fe80::2");
 * const s = nd.learn(ip, 0, 5, new Uint8Array([2, 0, 0, 0, 0, 2]), 0, Date.now(), true, ND_REACHABLE);
 * console.log(nd.state(s) === ND_REACHABLE); // true
 */
import { formatIp6, formatMac } from "../../lookup/addr.js";

/** Slot unused. */
export const ND_FREE = 0;
/** A solicitation went out; frames may be waiting. */
export const ND_INCOMPLETE = 1;
/** Confirmed within the reachable time. */
export const ND_REACHABLE = 2;
/** Not confirmed lately (or learned unsolicited): still used, re-confirmed on use. */
export const ND_STALE = 3;
/** Set by Linux as permanent: never expires. */
export const ND_PERMANENT = 4;
const TOMB = 255;

const STATE_NAMES = ["free", "incomplete", "reachable", "stale", "permanent"];

/** What the main thread needs to read a worker's table ({@link NdTable.shared}). */
export interface NdTableShared {
  readonly capacity: number;
  readonly keys: SharedArrayBuffer;
  readonly macs: SharedArrayBuffer;
  readonly state: SharedArrayBuffer;
  readonly ifindex: SharedArrayBuffer;
  readonly time: SharedArrayBuffer;
}

/** Options of {@link NdTable.create}. */
export interface NdTableOptions {
  /** Entries, a power of two (default 1024). */
  capacity?: number;
  /** Frames held per address being resolved (default 8). */
  pendingPerEntry?: number;
}

/** One entry as text. */
export interface NdEntry {
  ip: string;
  mac: string;
  state: string;
  ifindex: number;
  /** Milliseconds since the entry was last confirmed (or the solicitation sent). */
  ageMs: number;
  pending: number;
}

/**
 * The table. See the module comment.
 *
 * @example
 * const nd = NdTable.create();
 * const s = nd.insertIncomplete(parseIp6("2001:db8::2"), 0, 5, Date.now());
 * nd.hold(s, 17); // frame 17 waits for 2001:db8::2
 */
export class NdTable {
  declare readonly capacity: number;
  declare readonly pendingPerEntry: number;
  private declare readonly mask: number;
  private declare readonly keys: Int32Array;
  private declare readonly macs: Uint8Array;
  private declare readonly st: Uint8Array;
  private declare readonly ifx: Int32Array;
  private declare readonly time: Float64Array;
  private declare readonly tries: Uint8Array;
  private declare readonly pend: Uint32Array;
  private declare readonly npend: Uint8Array;
  private declare live: number;

  private constructor(s: NdTableShared, pendingPerEntry: number) {
    this.capacity = s.capacity;
    this.mask = s.capacity - 1;
    this.pendingPerEntry = pendingPerEntry;
    this.keys = new Int32Array(s.keys);
    this.macs = new Uint8Array(s.macs);
    this.st = new Uint8Array(s.state);
    this.ifx = new Int32Array(s.ifindex);
    this.time = new Float64Array(s.time);
    this.tries = new Uint8Array(s.capacity);
    this.pend = new Uint32Array(s.capacity * pendingPerEntry);
    this.npend = new Uint8Array(s.capacity);
    let live = 0;
    for (let i = 0; i < s.capacity; i++) if (this.st[i] !== ND_FREE && this.st[i] !== TOMB) live++;
    this.live = live;
  }

  /**
   * An empty table.
   *
   * @example
   * const nd = NdTable.create({ capacity: 4096, pendingPerEntry: 4 });
   */
  static create(o: NdTableOptions = {}): NdTable {
    const cap = o.capacity ?? 1024;
    if (!Number.isInteger(cap) || cap < 4 || cap > 1 << 20 || (cap & (cap - 1)) !== 0) throw new RangeError(`NdTable: capacity ${cap} is not a power of two from 4 to 2^20`);
    const p = o.pendingPerEntry ?? 8;
    checkPending(p);
    return new NdTable({
      capacity: cap, keys: new SharedArrayBuffer(16 * cap), macs: new SharedArrayBuffer(6 * cap), state: new SharedArrayBuffer(cap),
      ifindex: new SharedArrayBuffer(4 * cap), time: new SharedArrayBuffer(8 * cap),
    }, p);
  }

  /**
   * The table made on another thread (the main thread creates it to show it; the owning worker opens it
   * with its pending queues; the main thread's view only reads).
   *
   * @example
   * const mine = NdTable.fromShared(NdTable.create().shared(), 8);
   */
  static fromShared(s: NdTableShared, pendingPerEntry = 8): NdTable {
    checkPending(pendingPerEntry);
    return new NdTable(s, pendingPerEntry);
  }

  /**
   * What to post to the main thread (or from it to the worker).
   *
   * @example
   * const s = NdTable.create().shared();
   */
  shared(): NdTableShared {
    return {
      capacity: this.capacity, keys: this.keys.buffer as SharedArrayBuffer, macs: this.macs.buffer as SharedArrayBuffer,
      state: this.st.buffer as SharedArrayBuffer, ifindex: this.ifx.buffer as SharedArrayBuffer, time: this.time.buffer as SharedArrayBuffer,
    };
  }

  /** Entries in use. */
  get size(): number {
    return this.live;
  }

  private hash(w0: number, w1: number, w2: number, w3: number, ifindex: number): number {
    let x = Math.imul(w0, 0x9e3779b1) ^ Math.imul(w1, 0x85ebca77) ^ Math.imul(w2, 0xc2b2ae3d) ^ Math.imul(w3 ^ ifindex, 0x27d4eb2f);
    x ^= x >>> 15;
    x = Math.imul(x, 0x2c1b3c6d);
    return (x ^ (x >>> 13)) & this.mask;
  }

  /**
   * The slot of the address at `u8[off..+16)` on `ifindex`, or -1 (allocation-free).
   *
   * @example
   * const s = NdTable.create().lookup(parseIp6("fe80::2"), 0, 5); // -1
   */
  lookup(u8: Uint8Array, off: number, ifindex: number): number {
    const w0 = be32(u8, off), w1 = be32(u8, off + 4), w2 = be32(u8, off + 8), w3 = be32(u8, off + 12);
    let i = this.hash(w0, w1, w2, w3, ifindex);
    const k = this.keys;
    for (let n = 0; n <= this.mask; n++) {
      const st = this.st[i]!;
      if (st === ND_FREE) return -1;
      if (st !== TOMB && this.ifx[i] === ifindex && k[4 * i + 3] === w3 && k[4 * i] === w0 && k[4 * i + 1] === w1 && k[4 * i + 2] === w2) return i;
      i = (i + 1) & this.mask;
    }
    return -1;
  }

  /** A slot for a new key (the first tombstone or free slot on its probe path), or -1 when full. */
  private place(u8: Uint8Array, off: number, ifindex: number, state: number, now: number): number {
    const w0 = be32(u8, off), w1 = be32(u8, off + 4), w2 = be32(u8, off + 8), w3 = be32(u8, off + 12);
    let i = this.hash(w0, w1, w2, w3, ifindex);
    let s = -1;
    for (let n = 0; n <= this.mask; n++) {
      const st = this.st[i]!;
      if (st === TOMB) {
        s = i;
        break;
      }
      if (st === ND_FREE) {
        s = i;
        break;
      }
      i = (i + 1) & this.mask;
    }
    if (s < 0) return -1;
    const k = this.keys;
    k[4 * s] = w0; k[4 * s + 1] = w1; k[4 * s + 2] = w2; k[4 * s + 3] = w3;
    this.ifx[s] = ifindex;
    this.time[s] = now;
    this.npend[s] = 0;
    this.tries[s] = 0;
    this.st[s] = state;
    this.live++;
    return s;
  }

  /**
   * Records the address at `u8[off..+16)` on `ifindex` at `mac[macOff..+6)` in `state` (ND_REACHABLE or
   * ND_STALE; a permanent entry is left alone). With `create` false only an existing entry is updated.
   * Returns the slot or -1 (not there and not created, or the table is full).
   *
   * @example
   * NdTable.create().learn(parseIp6("fe80::2"), 0, 5, new Uint8Array([2, 0, 0, 0, 0, 2]), 0, Date.now(), true, ND_STALE);
   */
  learn(u8: Uint8Array, off: number, ifindex: number, mac: Uint8Array, macOff: number, now: number, create: boolean, state: number): number {
    let s = this.lookup(u8, off, ifindex);
    if (s < 0) {
      if (!create) return -1;
      s = this.place(u8, off, ifindex, state, now);
      if (s < 0) return -1;
    } else if (this.st[s] === ND_PERMANENT) {
      return s;
    }
    const m = s * 6;
    for (let k = 0; k < 6; k++) this.macs[m + k] = mac[macOff + k]!;
    this.st[s] = state;
    this.time[s] = now;
    this.tries[s] = 0;
    return s;
  }

  /**
   * Sets an entry Linux holds (RTM_NEWNEIGH, from the feed): `permanent` entries never expire.
   *
   * @example
   * NdTable.create().setFromLinux(parseIp6("fe80::2"), 0, 5, new Uint8Array([2, 0, 0, 0, 0, 2]), 0, Date.now(), true);
   */
  setFromLinux(u8: Uint8Array, off: number, ifindex: number, mac: Uint8Array, macOff: number, now: number, permanent: boolean): number {
    const s = this.lookup(u8, off, ifindex);
    if (s >= 0 && this.st[s] === ND_PERMANENT) this.st[s] = ND_REACHABLE;
    const r = this.learn(u8, off, ifindex, mac, macOff, now, true, ND_REACHABLE);
    if (r >= 0 && permanent) this.st[r] = ND_PERMANENT;
    return r;
  }

  /**
   * Makes an incomplete entry (a solicitation is about to go out), or returns the existing one; -1 when
   * the table is full.
   *
   * @example
   * const s = NdTable.create().insertIncomplete(parseIp6("2001:db8::2"), 0, 5, Date.now());
   */
  insertIncomplete(u8: Uint8Array, off: number, ifindex: number, now: number): number {
    const s = this.lookup(u8, off, ifindex);
    if (s >= 0) return s;
    return this.place(u8, off, ifindex, ND_INCOMPLETE, now);
  }

  /**
   * The state of slot `s` (ND_*).
   *
   * @example
   * const nd = NdTable.create();
   * console.log(nd.state(nd.insertIncomplete(parseIp6("fe80::2"), 0, 5, 0)) === ND_INCOMPLETE); // true
   */
  state(s: number): number {
    const st = this.st[s]!;
    return st === TOMB ? ND_FREE : st;
  }

  /**
   * The ifindex of slot `s`.
   *
   * @example
   * const nd = NdTable.create();
   * console.log(nd.ifindexAt(nd.insertIncomplete(parseIp6("fe80::2"), 0, 5, 0))); // 5
   */
  ifindexAt(s: number): number {
    return this.ifx[s]!;
  }

  /**
   * Copies slot `s`'s IPv6 address to `u8[at..+16)`.
   *
   * @example
   * const nd = NdTable.create();
   * const out = new Uint8Array(16);
   * nd.copyAddr(nd.insertIncomplete(parseIp6("fe80::2"), 0, 5, 0), out, 0);
   */
  copyAddr(s: number, u8: Uint8Array, at: number): void {
    for (let w = 0; w < 4; w++) {
      const v = this.keys[4 * s + w]!;
      u8[at + 4 * w] = v >>> 24;
      u8[at + 4 * w + 1] = (v >>> 16) & 0xff;
      u8[at + 4 * w + 2] = (v >>> 8) & 0xff;
      u8[at + 4 * w + 3] = v & 0xff;
    }
  }

  /**
   * Copies slot `s`'s MAC to `u8[at..+6)`.
   *
   * @example
   * const nd = NdTable.create();
   * const s = nd.learn(parseIp6("fe80::2"), 0, 5, new Uint8Array([2, 0, 0, 0, 0, 2]), 0, 0, true, ND_REACHABLE);
   * nd.copyMac(s, umem.u8, off); // the frame's destination
   */
  copyMac(s: number, u8: Uint8Array, at: number): void {
    const m = s * 6;
    for (let k = 0; k < 6; k++) u8[at + k] = this.macs[m + k]!;
  }

  /**
   * Whether slot `s`'s MAC is the one at `u8[at..+6)`.
   *
   * @example
   * const nd = NdTable.create();
   * const mac = new Uint8Array([2, 0, 0, 0, 0, 2]);
   * console.log(nd.macIs(nd.learn(parseIp6("fe80::2"), 0, 5, mac, 0, 0, true, ND_STALE), mac, 0)); // true
   */
  macIs(s: number, u8: Uint8Array, at: number): boolean {
    const m = s * 6;
    for (let k = 0; k < 6; k++) if (this.macs[m + k] !== u8[at + k]) return false;
    return true;
  }

  /**
   * Sets the state of a live, non-permanent slot `s` (ND_REACHABLE confirms it now).
   *
   * @example
   * const nd = NdTable.create();
   * const s = nd.learn(parseIp6("fe80::2"), 0, 5, new Uint8Array(6), 0, 0, true, ND_STALE);
   * nd.setState(s, ND_REACHABLE, Date.now());
   */
  setState(s: number, state: number, now: number): void {
    const st = this.st[s]!;
    if (st === ND_FREE || st === TOMB || st === ND_PERMANENT) return;
    this.st[s] = state;
    if (state === ND_REACHABLE) {
      this.time[s] = now;
      this.tries[s] = 0;
    }
  }

  /**
   * Queues frame `h` on incomplete slot `s`; false when its queue is full (the caller drops and counts).
   *
   * @example
   * const nd = NdTable.create();
   * const ok = nd.hold(nd.insertIncomplete(parseIp6("fe80::2"), 0, 5, 0), 3);
   */
  hold(s: number, h: number): boolean {
    const k = this.npend[s]!;
    if (k >= this.pendingPerEntry) return false;
    this.pend[s * this.pendingPerEntry + k] = h;
    this.npend[s] = k + 1;
    return true;
  }

  /**
   * Frames queued on slot `s`.
   *
   * @example
   * const nd = NdTable.create();
   * console.log(nd.pendingCount(nd.insertIncomplete(parseIp6("fe80::2"), 0, 5, 0))); // 0
   */
  pendingCount(s: number): number {
    return this.npend[s]!;
  }

  /**
   * Moves slot `s`'s queued frames to `out[off..)` (arrival order), empties the queue, returns how many.
   *
   * @example
   * const nd = NdTable.create();
   * const k = nd.takePending(nd.insertIncomplete(parseIp6("fe80::2"), 0, 5, 0), new Uint32Array(8), 0);
   */
  takePending(s: number, out: Uint32Array, off: number): number {
    const k = this.npend[s]!;
    const base = s * this.pendingPerEntry;
    for (let i = 0; i < k; i++) out[off + i] = this.pend[base + i]!;
    this.npend[s] = 0;
    return k;
  }

  /**
   * Removes slot `s` (its pending queue must have been taken).
   *
   * @example
   * const nd = NdTable.create();
   * nd.remove(nd.insertIncomplete(parseIp6("fe80::2"), 0, 5, 0));
   */
  remove(s: number): void {
    const st = this.st[s]!;
    if (st === ND_FREE || st === TOMB) return;
    this.npend[s] = 0;
    this.st[s] = this.st[(s + 1) & this.mask] === ND_FREE ? ND_FREE : TOMB;
    this.live--;
  }

  /**
   * Time (ms) slot `s` was last confirmed or its solicitation sent.
   *
   * @example
   * const nd = NdTable.create();
   * console.log(nd.timeAt(nd.insertIncomplete(parseIp6("fe80::2"), 0, 5, 1234))); // 1234
   */
  timeAt(s: number): number {
    return this.time[s]!;
  }

  /**
   * Notes one more solicitation sent for incomplete slot `s` at `now`; returns the number sent so far.
   *
   * @example
   * const nd = NdTable.create();
   * nd.retried(nd.insertIncomplete(parseIp6("fe80::2"), 0, 5, 0), 1000); // 1
   */
  retried(s: number, now: number): number {
    this.time[s] = now;
    const t = this.tries[s]! + 1;
    this.tries[s] = t;
    return t;
  }

  /**
   * For a stale slot in use: true the first time (the caller sends one unicast solicitation), false after
   * until the entry is confirmed again.
   *
   * @example
   * const nd = NdTable.create();
   * const s = nd.learn(parseIp6("fe80::2"), 0, 5, new Uint8Array(6), 0, 0, true, ND_STALE);
   * console.log(nd.probeOnce(s), nd.probeOnce(s)); // true false
   */
  probeOnce(s: number): boolean {
    if (this.st[s] !== ND_STALE || this.tries[s] !== 0) return false;
    this.tries[s] = 1;
    return true;
  }

  /**
   * Marks a reachable slot `s` stale (its reachable time ran out).
   *
   * @example
   * const nd = NdTable.create();
   * nd.markStale(nd.learn(parseIp6("fe80::2"), 0, 5, new Uint8Array(6), 0, 0, true, ND_REACHABLE));
   */
  markStale(s: number): void {
    if (this.st[s] === ND_REACHABLE) this.st[s] = ND_STALE;
  }

  /**
   * The entries (control path; from the main thread's view the pending counts read 0).
   *
   * @example
   * for (const e of NdTable.create().entries(Date.now())) console.log(e.ip, e.mac, e.state);
   */
  entries(now: number): NdEntry[] {
    const out: NdEntry[] = [];
    const ip = new Uint8Array(16);
    for (let s = 0; s < this.capacity; s++) {
      const st = this.st[s]!;
      if (st === ND_FREE || st === TOMB) continue;
      this.copyAddr(s, ip, 0);
      out.push({
        ip: formatIp6(ip), mac: st === ND_INCOMPLETE ? "" : formatMac(this.macs, s * 6), state: STATE_NAMES[st] ?? String(st),
        ifindex: this.ifx[s]!, ageMs: Math.max(0, Math.round(now - this.time[s]!)), pending: this.npend[s]!,
      });
    }
    return out;
  }
}

function checkPending(p: number): void {
  if (!Number.isInteger(p) || p < 1 || p > 255) throw new RangeError(`NdTable: pendingPerEntry ${p} is not an integer 1 to 255`);
}

/** The big-endian word at `u8[off]`, signed (a small integer: never boxed when returned). */
function be32(u8: Uint8Array, off: number): number {
  return (u8[off]! << 24) | (u8[off + 1]! << 16) | (u8[off + 2]! << 8) | u8[off + 3]!;
}

/**
 * The ARP table of one worker thread (RFC 826 cache with RFC 1122 section 2.3.2.2 queueing): IPv4 address
 * to MAC, with a state and the time it was last confirmed, and for an address being resolved a bounded
 * queue of frames (handles) waiting for the answer. Open addressing with linear probing over typed arrays;
 * a deleted slot becomes a tombstone (reused by the next insert), so a slot index is stable while the
 * entry lives and the pending queue can be indexed by it. Nothing allocates after construction.
 *
 * One writer: the worker that owns it (entries Linux knows arrive through the worker, see
 * {@link NeighbourFeed}). The keys, MACs, states and times are in SharedArrayBuffers so the main thread
 * can show them (`/cnet/arp`); the pending queues are the worker's own memory (its frames).
 *
 * @example
 * const arp = ArpTable.create({ capacity: 256 });
 * const s = arp.learn(0x0a000002, new Uint8Array([2, 0, 0, 0, 0, 2]), 0, 5, Date.now(), true);
 * console.log(arp.state(s) === ARP_REACHABLE); // true
 */
import { formatIp4, formatMac } from "../lookup/addr.js";

/** Slot unused. */
export const ARP_FREE = 0;
/** A request went out; frames may be waiting. */
export const ARP_INCOMPLETE = 1;
/** Confirmed within the reachable time. */
export const ARP_REACHABLE = 2;
/** Older than the reachable time: still used, re-confirmed on the next request or reply. */
export const ARP_STALE = 3;
/** Set by Linux as permanent (`ip neigh add ... nud permanent`): never expires. */
export const ARP_PERMANENT = 4;

const STATE_NAMES = ["free", "incomplete", "reachable", "stale", "permanent"];
const TOMB = 0xffffffff;

/** What the main thread needs to read a worker's table ({@link ArpTable.shared}). */
export interface ArpTableShared {
  readonly capacity: number;
  readonly keys: SharedArrayBuffer;
  readonly macs: SharedArrayBuffer;
  readonly state: SharedArrayBuffer;
  readonly ifindex: SharedArrayBuffer;
  readonly time: SharedArrayBuffer;
}

/** Options of {@link ArpTable.create}. */
export interface ArpTableOptions {
  /** Entries, a power of two (default 1024). */
  capacity?: number;
  /** Frames held per address being resolved (default 8). */
  pendingPerEntry?: number;
}

/** One entry as text. */
export interface ArpEntry {
  ip: string;
  mac: string;
  state: string;
  ifindex: number;
  /** Milliseconds since the entry was last confirmed (or the request sent). */
  ageMs: number;
  pending: number;
}

/**
 * The table. See the module comment.
 *
 * @example
 * const arp = ArpTable.create();
 * const s = arp.insertIncomplete(0x0a000002, 5, Date.now());
 * arp.hold(s, 17); // frame 17 waits for 10.0.0.2
 */
export class ArpTable {
  readonly capacity: number;
  readonly pendingPerEntry: number;
  private readonly mask: number;
  private readonly keys: Uint32Array;
  private readonly macs: Uint8Array;
  private readonly st: Uint8Array;
  private readonly ifx: Int32Array;
  private readonly time: Float64Array;
  /** Retries sent for an incomplete entry. */
  private readonly tries: Uint8Array;
  private readonly pend: Uint32Array;
  private readonly npend: Uint8Array;
  private live = 0;

  private constructor(s: ArpTableShared, pendingPerEntry: number) {
    this.capacity = s.capacity;
    this.mask = s.capacity - 1;
    this.pendingPerEntry = pendingPerEntry;
    this.keys = new Uint32Array(s.keys);
    this.macs = new Uint8Array(s.macs);
    this.st = new Uint8Array(s.state);
    this.ifx = new Int32Array(s.ifindex);
    this.time = new Float64Array(s.time);
    this.tries = new Uint8Array(s.capacity);
    this.pend = new Uint32Array(s.capacity * pendingPerEntry);
    this.npend = new Uint8Array(s.capacity);
  }

  /**
   * An empty table.
   *
   * @example
   * const arp = ArpTable.create({ capacity: 4096, pendingPerEntry: 4 });
   */
  static create(o: ArpTableOptions = {}): ArpTable {
    const cap = o.capacity ?? 1024;
    if (!Number.isInteger(cap) || cap < 4 || cap > 1 << 20 || (cap & (cap - 1)) !== 0) throw new RangeError(`ArpTable: capacity ${cap} is not a power of two from 4 to 2^20`);
    const p = o.pendingPerEntry ?? 8;
    if (!Number.isInteger(p) || p < 1 || p > 255) throw new RangeError(`ArpTable: pendingPerEntry ${p} is not an integer 1 to 255`);
    return new ArpTable({
      capacity: cap, keys: new SharedArrayBuffer(4 * cap), macs: new SharedArrayBuffer(6 * cap), state: new SharedArrayBuffer(cap),
      ifindex: new SharedArrayBuffer(4 * cap), time: new SharedArrayBuffer(8 * cap),
    }, p);
  }

  /**
   * The table made on another thread: the main thread creates it (to show it), the owning worker opens
   * it with its pending queues (`pendingPerEntry` frames each, default 8); the main thread's view only reads.
   *
   * @example
   * const mine = ArpTable.fromShared(ArpTable.create().shared(), 8);
   */
  static fromShared(s: ArpTableShared, pendingPerEntry = 8): ArpTable {
    if (!Number.isInteger(pendingPerEntry) || pendingPerEntry < 1 || pendingPerEntry > 255) throw new RangeError(`ArpTable: pendingPerEntry ${pendingPerEntry} is not an integer 1 to 255`);
    return new ArpTable(s, pendingPerEntry);
  }

  /**
   * What to post to the main thread.
   *
   * @example
   * const s = ArpTable.create().shared();
   */
  shared(): ArpTableShared {
    return {
      capacity: this.capacity, keys: this.keys.buffer as SharedArrayBuffer, macs: this.macs.buffer as SharedArrayBuffer,
      state: this.st.buffer as SharedArrayBuffer, ifindex: this.ifx.buffer as SharedArrayBuffer, time: this.time.buffer as SharedArrayBuffer,
    };
  }

  /** Entries in use. */
  get size(): number {
    return this.live;
  }

  private hash(ip: number): number {
    return (Math.imul(ip, 0x9e3779b1) >>> 16) & this.mask;
  }

  /**
   * The slot of `ip`, or -1.
   *
   * @example
   * const s = ArpTable.create().lookup(0x0a000002); // -1
   */
  lookup(ip: number): number {
    const key = ip >>> 0;
    if (key === 0 || key === TOMB) return -1;
    let i = this.hash(key);
    for (let k = 0; k <= this.mask; k++) {
      const v = this.keys[i]!;
      if (v === key) return i;
      if (v === 0) return -1;
      i = (i + 1) & this.mask;
    }
    return -1;
  }

  /** A slot for a new key (the first tombstone or empty slot on its probe path), or -1 when full. */
  private place(key: number): number {
    let i = this.hash(key);
    let tomb = -1;
    for (let k = 0; k <= this.mask; k++) {
      const v = this.keys[i]!;
      if (v === key) return i;
      if (v === TOMB && tomb < 0) tomb = i;
      if (v === 0) return tomb >= 0 ? tomb : i;
      i = (i + 1) & this.mask;
    }
    return tomb;
  }

  private claim(key: number, ifindex: number, state: number, now: number): number {
    if (key === 0 || key === TOMB) return -1;
    const s = this.place(key);
    if (s < 0) return -1;
    if (this.keys[s] !== key) {
      this.npend[s] = 0;
      this.tries[s] = 0;
      this.live++;
    }
    this.ifx[s] = ifindex;
    this.time[s] = now;
    this.st[s] = state;
    this.keys[s] = key;
    return s;
  }

  /**
   * Records `ip` at `mac[macOff..+6)` as reachable on `ifindex` (a permanent entry keeps its MAC and
   * state). With `create` false only an existing entry is updated (RFC 826: a host merges the sender of
   * any ARP packet it already knows, adds it only when the packet is for it). Returns the slot or -1.
   *
   * @example
   * const arp = ArpTable.create();
   * arp.learn(0x0a000002, new Uint8Array([2, 0, 0, 0, 0, 2]), 0, 5, Date.now(), true);
   */
  learn(ip: number, mac: Uint8Array, macOff: number, ifindex: number, now: number, create: boolean): number {
    let s = this.lookup(ip);
    if (s < 0) {
      if (!create) return -1;
      s = this.claim(ip >>> 0, ifindex, ARP_REACHABLE, now);
      if (s < 0) return -1;
    } else if (this.st[s] === ARP_PERMANENT) {
      return s;
    }
    const m = s * 6;
    for (let k = 0; k < 6; k++) this.macs[m + k] = mac[macOff + k]!;
    this.st[s] = ARP_REACHABLE;
    this.ifx[s] = ifindex;
    this.time[s] = now;
    this.tries[s] = 0;
    return s;
  }

  /**
   * Sets an entry Linux holds (RTM_NEWNEIGH): `permanent` entries never expire.
   *
   * @example
   * ArpTable.create().setFromLinux(0x0a000002, new Uint8Array([2, 0, 0, 0, 0, 2]), 0, 5, Date.now(), true);
   */
  setFromLinux(ip: number, mac: Uint8Array, macOff: number, ifindex: number, now: number, permanent: boolean): number {
    const s = this.lookup(ip);
    if (s >= 0 && this.st[s] === ARP_PERMANENT) this.st[s] = ARP_REACHABLE;
    const r = this.learn(ip, mac, macOff, ifindex, now, true);
    if (r >= 0 && permanent) this.st[r] = ARP_PERMANENT;
    return r;
  }

  /**
   * Makes an incomplete entry for `ip` (a request is about to go out); -1 when the table is full.
   *
   * @example
   * const s = ArpTable.create().insertIncomplete(0x0a000002, 5, Date.now());
   */
  insertIncomplete(ip: number, ifindex: number, now: number): number {
    const s = this.lookup(ip);
    if (s >= 0) return s;
    return this.claim(ip >>> 0, ifindex, ARP_INCOMPLETE, now);
  }

  /**
   * The state of slot `s` (ARP_*).
   *
   * @example
   * const arp = ArpTable.create();
   * console.log(arp.state(arp.insertIncomplete(0x0a000002, 5, 0)) === ARP_INCOMPLETE); // true
   */
  state(s: number): number {
    return this.st[s]!;
  }

  /**
   * The IPv4 address of slot `s`.
   *
   * @example
   * const arp = ArpTable.create();
   * console.log(arp.ipAt(arp.insertIncomplete(0x0a000002, 5, 0))); // 167772162
   */
  ipAt(s: number): number {
    return this.keys[s]!;
  }

  /**
   * The ifindex of slot `s`.
   *
   * @example
   * const arp = ArpTable.create();
   * console.log(arp.ifindexAt(arp.insertIncomplete(0x0a000002, 5, 0))); // 5
   */
  ifindexAt(s: number): number {
    return this.ifx[s]!;
  }

  /**
   * Copies slot `s`'s MAC to `u8[at..+6)`.
   *
   * @example
   * const arp = ArpTable.create();
   * const s = arp.learn(0x0a000002, new Uint8Array([2, 0, 0, 0, 0, 2]), 0, 5, 0, true);
   * arp.copyMac(s, umem.u8, off); // the frame's destination
   */
  copyMac(s: number, u8: Uint8Array, at: number): void {
    const m = s * 6;
    for (let k = 0; k < 6; k++) u8[at + k] = this.macs[m + k]!;
  }

  /**
   * Queues frame `h` on incomplete slot `s`; false when its queue is full (the caller drops and counts).
   *
   * @example
   * const arp = ArpTable.create();
   * const ok = arp.hold(arp.insertIncomplete(0x0a000002, 5, 0), 3);
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
   * const arp = ArpTable.create();
   * console.log(arp.pendingCount(arp.insertIncomplete(0x0a000002, 5, 0))); // 0
   */
  pendingCount(s: number): number {
    return this.npend[s]!;
  }

  /**
   * Moves slot `s`'s queued frames to `out[off..)` (in arrival order) and empties the queue; returns how many.
   *
   * @example
   * const arp = ArpTable.create();
   * const out = new Uint32Array(8);
   * const k = arp.takePending(arp.insertIncomplete(0x0a000002, 5, 0), out, 0);
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
   * const arp = ArpTable.create();
   * arp.remove(arp.insertIncomplete(0x0a000002, 5, 0));
   */
  remove(s: number): void {
    if (this.keys[s] === 0 || this.keys[s] === TOMB) return;
    this.st[s] = ARP_FREE;
    this.npend[s] = 0;
    this.keys[s] = this.keys[(s + 1) & this.mask] === 0 ? 0 : TOMB;
    this.live--;
  }

  /**
   * Time (ms) slot `s` was last confirmed or its request sent.
   *
   * @example
   * const arp = ArpTable.create();
   * console.log(arp.timeAt(arp.insertIncomplete(0x0a000002, 5, 1234))); // 1234
   */
  timeAt(s: number): number {
    return this.time[s]!;
  }

  /**
   * Notes one more request sent for incomplete slot `s` at `now`; returns the number sent so far.
   *
   * @example
   * const arp = ArpTable.create();
   * arp.retried(arp.insertIncomplete(0x0a000002, 5, 0), 1000); // 1
   */
  retried(s: number, now: number): number {
    this.time[s] = now;
    const t = this.tries[s]! + 1;
    this.tries[s] = t;
    return t;
  }

  /**
   * For a stale slot in use: true the first time (the caller sends one request to re-confirm it), false
   * after until the entry is confirmed again. The entry's time is left alone: it still ages out.
   *
   * @example
   * const arp = ArpTable.create();
   * const s = arp.learn(0x0a000002, new Uint8Array(6), 0, 5, 0, true);
   * arp.markStale(s);
   * console.log(arp.probeOnce(s), arp.probeOnce(s)); // true false
   */
  probeOnce(s: number): boolean {
    if (this.st[s] !== ARP_STALE || this.tries[s] !== 0) return false;
    this.tries[s] = 1;
    return true;
  }

  /**
   * Marks slot `s` stale (its reachable time ran out).
   *
   * @example
   * const arp = ArpTable.create();
   * arp.markStale(arp.learn(0x0a000002, new Uint8Array(6), 0, 5, 0, true));
   */
  markStale(s: number): void {
    if (this.st[s] === ARP_REACHABLE) this.st[s] = ARP_STALE;
  }

  /**
   * The entries (control path; from the main thread's view the pending counts read 0).
   *
   * @example
   * for (const e of ArpTable.create().entries(Date.now())) console.log(e.ip, e.mac, e.state);
   */
  entries(now: number): ArpEntry[] {
    const out: ArpEntry[] = [];
    for (let s = 0; s < this.capacity; s++) {
      const k = this.keys[s]!;
      if (k === 0 || k === TOMB) continue;
      out.push({
        ip: formatIp4(k), mac: formatMac(this.macs, s * 6), state: STATE_NAMES[this.st[s]!] ?? String(this.st[s]),
        ifindex: this.ifx[s]!, ageMs: Math.max(0, Math.round(now - this.time[s]!)), pending: this.npend[s]!,
      });
    }
    return out;
  }
}

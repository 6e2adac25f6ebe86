/**
 * The IPv6 addresses one worker's stack uses, with their duplicate address detection state (RFC 4862
 * section 5.4): an address learned from Linux is tentative until its DAD ends; then preferred (used as a
 * destination and a source, answered in neighbour discovery), or duplicate when another node answered
 * for it (never used). The worker rebuilds the list from {@link NetTables.addresses6} when the tables
 * change ({@link Ip6Addrs.sync}, control path) and reads it per packet without allocating: is a
 * destination ours ({@link Ip6Addrs.find}), is a multicast group one we listen to (all-nodes and the
 * solicited-node groups of our addresses, RFC 4291 2.7.1), which source to use.
 *
 * The addresses and states are in SharedArrayBuffers (one writer, the worker) so the main thread can show
 * them (`/cnet/nd`: {@link Ip6Addrs.list}).
 *
 * @example
 * const a = Ip6Addrs.create();
 * a.sync([{ ip: parseIp6("2001:db8::1"), prefixLen: 64, ifindex: 5, flags: 0 }], [5], Date.now());
 * console.log(a.list()[0]?.state); // "tentative"
 */
import { formatIp6 } from "../../lookup/addr.js";
import type { NetAddr6 } from "../tables.js";

/** Slot unused. */
export const ADDR6_NONE = 0;
/** DAD in progress: not used; a solicitation from :: or an advertisement for it means duplicate. */
export const ADDR6_TENTATIVE = 1;
/** DAD passed (or not needed): in use. */
export const ADDR6_PREFERRED = 2;
/** Another node holds it: never used. */
export const ADDR6_DUPLICATE = 3;

const STATE_NAMES = ["none", "tentative", "preferred", "duplicate"];
/** Linux's IFA_F_NODAD (if_addr.h): no DAD for this address. */
const IFA_F_NODAD = 0x02;
/** Most addresses one worker tracks (NetTables holds at most 64). */
export const MAX_ADDRS6_PER_STACK = 64;
// words per address: 4 address words, ifindex, state
const W = 6;
// fe80::/10 and ff02::/16 as signed first words
const LL_MASK = 0xffc00000 | 0;
const LL_PREFIX = 0xfe800000 | 0;
const FF02 = 0xff020000 | 0;
// ctl: seq, count
const C_SEQ = 0;
const C_N = 1;

/** What the main thread needs to read a worker's list ({@link Ip6Addrs.shared}). */
export interface Ip6AddrsShared {
  readonly ctl: SharedArrayBuffer;
  readonly words: SharedArrayBuffer;
}

/** One address as text. */
export interface Ip6AddrInfo {
  ip: string;
  ifindex: number;
  state: string;
}

/**
 * The list. See the module comment.
 *
 * @example
 * const a = Ip6Addrs.fromShared(Ip6Addrs.create().shared()); // the main thread's view
 */
export class Ip6Addrs {
  private declare readonly ctl: Int32Array;
  private declare readonly w: Int32Array;
  /** Worker side: DAD solicitations sent per slot and when the next step is due (ms). */
  private declare readonly sent: Uint8Array;
  private declare readonly due: Float64Array;

  private constructor(s: Ip6AddrsShared) {
    this.ctl = new Int32Array(s.ctl);
    this.w = new Int32Array(s.words);
    this.sent = new Uint8Array(MAX_ADDRS6_PER_STACK);
    this.due = new Float64Array(MAX_ADDRS6_PER_STACK);
  }

  /**
   * An empty list.
   *
   * @example
   * const a = Ip6Addrs.create();
   */
  static create(): Ip6Addrs {
    return new Ip6Addrs({ ctl: new SharedArrayBuffer(8), words: new SharedArrayBuffer(4 * W * MAX_ADDRS6_PER_STACK) });
  }

  /**
   * A list another thread writes (or the worker's end of one the main thread created).
   *
   * @example
   * const a = Ip6Addrs.fromShared(Ip6Addrs.create().shared());
   */
  static fromShared(s: Ip6AddrsShared): Ip6Addrs {
    return new Ip6Addrs(s);
  }

  /**
   * What to post to the other thread.
   *
   * @example
   * const s = Ip6Addrs.create().shared();
   */
  shared(): Ip6AddrsShared {
    return { ctl: this.ctl.buffer as SharedArrayBuffer, words: this.w.buffer as SharedArrayBuffer };
  }

  /** Addresses in the list. */
  get count(): number {
    return this.ctl[C_N]!;
  }

  /**
   * Makes the list the addresses of `all` on the interfaces in `ifindexes` (control path, on a change of
   * the tables): kept addresses keep their state, new ones start tentative (preferred at once when
   * Linux set IFA_F_NODAD or `dad` is false), removed ones go. Returns the slots of the new addresses.
   *
   * @example
   * const a = Ip6Addrs.create();
   * const fresh = a.sync([{ ip: parseIp6("fe80::1"), prefixLen: 64, ifindex: 5, flags: 0 }], [5], Date.now());
   */
  sync(all: readonly NetAddr6[], ifindexes: readonly number[], now: number, dad = true): number[] {
    const want = all.filter((a) => ifindexes.includes(a.ifindex)).slice(0, MAX_ADDRS6_PER_STACK);
    const n = this.ctl[C_N]!;
    const old: { words: number[]; state: number; sent: number; due: number }[] = [];
    for (let s = 0; s < n; s++) old.push({ words: Array.from(this.w.subarray(s * W, s * W + W)), state: this.w[s * W + 5]!, sent: this.sent[s]!, due: this.due[s]! });
    const fresh: number[] = [];
    Atomics.add(this.ctl, C_SEQ, 1);
    want.forEach((a, s) => {
      const words = [be32(a.ip, 0), be32(a.ip, 4), be32(a.ip, 8), be32(a.ip, 12), a.ifindex];
      const had = old.find((o) => words.every((v, k) => o.words[k] === v));
      for (let k = 0; k < 5; k++) this.w[s * W + k] = words[k]!;
      if (had) {
        this.w[s * W + 5] = had.state;
        this.sent[s] = had.sent;
        this.due[s] = had.due;
      } else {
        const nodad = !dad || (a.flags & IFA_F_NODAD) !== 0;
        this.w[s * W + 5] = nodad ? ADDR6_PREFERRED : ADDR6_TENTATIVE;
        this.sent[s] = 0;
        this.due[s] = now;
        fresh.push(s);
      }
    });
    Atomics.store(this.ctl, C_N, want.length);
    Atomics.add(this.ctl, C_SEQ, 1);
    return fresh;
  }

  /**
   * The slot of our address at `u8[off..+16)`, or -1: a link-local address must be on `ifindex`, other
   * addresses on any interface (allocation-free; any state: the caller checks {@link Ip6Addrs.state}).
   *
   * @example
   * const s = Ip6Addrs.create().find(parseIp6("2001:db8::1"), 0, 5); // -1
   */
  find(u8: Uint8Array, off: number, ifindex: number): number {
    const w = this.w;
    const n = this.ctl[C_N]!;
    const w0 = be32(u8, off), w1 = be32(u8, off + 4), w2 = be32(u8, off + 8), w3 = be32(u8, off + 12);
    const ll = (w0 & LL_MASK) === LL_PREFIX;
    for (let s = 0; s < n; s++) {
      const b = s * W;
      if (w[b + 3] === w3 && w[b] === w0 && w[b + 1] === w1 && w[b + 2] === w2 && (!ll || w[b + 4] === ifindex)) return s;
    }
    return -1;
  }

  /**
   * Whether the IPv6 multicast address at `u8[off..+16)` is a group we listen to on `ifindex`: all-nodes
   * (ff02::1) or the solicited-node group (ff02::1:ffXX:XXXX) of one of our addresses there, tentative
   * ones included (RFC 4862 5.4.2).
   *
   * @example
   * const yes = Ip6Addrs.create().listens(parseIp6("ff02::1"), 0, 5); // true
   */
  listens(u8: Uint8Array, off: number, ifindex: number): boolean {
    const w0 = be32(u8, off), w1 = be32(u8, off + 4), w2 = be32(u8, off + 8), w3 = be32(u8, off + 12);
    if (w0 !== FF02 || w1 !== 0) return false;
    if (w2 === 0 && w3 === 1) return true;
    if (w2 !== 1 || (w3 >>> 24) !== 0xff) return false;
    return this.hasSolicited(ifindex, w3 & 0xffffff);
  }

  /**
   * Whether one of our addresses on `ifindex` ends in the 24 bits `low24` (its solicited-node group,
   * and the multicast MAC 33:33:ff:xx:xx:xx that carries it).
   *
   * @example
   * const yes = Ip6Addrs.create().hasSolicited(5, 0x000001);
   */
  hasSolicited(ifindex: number, low24: number): boolean {
    const w = this.w;
    const n = this.ctl[C_N]!;
    for (let s = 0; s < n; s++) {
      const b = s * W;
      if (w[b + 4] === ifindex && (w[b + 3]! & 0xffffff) === low24 && w[b + 5] !== ADDR6_DUPLICATE) return true;
    }
    return false;
  }

  /**
   * The state of slot `s` (ADDR6_*).
   *
   * @example
   * const a = Ip6Addrs.create();
   * a.sync([{ ip: parseIp6("fe80::1"), prefixLen: 64, ifindex: 5, flags: 0 }], [5], 0);
   * console.log(a.state(0) === ADDR6_TENTATIVE); // true
   */
  state(s: number): number {
    return this.w[s * W + 5]!;
  }

  /**
   * Sets the state of slot `s` (the worker: DAD passed, or a duplicate).
   *
   * @example
   * const a = Ip6Addrs.create();
   * a.sync([{ ip: parseIp6("fe80::1"), prefixLen: 64, ifindex: 5, flags: 0 }], [5], 0);
   * a.setState(0, ADDR6_DUPLICATE);
   */
  setState(s: number, state: number): void {
    Atomics.add(this.ctl, C_SEQ, 1);
    this.w[s * W + 5] = state;
    Atomics.add(this.ctl, C_SEQ, 1);
  }

  /**
   * The ifindex of slot `s`.
   *
   * @example
   * const a = Ip6Addrs.create();
   * a.sync([{ ip: parseIp6("fe80::1"), prefixLen: 64, ifindex: 5, flags: 0 }], [5], 0);
   * console.log(a.ifindexAt(0)); // 5
   */
  ifindexAt(s: number): number {
    return this.w[s * W + 4]!;
  }

  /**
   * Copies slot `s`'s address to `u8[at..+16)`.
   *
   * @example
   * const a = Ip6Addrs.create();
   * a.sync([{ ip: parseIp6("fe80::1"), prefixLen: 64, ifindex: 5, flags: 0 }], [5], 0);
   * a.copyAddr(0, new Uint8Array(16), 0);
   */
  copyAddr(s: number, u8: Uint8Array, at: number): void {
    for (let k = 0; k < 4; k++) {
      const v = this.w[s * W + k]!;
      u8[at + 4 * k] = v >>> 24;
      u8[at + 4 * k + 1] = (v >>> 16) & 0xff;
      u8[at + 4 * k + 2] = (v >>> 8) & 0xff;
      u8[at + 4 * k + 3] = v & 0xff;
    }
  }

  /**
   * A preferred address of `ifindex` to send from, link-local first when `linkLocal` (else global
   * first), copied to `u8[at..+16)`; false when there is none.
   *
   * @example
   * const src = new Uint8Array(16);
   * if (!Ip6Addrs.create().sourceFor(5, true, src, 0)) console.log("no usable address yet");
   */
  sourceFor(ifindex: number, linkLocal: boolean, u8: Uint8Array, at: number): boolean {
    const w = this.w;
    const n = this.ctl[C_N]!;
    let fallback = -1;
    for (let s = 0; s < n; s++) {
      const b = s * W;
      if (w[b + 4] !== ifindex || w[b + 5] !== ADDR6_PREFERRED) continue;
      const ll = (w[b]! & LL_MASK) === LL_PREFIX;
      if (ll === linkLocal) {
        this.copyAddr(s, u8, at);
        return true;
      }
      if (fallback < 0) fallback = s;
    }
    if (fallback < 0) return false;
    this.copyAddr(fallback, u8, at);
    return true;
  }

  /**
   * Worker side, DAD bookkeeping: solicitations sent for slot `s`.
   *
   * @example
   * const k = Ip6Addrs.create().dadSent(0);
   */
  dadSent(s: number): number {
    return this.sent[s]!;
  }

  /**
   * Worker side: when slot `s`'s next DAD step is due (ms).
   *
   * @example
   * const t = Ip6Addrs.create().dadDue(0);
   */
  dadDue(s: number): number {
    return this.due[s]!;
  }

  /**
   * Worker side: notes one DAD solicitation sent for slot `s`, the next step due at `due`.
   *
   * @example
   * Ip6Addrs.create().dadStep(0, Date.now() + 1000);
   */
  dadStep(s: number, due: number): void {
    this.sent[s] = this.sent[s]! + 1;
    this.due[s] = due;
  }

  /**
   * The addresses with their states (control path; a consistent copy).
   *
   * @example
   * for (const a of Ip6Addrs.create().list()) console.log(a.ip, a.state);
   */
  list(): Ip6AddrInfo[] {
    const ip = new Uint8Array(16);
    for (;;) {
      const seq = Atomics.load(this.ctl, C_SEQ);
      if ((seq & 1) !== 0) continue;
      const n = Atomics.load(this.ctl, C_N);
      const out: Ip6AddrInfo[] = [];
      for (let s = 0; s < n; s++) {
        this.copyAddr(s, ip, 0);
        out.push({ ip: formatIp6(ip), ifindex: this.w[s * W + 4]!, state: STATE_NAMES[this.w[s * W + 5]!] ?? "?" });
      }
      if (Atomics.load(this.ctl, C_SEQ) === seq) return out;
    }
  }
}

/** The big-endian word at `u8[off]`, signed (a small integer: never boxed when returned). */
function be32(u8: Uint8Array, off: number): number {
  return (u8[off]! << 24) | (u8[off + 1]! << 16) | (u8[off + 2]! << 8) | u8[off + 3]!;
}

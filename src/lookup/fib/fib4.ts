/**
 * IPv4 FIB: DIR-24-8 (DPDK's rte_fib dir24_8, CNDP's cne_fib) with bulk lookup, in SharedArrayBuffers so
 * worker threads look up while the control thread adds and deletes routes.
 *
 * Layout: `tbl24`, 2^24 Int32 entries (64 MiB) indexed by the top 24 bits of the address, and up to
 * `maxTbl8Groups` tbl8 groups of 256 entries indexed by the low 8 bits. An entry (src/lookup/fib/entry.ts)
 * is a next hop or a pointer to a group. A lookup is one load, or two when the first is a pointer.
 * Next hops are stored XORed with {@link FIB_NO_ROUTE}, so a fresh zero-filled table is empty and untouched
 * pages of the 64 MiB are never committed.
 *
 * Control side: the routes live in a path-compressed trie (the RIB, {@link PrefixTrie}); the tables are a
 * function of it. Adding or deleting a prefix P rewrites only the addresses whose longest match is P:
 * P's range minus the ranges of the top-level more specific routes inside P (DPDK's modify_fib), with P's
 * next hop on add and the covering route's (or none) on delete. Canonical form: a tbl24 entry points to a
 * group exactly when a route deeper than /24 lies in its block. So an add needs at most one new group (P's
 * own block, when P is deeper than /24) and a delete none; that is checked before anything changes, and a
 * failing add leaves the table and the RIB as they were.
 *
 * Depth 0 is allowed (0.0.0.0/0, the default route; DPDK's RIB allows it too); without it a miss returns
 * {@link FIB_NO_ROUTE}. Host bits of an added prefix are ignored.
 *
 * Concurrency (one writer, any number of readers):
 * - every entry is one aligned 32-bit word, so a reader sees either its old or its new value (ECMAScript
 *   integer TypedArray accesses are tear-free); next-hop-to-next-hop rewrites use plain stores (`fill`)
 *   since nothing else depends on them;
 * - a new group is filled completely before the tbl24 entry pointing to it is published with
 *   `Atomics.store`; the reader's group load depends on the pointer it loaded, so it sees the filled group;
 * - an unpublished group (its block lost its last route deeper than /24) is reused only when no reader can
 *   still hold the old pointer: with a {@link Qsbr} (opts.qsbr) after the grace period (workers call
 *   `qsbr.quiescent(slot)` once per loop, between lookups), without one immediately as long as the table was
 *   never shared, and never once it was (see src/lookup/fib/pool.ts).
 *
 * @example
 * const fib = Fib4.create({ maxTbl8Groups: 1024 });
 * fib.add(parseIp4("10.0.0.0"), 8, 1);
 * fib.add(parseIp4("10.1.2.128"), 25, 2);
 * console.log(fib.lookup(parseIp4("10.1.2.200")), fib.lookup(parseIp4("10.1.2.1"))); // 2 1
 */
import type { Qsbr } from "../qsbr.js";
import { formatIp4 } from "../addr.js";
import { ENTRY_PTR, FIB_NO_ROUTE, MAX_TBL8_GROUPS, checkCount, checkDepth, checkIp4, checkNextHop } from "./entry.js";
import { IndexPool } from "./pool.js";
import { PrefixTrie, type TrieNode } from "./trie.js";

export { FIB_NO_ROUTE } from "./entry.js";

/** What a worker needs to open the same IPv4 FIB ({@link Fib4.shared}); structured-cloneable. */
export interface Fib4Shared {
  readonly tbl24: SharedArrayBuffer;
  readonly tbl8: SharedArrayBuffer;
  readonly maxTbl8Groups: number;
}

/** One IPv4 route. */
export interface Route4 {
  /** The prefix as a u32, host bits clear. */
  ip: number;
  depth: number;
  nextHop: number;
}

/** Options of {@link Fib4.create}. */
export interface Fib4Options {
  /** tbl8 groups (1 KiB each; one per /24 block holding a route deeper than /24). Default 65536. */
  maxTbl8Groups?: number;
  /** Reclaim unpublished groups after a grace period of these readers (see the module comment). */
  qsbr?: Qsbr;
  /**
   * Where the tables' memory comes from: a zero-filled SharedArrayBuffer of at least `bytes` (the fwd app
   * and the benchmark pass src/sys/hugepage.ts's `hugeAlloc`, 2 MB pages). Default `new SharedArrayBuffer`.
   */
  alloc?: (bytes: number) => SharedArrayBuffer;
}

/** Table counters ({@link Fib4.stats}). */
export interface Fib4Stats {
  routes: number;
  maxTbl8Groups: number;
  /** Groups in use by the table. */
  tbl8Used: number;
  /** Groups unpublished and waiting for a grace period. */
  tbl8Pending: number;
  /** Groups unpublished while shared without a Qsbr: never reused. */
  tbl8Retired: number;
}

const TBL24_ENTRIES = 1 << 24;

/** The address for an error message: dotted when it is a u32, as given otherwise. */
function ipText(ip: number): string {
  return Number.isInteger(ip) && ip >= 0 && ip <= 0xffffffff ? formatIp4(ip) : String(ip);
}
const NO = FIB_NO_ROUTE;

/** A table's buffer from opts.alloc (checked: a SharedArrayBuffer, long enough) or a new one. */
function tableBuffer(opts: Fib4Options, bytes: number, what: string): SharedArrayBuffer {
  if (opts.alloc === undefined) return new SharedArrayBuffer(bytes);
  const b = opts.alloc(bytes);
  if (!(b instanceof SharedArrayBuffer) || b.byteLength < bytes) {
    throw new RangeError(`Fib4.create: opts.alloc(${bytes}) for ${what} gave ${b instanceof SharedArrayBuffer ? `${b.byteLength} bytes` : "no SharedArrayBuffer"}; it must return a zero-filled SharedArrayBuffer of at least ${bytes} bytes`);
  }
  return b;
}

/** Control-thread state of a writable FIB. */
interface Writer {
  readonly rib: PrefixTrie;
  readonly pool: IndexPool;
  readonly key: Uint32Array;
  readonly subs: TrieNode[];
}

/**
 * An IPv4 DIR-24-8 FIB. See the module comment.
 *
 * @example
 * const fib = Fib4.create();
 * fib.add(0xc6120000, 16, 3); // 198.18.0.0/16 -> 3
 * const ips = Uint32Array.of(0xc6120101, 0x01020304);
 * const nhs = new Uint32Array(2);
 * fib.lookupBulk(ips, nhs, 2); // nhs = [3, FIB_NO_ROUTE]
 */
export class Fib4 {
  declare readonly maxTbl8Groups: number;
  private declare readonly t24: Int32Array;
  private declare readonly t8: Int32Array;
  private declare readonly w: Writer | null;

  private constructor(s: Fib4Shared, w: Writer | null) {
    this.maxTbl8Groups = s.maxTbl8Groups;
    // The buffers may be longer than the tables (an allocator's whole huge pages).
    this.t24 = new Int32Array(s.tbl24, 0, Math.min(TBL24_ENTRIES, s.tbl24.byteLength >>> 2));
    this.t8 = new Int32Array(s.tbl8, 0, Math.min(256 * s.maxTbl8Groups, s.tbl8.byteLength >>> 2));
    this.w = w;
  }

  /**
   * An empty FIB (64 MiB of tbl24 plus 1 KiB per tbl8 group, committed as they are touched).
   *
   * @example
   * const fib = Fib4.create({ maxTbl8Groups: 4096, qsbr: Qsbr.create(2) });
   */
  static create(opts: Fib4Options = {}): Fib4 {
    const groups = opts.maxTbl8Groups ?? 65536;
    checkCount("Fib4.create", "maxTbl8Groups", groups, 1, MAX_TBL8_GROUPS);
    const s: Fib4Shared = { tbl24: tableBuffer(opts, 4 * TBL24_ENTRIES, "tbl24"), tbl8: tableBuffer(opts, 4 * 256 * groups, "tbl8"), maxTbl8Groups: groups };
    return new Fib4(s, { rib: new PrefixTrie(32), pool: new IndexPool(groups, opts.qsbr ?? null), key: new Uint32Array(4), subs: [] });
  }

  /**
   * A read-only view of a FIB another thread writes (add/delete throw).
   *
   * @example
   * // in a worker, with the object the control thread posted:
 * const fib = Fib4.fromShared(Fib4.create().shared());
   */
  static fromShared(s: Fib4Shared): Fib4 {
    return new Fib4(s, null);
  }

  /**
   * What to post to a worker. From now on, without a Qsbr, unpublished groups are never reused.
   *
   * @example
   * const fib = Fib4.create();
 * const s: Fib4Shared = fib.shared(); // worker.postMessage({ fib: s })
   */
  shared(): Fib4Shared {
    if (this.w !== null) this.w.pool.shared = true;
    return { tbl24: this.t24.buffer as SharedArrayBuffer, tbl8: this.t8.buffer as SharedArrayBuffer, maxTbl8Groups: this.maxTbl8Groups };
  }

  /**
   * The next hop of the longest matching route for the u32 address, or {@link FIB_NO_ROUTE}.
   *
   * @example
   * const nh = Fib4.create().lookup(0x0a000001); // FIB_NO_ROUTE
   */
  lookup(ip: number): number {
    let e = this.t24[ip >>> 8] as number;
    if (e < 0) e = this.t8[(e & 0x7fffffff) | (ip & 0xff)] as number;
    return e ^ NO;
  }

  /**
   * Looks up `n` addresses: `nextHops[i]` = lookup(`ips[i]`). Allocates nothing; `n` must not exceed either
   * array's length.
   *
   * @example
   * const fib = Fib4.create();
 * const ips = new Uint32Array(32);
 * const nhs = new Uint32Array(32);
 * fib.lookupBulk(ips, nhs, 32);
   */
  lookupBulk(ips: Uint32Array, nextHops: Uint32Array, n: number): void {
    const t24 = this.t24;
    const t8 = this.t8;
    const no = NO; // a local: each use of a module binding is a load and a check in optimized code
    // Eight addresses per step, written out: their eight tbl24 loads come one after the other with no
    // branch or loop overhead between them, so the CPU keeps eight cache (and TLB) misses in flight (what
    // DPDK gets from prefetching). A loop over the burst costs V8 some 40 instructions per load (map and
    // bounds checks of three typed arrays each time round), which fills the reorder buffer after five or
    // six; written out, the checks are made once per step. Then the tbl8 loads of the step's pointers,
    // also independent of each other.
    let i = 0;
    for (; i + 8 <= n; i += 8) {
      const a0 = ips[i]!, a1 = ips[i + 1]!, a2 = ips[i + 2]!, a3 = ips[i + 3]!;
      const a4 = ips[i + 4]!, a5 = ips[i + 5]!, a6 = ips[i + 6]!, a7 = ips[i + 7]!;
      let e0 = t24[a0 >>> 8]!, e1 = t24[a1 >>> 8]!, e2 = t24[a2 >>> 8]!, e3 = t24[a3 >>> 8]!;
      let e4 = t24[a4 >>> 8]!, e5 = t24[a5 >>> 8]!, e6 = t24[a6 >>> 8]!, e7 = t24[a7 >>> 8]!;
      if ((e0 | e1 | e2 | e3 | e4 | e5 | e6 | e7) < 0) {
        if (e0 < 0) e0 = t8[(e0 & 0x7fffffff) | (a0 & 0xff)]!;
        if (e1 < 0) e1 = t8[(e1 & 0x7fffffff) | (a1 & 0xff)]!;
        if (e2 < 0) e2 = t8[(e2 & 0x7fffffff) | (a2 & 0xff)]!;
        if (e3 < 0) e3 = t8[(e3 & 0x7fffffff) | (a3 & 0xff)]!;
        if (e4 < 0) e4 = t8[(e4 & 0x7fffffff) | (a4 & 0xff)]!;
        if (e5 < 0) e5 = t8[(e5 & 0x7fffffff) | (a5 & 0xff)]!;
        if (e6 < 0) e6 = t8[(e6 & 0x7fffffff) | (a6 & 0xff)]!;
        if (e7 < 0) e7 = t8[(e7 & 0x7fffffff) | (a7 & 0xff)]!;
      }
      nextHops[i] = e0 ^ no;
      nextHops[i + 1] = e1 ^ no;
      nextHops[i + 2] = e2 ^ no;
      nextHops[i + 3] = e3 ^ no;
      nextHops[i + 4] = e4 ^ no;
      nextHops[i + 5] = e5 ^ no;
      nextHops[i + 6] = e6 ^ no;
      nextHops[i + 7] = e7 ^ no;
    }
    for (; i < n; i++) {
      const a = ips[i]!;
      let e = t24[a >>> 8]!;
      if (e < 0) e = t8[(e & 0x7fffffff) | (a & 0xff)]!;
      nextHops[i] = e ^ no;
    }
  }

  private writer(op: string): Writer {
    if (this.w === null) throw new Error(`Fib4.${op}: this FIB is a read-only view (Fib4.fromShared); update it on the thread that created it`);
    return this.w;
  }

  /**
   * Number of routes.
   *
   * @example
   * console.log(Fib4.create().size); // 0
   */
  get size(): number {
    return this.writer("size").rib.size;
  }

  /**
   * Adds the route `ip/depth` -> `nextHop` (host bits of `ip` ignored), replacing the next hop of an
   * existing route of the same prefix. Throws a RangeError on a bad argument or when no tbl8 group is free;
   * the table is then unchanged.
   *
   * @example
   * const fib = Fib4.create();
 * fib.add(parseIp4("192.168.0.0"), 16, 7);
   */
  add(ip: number, depth: number, nextHop: number): void {
    const w = this.writer("add");
    const where = `Fib4.add ${ipText(ip)}/${depth} -> ${nextHop}`;
    checkIp4(where, ip);
    checkDepth(where, depth, 32);
    checkNextHop(where, nextHop);
    const k = w.key;
    k[0] = depth === 0 ? 0 : (ip & (0xffffffff << (32 - depth))) >>> 0;
    const prev = w.rib.exact(k, depth);
    if (prev === nextHop) return;
    if (prev < 0 && depth > 24 && (this.t24[(k[0] as number) >>> 8] as number) >= 0 && w.pool.available() === 0) {
      throw new RangeError(
        `${where}: out of tbl8 groups (${this.maxTbl8Groups} in the table, ${w.pool.pending} waiting for a grace period, ` +
          `${w.pool.retired} retired); create the FIB with a larger maxTbl8Groups`,
      );
    }
    w.rib.insert(k, depth, nextHop);
    this.repaint(w, depth, nextHop);
  }

  /**
   * Deletes the route `ip/depth`; its addresses fall back to the covering route. Returns false when there
   * was no such route.
   *
   * @example
   * const fib = Fib4.create();
 * fib.add(parseIp4("192.168.0.0"), 16, 7);
 * fib.delete(parseIp4("192.168.0.0"), 16); // true
   */
  delete(ip: number, depth: number): boolean {
    const w = this.writer("delete");
    const where = `Fib4.delete ${ipText(ip)}/${depth}`;
    checkIp4(where, ip);
    checkDepth(where, depth, 32);
    const k = w.key;
    k[0] = depth === 0 ? 0 : (ip & (0xffffffff << (32 - depth))) >>> 0;
    if (w.rib.remove(k, depth) < 0) return false;
    const parent = depth === 0 ? null : w.rib.lpm(k, depth - 1);
    this.repaint(w, depth, parent === null ? FIB_NO_ROUTE : parent.nh);
    if (depth > 24) {
      // The block's group goes when its last route deeper than /24 does.
      w.rib.blockInfo(k, 24);
      const blk = (k[0] as number) >>> 8;
      const e = this.t24[blk] as number;
      if (w.rib.infoCount === 0 && e < 0) {
        Atomics.store(this.t24, blk, w.rib.infoNh < 0 ? 0 : w.rib.infoNh ^ NO);
        w.pool.retire((e & 0x7fffffff) >>> 8);
      }
    }
    return true;
  }

  /**
   * Every route, in address order.
   *
   * @example
   * const fib = Fib4.create();
 * for (const r of fib.routes()) console.log(formatIp4(r.ip), r.depth, r.nextHop);
   */
  routes(): Route4[] {
    const out: Route4[] = [];
    for (const n of this.writer("routes").rib.nodes()) out.push({ ip: n.k0, depth: n.depth, nextHop: n.nh });
    return out;
  }

  /**
   * Moves unpublished groups whose grace period passed back to the free list (also done on demand by add);
   * returns how many.
   *
   * @example
   * const fib = Fib4.create({ qsbr: Qsbr.create(1) });
 * fib.reclaim(); // 0
   */
  reclaim(): number {
    return this.writer("reclaim").pool.reclaim();
  }

  /**
   * Counters of the table.
   *
   * @example
   * console.log(Fib4.create().stats().tbl8Used); // 0
   */
  stats(): Fib4Stats {
    const w = this.writer("stats");
    return { routes: w.rib.size, maxTbl8Groups: this.maxTbl8Groups, tbl8Used: w.pool.used, tbl8Pending: w.pool.pending, tbl8Retired: w.pool.retired };
  }

  /** Writes `v` (a next hop or FIB_NO_ROUTE) over the addresses of the prefix in w.key/depth not inside a more specific route. */
  private repaint(w: Writer, depth: number, v: number): void {
    const lo = w.key[0] as number;
    const hi = lo + 2 ** (32 - depth);
    const subs = w.subs;
    subs.length = 0;
    w.rib.cover(w.key, depth, subs);
    let a = lo;
    for (const q of subs) {
      if (q.k0 > a) this.paint(w, a, q.k0, v);
      a = q.k0 + 2 ** (32 - q.depth);
    }
    if (hi > a) this.paint(w, a, hi, v);
    subs.length = 0;
  }

  /** Writes `v` over addresses [lo, hi) (no route deeper than /24 inside whole blocks of it: canonical form). */
  private paint(w: Writer, lo: number, hi: number, v: number): void {
    const ev = v ^ NO;
    let a = lo;
    while (a < hi) {
      const blk = Math.floor(a / 256);
      const start = blk * 256;
      if (a === start && start + 256 <= hi) {
        const end = Math.floor(hi / 256);
        this.t24.fill(ev, blk, end);
        a = end * 256;
        continue;
      }
      const end = Math.min(start + 256, hi);
      let e = this.t24[blk] as number;
      if (e < 0) {
        const base = e & 0x7fffffff;
        this.t8.fill(ev, base + (a - start), base + (end - start));
      } else {
        // P is deeper than /24 and its block had none: a new group, complete before it is published.
        const base = w.pool.alloc() << 8;
        this.t8.fill(e, base, base + 256);
        this.t8.fill(ev, base + (a - start), base + (end - start));
        e = ENTRY_PTR | base;
        Atomics.store(this.t24, blk, e);
      }
      a = end;
    }
  }
}

/**
 * IPv6 FIB with bulk lookup straight from packet bytes, in SharedArrayBuffers read by worker threads while
 * the control thread adds and deletes routes.
 *
 * Structure: a multi-level table, DIR-24-8 style: `l0`, 2^24 entries indexed by the first three address
 * bytes (64 MiB, committed as touched), then tbl8 groups of 256 entries each indexed by the next byte, and
 * path-compressed **leaves**: when the block of an entry holds exactly one route deeper than the entry, the
 * entry points to a leaf {prefix, depth, next hop, default} instead of a chain of groups, and the lookup
 * compares the address with the prefix a 32-bit word at a time (next hop on a match, the block's default
 * otherwise). DPDK's trie (rte_fib6 TRIE) uses groups all the way down: a random /128 costs it up to 13
 * groups of 1 KiB; here it costs one 32-byte leaf. A lookup is one l0 load, one load per group on the way,
 * and at most one leaf compare.
 *
 * Canonical form, rebuilt from the RIB ({@link PrefixTrie}): an entry for a block at prefix length b is a
 * next hop when no route deeper than b lies in the block, a leaf when exactly one does, a group when two or
 * more do; next hops and leaf defaults carry the longest route of depth <= b covering the block. Adding or
 * deleting a prefix P revisits only the entries whose value derives from P (P's range minus its more
 * specific routes, and the entries on P's path), so a change costs what it changes. The groups and leaves
 * an operation needs are counted before anything changes (an add: the new subtree where P lands, at most a
 * chain of groups plus two leaves; a delete: at most one leaf), and a failing operation leaves the table
 * and the RIB as they were. Depth 0 (::/0) is allowed.
 *
 * Concurrency (one writer, any number of readers), as {@link Fib4}: every entry and leaf field is one
 * aligned 32-bit word (a reader sees the old or the new value); a new group or leaf is complete before the
 * entry pointing to it is published with `Atomics.store`; next hops and leaf next-hop/default words change
 * in place (Atomics.store; nothing depends on them); a leaf's prefix never changes (another route gets a
 * new leaf); unpublished groups and leaves are reused only after a {@link Qsbr} grace period (opts.qsbr),
 * at once while never shared, never once shared without a Qsbr (src/lookup/fib/pool.ts).
 *
 * @example
 * const fib = Fib6.create();
 * fib.add(parseIp6("fd00::"), 16, 1);
 * fib.add(parseIp6("fd00:1:2:3::"), 64, 2);
 * const pkt = parseIp6("fd00:1:2:3::42");
 * console.log(fib.lookup(pkt, 0), fib.lookup(parseIp6("fd00::9"), 0)); // 2 1
 */
import type { Qsbr } from "../qsbr.js";
import { ENTRY_LEAF, ENTRY_PTR, FIB_NO_ROUTE, GROUP_MASK, LEAF_MASK, MAX_TBL8_GROUPS, checkCount, checkDepth, checkIp6, checkNextHop } from "./entry.js";
import { IndexPool } from "./pool.js";
import { prefix6Text, route6, type Route6 } from "./rib6.js";
import { PrefixTrie, keyFromBytes, maskKey, type TrieNode } from "./trie.js";

/** What a worker needs to open the same IPv6 FIB ({@link Fib6.shared}); structured-cloneable. */
export interface Fib6Shared {
  readonly l0: SharedArrayBuffer;
  readonly tbl8: SharedArrayBuffer;
  readonly leaves: SharedArrayBuffer;
  readonly maxTbl8Groups: number;
  readonly maxLeaves: number;
}

/** Options of {@link Fib6.create}. */
export interface Fib6Options {
  /** tbl8 groups (1 KiB each; where two or more routes share a block). Default 65536. */
  maxTbl8Groups?: number;
  /** Leaves (32 bytes each; about one per route deeper than /24). Default 2^20. */
  maxLeaves?: number;
  /** Reclaim unpublished groups and leaves after a grace period of these readers. */
  qsbr?: Qsbr;
}

/** Table counters ({@link Fib6.stats}). */
export interface Fib6Stats {
  routes: number;
  maxTbl8Groups: number;
  maxLeaves: number;
  tbl8Used: number;
  leavesUsed: number;
  /** Groups and leaves waiting for a grace period. */
  tbl8Pending: number;
  leavesPending: number;
  /** Groups and leaves unpublished while shared without a Qsbr: never reused. */
  tbl8Retired: number;
  leavesRetired: number;
}

const L0_ENTRIES = 1 << 24;
/** Addresses per pass of lookupBulk. */
const BULK_CHUNK = 64;
const NO = FIB_NO_ROUTE;
const MAX_LEAVES = 1 << 27;
/** Words per leaf: the prefix as four big-endian u32 words (stored as Int32), depth, next hop, default, unused. */
const LEAF_WORDS = 8;
const LEAF_PTR = ENTRY_PTR | ENTRY_LEAF;

/** Control-thread state of a writable FIB. */
interface Writer {
  readonly rib: PrefixTrie;
  readonly groups: IndexPool;
  readonly leaves: IndexPool;
  /** A block key per level (level 0: l0, /24). */
  readonly keys: Uint32Array[];
  readonly pKey: Uint32Array;
  pDepth: number;
  readonly subs: TrieNode[];
  needGroups: number;
  needLeaves: number;
}

const isGroup = (e: number): boolean => e < 0 && (e & ENTRY_LEAF) === 0;
const isLeaf = (e: number): boolean => e < 0 && (e & ENTRY_LEAF) !== 0;
/** Byte `i` (0..15) of a 4-word key. */
const byteOf = (k: Uint32Array, i: number): number => ((k[i >>> 2] as number) >>> (24 - 8 * (i & 3))) & 0xff;
function setByte(k: Uint32Array, i: number, c: number): void {
  const sh = 24 - 8 * (i & 3);
  k[i >>> 2] = (((k[i >>> 2] as number) & ~(0xff << sh)) | (c << sh)) >>> 0;
}

/**
 * An IPv6 FIB. See the module comment.
 *
 * @example
 * const fib = Fib6.create({ maxTbl8Groups: 4096 });
 * fib.add(parseIp6("2001:db8::"), 32, 7);
 * const u8 = new Uint8Array(64);
 * u8.set(parseIp6("2001:db8::1"), 24); // e.g. an IPv6 header's destination in a frame
 * const nhs = new Uint32Array(1);
 * fib.lookupBulk(u8, Uint32Array.of(24), nhs, 1); // nhs[0] = 7
 */
export class Fib6 {
  declare readonly maxTbl8Groups: number;
  declare readonly maxLeaves: number;
  private declare readonly l0: Int32Array;
  private declare readonly t8: Int32Array;
  private declare readonly lf: Int32Array;
  private declare readonly w: Writer | null;
  /** This thread's scratch of first-level entries for lookupBulk. */
  private declare readonly first: Int32Array;

  private constructor(s: Fib6Shared, w: Writer | null) {
    this.maxTbl8Groups = s.maxTbl8Groups;
    this.maxLeaves = s.maxLeaves;
    this.l0 = new Int32Array(s.l0);
    this.t8 = new Int32Array(s.tbl8);
    this.lf = new Int32Array(s.leaves);
    this.w = w;
    this.first = new Int32Array(BULK_CHUNK);
  }

  /**
   * An empty FIB (64 MiB of l0, 1 KiB per group, 32 bytes per leaf, committed as touched).
   *
   * @example
   * const fib = Fib6.create({ maxTbl8Groups: 1024, maxLeaves: 65536 });
   */
  static create(opts: Fib6Options = {}): Fib6 {
    const groups = opts.maxTbl8Groups ?? 65536;
    const leaves = opts.maxLeaves ?? 1 << 20;
    checkCount("Fib6.create", "maxTbl8Groups", groups, 1, MAX_TBL8_GROUPS);
    checkCount("Fib6.create", "maxLeaves", leaves, 1, MAX_LEAVES);
    const s: Fib6Shared = {
      l0: new SharedArrayBuffer(4 * L0_ENTRIES),
      tbl8: new SharedArrayBuffer(4 * 256 * groups),
      leaves: new SharedArrayBuffer(4 * LEAF_WORDS * leaves),
      maxTbl8Groups: groups,
      maxLeaves: leaves,
    };
    const q = opts.qsbr ?? null;
    const keys: Uint32Array[] = [];
    for (let i = 0; i < 16; i++) keys.push(new Uint32Array(4));
    return new Fib6(s, {
      rib: new PrefixTrie(128),
      groups: new IndexPool(groups, q),
      leaves: new IndexPool(leaves, q),
      keys,
      pKey: new Uint32Array(4),
      pDepth: 0,
      subs: [],
      needGroups: 0,
      needLeaves: 0,
    });
  }

  /**
   * A read-only view of a FIB another thread writes (add/delete throw).
   *
   * @example
   * const fib = Fib6.fromShared(Fib6.create().shared()); // in a worker: the object the control thread posted
   */
  static fromShared(s: Fib6Shared): Fib6 {
    return new Fib6(s, null);
  }

  /**
   * What to post to a worker. From now on, without a Qsbr, unpublished groups and leaves are never reused.
   *
   * @example
   * const s: Fib6Shared = Fib6.create().shared(); // worker.postMessage({ fib6: s })
   */
  shared(): Fib6Shared {
    if (this.w !== null) {
      this.w.groups.shared = true;
      this.w.leaves.shared = true;
    }
    return {
      l0: this.l0.buffer as SharedArrayBuffer,
      tbl8: this.t8.buffer as SharedArrayBuffer,
      leaves: this.lf.buffer as SharedArrayBuffer,
      maxTbl8Groups: this.maxTbl8Groups,
      maxLeaves: this.maxLeaves,
    };
  }

  /**
   * The next hop of the longest route matching the 16-byte address at `u8[off]`, or {@link FIB_NO_ROUTE}.
   *
   * @example
   * const nh = Fib6.create().lookup(parseIp6("fd00::1"), 0); // FIB_NO_ROUTE
   */
  lookup(u8: Uint8Array, off: number): number {
    const t8 = this.t8;
    const lf = this.lf;
    let e = this.l0[((u8[off] as number) << 16) | ((u8[off + 1] as number) << 8) | (u8[off + 2] as number)] as number;
    let p = off + 3;
    while (e < 0) {
      if ((e & ENTRY_LEAF) === 0) {
        e = t8[(e & GROUP_MASK) | (u8[p] as number)] as number;
        p++;
        continue;
      }
      const L = e & LEAF_MASK;
      const depth = lf[L + 4] as number;
      let diff = 0;
      for (let w = 0, o = off; w < 4; w++, o += 4) {
        const r = depth - 32 * w;
        if (r <= 0) break;
        const a = ((u8[o] as number) << 24) | ((u8[o + 1] as number) << 16) | ((u8[o + 2] as number) << 8) | (u8[o + 3] as number);
        diff |= (a ^ (lf[L + w] as number)) & (r >= 32 ? -1 : ~(-1 >>> r));
      }
      e = (diff === 0 ? lf[L + 5] : lf[L + 6]) as number;
    }
    return e ^ NO;
  }

  /**
   * Looks up `n` addresses: `nextHops[i]` = lookup(`u8`, `offs[i]`), where `offs[i]` is the byte offset of a
   * 16-byte address in `u8` (e.g. the destination of an IPv6 header in the UMEM). Allocates nothing.
   *
   * @example
   * const fib = Fib6.create();
   * const u8 = new Uint8Array(32 * 16);
   * const offs = Uint32Array.from({ length: 32 }, (_, i) => 16 * i);
   * const nhs = new Uint32Array(32);
   * fib.lookupBulk(u8, offs, nhs, 32);
   */
  lookupBulk(u8: Uint8Array, offs: Uint32Array, nextHops: Uint32Array, n: number): void {
    const l0 = this.l0;
    const t8 = this.t8;
    const lf = this.lf;
    const first = this.first;
    // Two passes per chunk, as Fib4: the l0 loads with no branch between them (many misses in flight),
    // then each address's way down through groups and leaves.
    for (let c = 0; c < n; c += BULK_CHUNK) {
      const m = Math.min(BULK_CHUNK, n - c);
      for (let j = 0; j < m; j++) {
        const off = offs[c + j] as number;
        first[j] = l0[((u8[off] as number) << 16) | ((u8[off + 1] as number) << 8) | (u8[off + 2] as number)] as number;
      }
      for (let j = 0; j < m; j++) {
        let e = first[j] as number;
        if (e < 0) {
          const off = offs[c + j] as number;
          let p = off + 3;
          do {
            if ((e & ENTRY_LEAF) === 0) {
              e = t8[(e & GROUP_MASK) | (u8[p] as number)] as number;
              p++;
              continue;
            }
            const L = e & LEAF_MASK;
            const depth = lf[L + 4] as number;
            // The prefix a word at a time (leaf words hold the address's big-endian words), masked to depth.
            let diff = 0;
            for (let w = 0, o = off; w < 4; w++, o += 4) {
              const r = depth - 32 * w;
              if (r <= 0) break;
              const a = ((u8[o] as number) << 24) | ((u8[o + 1] as number) << 16) | ((u8[o + 2] as number) << 8) | (u8[o + 3] as number);
              diff |= (a ^ (lf[L + w] as number)) & (r >= 32 ? -1 : ~(-1 >>> r));
            }
            e = (diff === 0 ? lf[L + 5] : lf[L + 6]) as number;
          } while (e < 0);
        }
        nextHops[c + j] = e ^ NO;
      }
    }
  }

  private writer(op: string): Writer {
    if (this.w === null) throw new Error(`Fib6.${op}: this FIB is a read-only view (Fib6.fromShared); update it on the thread that created it`);
    return this.w;
  }

  /**
   * Number of routes.
   *
   * @example
   * console.log(Fib6.create().size); // 0
   */
  get size(): number {
    return this.writer("size").rib.size;
  }

  /** Validates, and loads the masked prefix into w.pKey / w.pDepth. */
  private prefix(w: Writer, where: string, ip: Uint8Array, depth: number): void {
    checkIp6(where, ip);
    checkDepth(where, depth, 128);
    maskKey(keyFromBytes(ip, 0, w.pKey), depth);
    w.pDepth = depth;
  }

  /**
   * Adds the route `ip/depth` -> `nextHop` (`ip` 16 bytes, host bits ignored), replacing the next hop of an
   * existing route of the same prefix. Throws a RangeError on a bad argument or when the groups or leaves it
   * needs are not free; the table is then unchanged.
   *
   * @example
   * const fib = Fib6.create();
   * fib.add(parseIp6("2001:db8::"), 32, 7);
   */
  add(ip: Uint8Array, depth: number, nextHop: number): void {
    const w = this.writer("add");
    const where = `Fib6.add ${prefix6Text(ip, depth)} -> ${nextHop}`;
    this.prefix(w, where, ip, depth);
    checkNextHop(where, nextHop);
    const prev = w.rib.insert(w.pKey, depth, nextHop);
    if (prev === nextHop) return;
    if (prev < 0) {
      this.countAdd(w);
      if (w.needGroups > w.groups.available() || w.needLeaves > w.leaves.available()) {
        w.rib.remove(w.pKey, depth);
        throw new RangeError(
          `${where}: needs ${w.needGroups} tbl8 groups and ${w.needLeaves} leaves; free: ${w.groups.available()} of ${this.maxTbl8Groups} groups ` +
            `(${w.groups.pending} waiting for a grace period, ${w.groups.retired} retired), ${w.leaves.available()} of ${this.maxLeaves} leaves ` +
            `(${w.leaves.pending} waiting, ${w.leaves.retired} retired); create the FIB with larger maxTbl8Groups / maxLeaves`,
        );
      }
    }
    this.apply(w, nextHop);
  }

  /**
   * Deletes the route `ip/depth`; its addresses fall back to the covering route. Returns false when there
   * was no such route. Throws a RangeError (changing nothing) in the rare case that the block left with a
   * single route needs a leaf and none is free.
   *
   * @example
   * const fib = Fib6.create();
   * fib.delete(parseIp6("2001:db8::"), 32); // false
   */
  delete(ip: Uint8Array, depth: number): boolean {
    const w = this.writer("delete");
    const where = `Fib6.delete ${prefix6Text(ip, depth)}`;
    this.prefix(w, where, ip, depth);
    const prev = w.rib.remove(w.pKey, depth);
    if (prev < 0) return false;
    const leaves = this.countDelete(w);
    if (leaves > w.leaves.available()) {
      w.rib.insert(w.pKey, depth, prev);
      throw new RangeError(`${where}: needs a leaf and none of ${this.maxLeaves} is free (${w.leaves.pending} waiting for a grace period, ${w.leaves.retired} retired)`);
    }
    const parent = depth === 0 ? null : w.rib.lpm(w.pKey, depth - 1);
    this.apply(w, parent === null ? FIB_NO_ROUTE : parent.nh);
    return true;
  }

  /**
   * Every route, in address order.
   *
   * @example
   * for (const r of Fib6.create().routes()) console.log(formatIp6(r.ip), r.depth, r.nextHop);
   */
  routes(): Route6[] {
    const out: Route6[] = [];
    for (const n of this.writer("routes").rib.nodes()) out.push(route6(n));
    return out;
  }

  /**
   * Moves unpublished groups and leaves whose grace period passed back to the free lists; returns how many.
   *
   * @example
   * Fib6.create({ qsbr: Qsbr.create(1) }).reclaim(); // 0
   */
  reclaim(): number {
    const w = this.writer("reclaim");
    return w.groups.reclaim() + w.leaves.reclaim();
  }

  /**
   * Counters of the table.
   *
   * @example
   * console.log(Fib6.create().stats().leavesUsed); // 0
   */
  stats(): Fib6Stats {
    const w = this.writer("stats");
    return {
      routes: w.rib.size,
      maxTbl8Groups: this.maxTbl8Groups,
      maxLeaves: this.maxLeaves,
      tbl8Used: w.groups.used,
      leavesUsed: w.leaves.used,
      tbl8Pending: w.groups.pending,
      leavesPending: w.leaves.pending,
      tbl8Retired: w.groups.retired,
      leavesRetired: w.leaves.retired,
    };
  }

  // ---- control side ----

  /** The block key of P at prefix length `bd` into w.keys[level]. */
  private pathKey(w: Writer, level: number, bd: number): Uint32Array {
    const k = w.keys[level] as Uint32Array;
    k.set(w.pKey);
    return maskKey(k, bd);
  }

  /** Groups and leaves an add of P (new, already in the RIB) needs: the new subtree where P's path leaves the groups. */
  private countAdd(w: Writer): void {
    w.needGroups = 0;
    w.needLeaves = 0;
    const d = w.pDepth;
    let e = this.l0[(w.pKey[0] as number) >>> 8] as number;
    let bd = 24;
    let level = 0;
    while (d > bd && isGroup(e)) {
      e = this.t8[(e & GROUP_MASK) | byteOf(w.pKey, bd >>> 3)] as number;
      bd += 8;
      level++;
    }
    if (d <= bd) return;
    this.countBuild(w, this.pathKey(w, level, bd), bd, level);
  }

  private countBuild(w: Writer, key: Uint32Array, bd: number, level: number): void {
    w.rib.blockInfo(key, bd);
    const c = w.rib.infoCount;
    if (c === 0) return;
    if (c === 1) {
      w.needLeaves++;
      return;
    }
    w.needGroups++;
    const ck = w.keys[level + 1] as Uint32Array;
    ck.set(key);
    const bi = bd >>> 3;
    for (let b = 0; b < 256; b++) {
      setByte(ck, bi, b);
      this.countBuild(w, ck, bd + 8, level + 1);
    }
  }

  /** Leaves a delete of P (already out of the RIB) needs: one where a group collapses to a single route. */
  private countDelete(w: Writer): number {
    const d = w.pDepth;
    let e = this.l0[(w.pKey[0] as number) >>> 8] as number;
    let bd = 24;
    while (d > bd && isGroup(e)) {
      w.rib.blockInfo(this.pathKey(w, 0, bd), bd);
      if (w.rib.infoCount <= 1) return w.rib.infoCount;
      e = this.t8[(e & GROUP_MASK) | byteOf(w.pKey, bd >>> 3)] as number;
      bd += 8;
    }
    return 0;
  }

  /** Rewrites every entry derived from P (w.pKey / w.pDepth) after the RIB changed; `v` is P's new value. */
  private apply(w: Writer, v: number): void {
    const d = w.pDepth;
    const k0 = w.pKey[0] as number;
    if (d > 24) {
      this.refresh(w, this.l0, k0 >>> 8, this.pathKey(w, 0, 24), 24, 0);
      return;
    }
    const ev = v ^ NO;
    const i1 = (k0 >>> 8) + 2 ** (24 - d);
    const subs = w.subs;
    subs.length = 0;
    w.rib.cover(w.pKey, d, subs);
    let a = k0 >>> 8;
    for (const q of subs) {
      const qi = q.k0 >>> 8;
      if (q.depth <= 24) {
        if (qi > a) this.l0.fill(ev, a, qi);
        a = qi + 2 ** (24 - q.depth);
      } else if (qi >= a) {
        if (qi > a) this.l0.fill(ev, a, qi);
        const k = w.keys[0] as Uint32Array;
        k.fill(0);
        k[0] = (qi << 8) >>> 0;
        this.refresh(w, this.l0, qi, k, 24, 0);
        a = qi + 1;
      }
    }
    if (i1 > a) this.l0.fill(ev, a, i1);
    subs.length = 0;
  }

  /**
   * Brings `arr[idx]`, the entry of block (`key`, `bd`), to its canonical content, descending into an
   * existing group only where P reaches. `key` is w.keys[level].
   */
  private refresh(w: Writer, arr: Int32Array, idx: number, key: Uint32Array, bd: number, level: number): void {
    const rib = w.rib;
    rib.blockInfo(key, bd);
    if (rib.infoDepth > w.pDepth) return; // inside a more specific route than P: unchanged
    const v = rib.infoNh < 0 ? 0 : rib.infoNh ^ NO;
    const count = rib.infoCount;
    const q = rib.infoRoute;
    const e = arr[idx] as number;
    if (count === 0) {
      if (e !== v) {
        Atomics.store(arr, idx, v);
        if (e < 0) this.retireTree(w, e);
      }
      return;
    }
    if (count === 1) {
      const route = q as TrieNode;
      if (isLeaf(e) && this.leafIs(e & LEAF_MASK, route)) {
        const L = e & LEAF_MASK;
        const nh = route.nh ^ NO;
        if (this.lf[L + 5] !== nh) Atomics.store(this.lf, L + 5, nh);
        if (this.lf[L + 6] !== v) Atomics.store(this.lf, L + 6, v);
        return;
      }
      Atomics.store(arr, idx, LEAF_PTR | this.newLeaf(w, route, v));
      if (e < 0) this.retireTree(w, e);
      return;
    }
    if (!isGroup(e)) {
      const g = this.build(w, key, bd, level);
      Atomics.store(arr, idx, g);
      if (e < 0) this.retireTree(w, e);
      return;
    }
    // An existing group stays a group: revisit the children P reaches.
    const base = e & GROUP_MASK;
    const cbd = bd + 8;
    const bi = bd >>> 3;
    const d = w.pDepth;
    let c0 = 0;
    let c1 = 256;
    if (d > bd) {
      c0 = byteOf(w.pKey, bi);
      c1 = d < cbd ? c0 + 2 ** (cbd - d) : c0 + 1;
    }
    const ck = w.keys[level + 1] as Uint32Array;
    ck.set(key);
    for (let c = c0; c < c1; c++) {
      setByte(ck, bi, c);
      this.refresh(w, this.t8, base + c, ck, cbd, level + 1);
    }
  }

  /** The canonical entry of block (`key`, `bd`), with new (unpublished, so plainly written) groups and leaves. */
  private build(w: Writer, key: Uint32Array, bd: number, level: number): number {
    const rib = w.rib;
    rib.blockInfo(key, bd);
    const v = rib.infoNh < 0 ? 0 : rib.infoNh ^ NO;
    if (rib.infoCount === 0) return v;
    if (rib.infoCount === 1) return LEAF_PTR | this.newLeaf(w, rib.infoRoute as TrieNode, v);
    const base = w.groups.alloc() << 8;
    const ck = w.keys[level + 1] as Uint32Array;
    ck.set(key);
    const bi = bd >>> 3;
    for (let c = 0; c < 256; c++) {
      setByte(ck, bi, c);
      this.t8[base + c] = this.build(w, ck, bd + 8, level + 1);
    }
    return ENTRY_PTR | base;
  }

  /** A new leaf for route `q` with default `v` (encoded); returns its first word. */
  private newLeaf(w: Writer, q: TrieNode, v: number): number {
    const L = w.leaves.alloc() * LEAF_WORDS;
    const lf = this.lf;
    lf[L] = q.k0 | 0;
    lf[L + 1] = q.k1 | 0;
    lf[L + 2] = q.k2 | 0;
    lf[L + 3] = q.k3 | 0;
    lf[L + 4] = q.depth;
    lf[L + 5] = q.nh ^ NO;
    lf[L + 6] = v;
    return L;
  }

  /** Whether leaf `L` holds route `q`'s prefix. */
  private leafIs(L: number, q: TrieNode): boolean {
    const lf = this.lf;
    return lf[L + 4] === q.depth && lf[L] === (q.k0 | 0) && lf[L + 1] === (q.k1 | 0) && lf[L + 2] === (q.k2 | 0) && lf[L + 3] === (q.k3 | 0);
  }

  /** Retires an unpublished entry's group (with everything below it) or leaf. */
  private retireTree(w: Writer, e: number): void {
    if (isLeaf(e)) {
      w.leaves.retire((e & LEAF_MASK) / LEAF_WORDS);
      return;
    }
    const base = e & GROUP_MASK;
    for (let c = 0; c < 256; c++) {
      const ce = this.t8[base + c] as number;
      if (ce < 0) this.retireTree(w, ce);
    }
    w.groups.retire(base >>> 8);
  }
}

/**
 * A cuckoo hash table with fixed-size keys, as DPDK's `rte_hash` and CNDP's `cne_hash` (Fan et al.,
 * "MemC3", NSDI 2013): buckets of 8 entries, each a 16-bit signature (the hash's high half) and the index
 * of a key slot; a key lives in its primary bucket (hash & mask) or its secondary bucket
 * ((primary ^ signature) & mask), so either is found from the other. An insert into a full primary bucket
 * searches breadth-first (bounded, 1000 nodes as `RTE_HASH_BFS_QUEUE_MAX_LEN`) for a path of keys each
 * movable to its other bucket, ending at an empty entry, then shifts them along it; with `extendable`,
 * when no path exists the key goes into overflow buckets chained from its secondary bucket, otherwise
 * the add returns {@link HASH_FULL} and changes nothing.
 *
 * Keys are 4 to 64 bytes, values u32 (0 to 0xfffffffe; {@link HASH_MISS} marks a miss). Everything a
 * lookup reads lives in SharedArrayBuffers: buckets (16 words, one 64-byte cache line: 8 signatures and 8
 * key-slot indices), overflow links, key slots (the value word then the key bytes), and control words.
 * {@link CuckooHash.shared} / {@link CuckooHash.fromShared} open a read-only view in a worker thread.
 *
 * Concurrency (DPDK's `RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF`): one writer, the thread that created the
 * table, and any number of lock-free readers. The writer publishes an entry by writing the key slot and
 * the signature first and the key-slot index last (`Atomics.store`); readers load the index with
 * `Atomics.load` and compare the full key, so a half-written entry never matches. What could make a
 * reader miss a key that is present, or match bytes that are being overwritten, bumps a change counter
 * that readers load before and after each lookup (each chunk of 64 keys in a bulk lookup) and retry on:
 * - a cuckoo move copies the key to its other bucket, bumps the counter, then overwrites the old entry;
 * - a delete from an overflow chain moves the chain's last key into the hole the same way;
 * - a key slot or overflow bucket freed by a delete is reused with a bump first, unless a {@link Qsbr}
 *   given at create says every reader has passed a quiescent state since the delete (DPDK's RCU defer
 *   queue). Freed slots are reused oldest first, after the never-used ones.
 * So a reader's result for a key is always a value that key had at some point during the lookup, and a
 * miss only when the key was absent at some point during it. The ordering argument needs the reader's
 * plain loads not to pass its final `Atomics.load` of the counter, which holds on x86-64 (TSO, where
 * V8 emits plain moves for both) as DPDK's C needs its acquire fence.
 *
 * Hot path ({@link CuckooHash.lookupBulk}, {@link CuckooHash.lookupBulkWithHash}): no allocation, keys
 * read in place at byte offsets of a `Uint8Array` (the UMEM, or a scratch array of 5-tuples).
 *
 * @example
 * const t = CuckooHash.create({ entries: 1024, keyLen: 13 });
 * const key = new Uint8Array(13).fill(7);
 * t.add(key, 42);
 * console.log(t.lookup(key)); // 42
 * // in a worker: const r = CuckooHash.fromShared(data.table); r.lookupBulk(u8, offs, n, values);
 */
import type { Qsbr } from "../qsbr.js";
import { crc32c, crc32cWords } from "./crc32c.js";
import { jhash, jhashWords } from "./jhash.js";

/**
 * A lookup's result for a key that is not in the table (written to a `Uint32Array`; -1 in an `Int32Array`).
 *
 * @example
 * const t = CuckooHash.create({ entries: 64, keyLen: 4 });
 * if (t.lookup(Uint8Array.of(1, 2, 3, 4)) === HASH_MISS) console.log("not there");
 */
export const HASH_MISS = 0xffffffff;

/**
 * {@link CuckooHash.add}'s result when the key could not be placed (-ENOSPC, as `rte_hash_add_key`): every
 * key slot is taken, or no cuckoo path was found and the table is not extendable (or its overflow
 * buckets are used up). Nothing was changed.
 *
 * @example
 * const t = CuckooHash.create({ entries: 64, keyLen: 4 });
 * if (t.add(Uint8Array.of(1, 2, 3, 4), 1) === HASH_FULL) console.log("table full");
 */
export const HASH_FULL = -28;

/**
 * The hash functions a table can use: `crc32c` (`rte_hash_crc`, DPDK's default on x86) or `jhash` (`rte_jhash`).
 *
 * @example
 * const t = CuckooHash.create({ entries: 64, keyLen: 16, hash: "jhash", hashInit: 0x1234 });
 */
export type HashFunctionName = "crc32c" | "jhash";

/**
 * Parameters of {@link CuckooHash.create} (`struct rte_hash_parameters`).
 *
 * @example
 * const opts: CuckooHashOptions = { entries: 1 << 20, keyLen: 13, extendable: true };
 */
export interface CuckooHashOptions {
  /** Most keys the table holds: 8 to 2^26. Buckets: the next power of two of this, divided by 8. */
  entries: number;
  /** Key size in bytes: 4 to 64. */
  keyLen: number;
  /** Overflow buckets (as many as the main buckets) chained when cuckoo moves find no room. Default false. */
  extendable?: boolean;
  /** Default "crc32c". */
  hash?: HashFunctionName;
  /** The hash function's initial value (`hash_func_init_val`). Default 0. */
  hashInit?: number;
  /** Reader threads' QSBR: freed key slots are reused without a reader retry once it says so. */
  qsbr?: Qsbr;
}

/**
 * What a worker needs to open the table ({@link CuckooHash.shared}): structured-cloneable.
 *
 * @example
 * import { Worker } from "node:worker_threads";
 * const t = CuckooHash.create({ entries: 1024, keyLen: 13 });
 * const s: CuckooHashShared = t.shared();
 * new Worker("./reader.js", { workerData: { table: s } });
 */
export interface CuckooHashShared {
  readonly ctl: SharedArrayBuffer;
  readonly buckets: SharedArrayBuffer;
  readonly links: SharedArrayBuffer;
  readonly slots: SharedArrayBuffer;
  readonly entries: number;
  readonly keyLen: number;
  readonly extendable: boolean;
  readonly hash: HashFunctionName;
  readonly hashInit: number;
}

const CTL_CHANGE = 0; // DPDK's tbl_chng_cnt
const CTL_COUNT = 1;
const CTL_WORDS = 16; // a cache line of its own
const BUCKET_ENTRIES = 8;
const BFS_MAX = 1000; // RTE_HASH_BFS_QUEUE_MAX_LEN
const CHUNK = 64; // keys per change-counter check in bulk lookups
const ENTRIES_MAX = 1 << 26;

/** The writer's private state: free lists and the cuckoo search queue (never shared). */
class WriterState {
  nextFresh = 1; // key slots never used: nextFresh .. entries
  readonly freed: Int32Array; // FIFO ring of freed key slots
  readonly freedTok: Int32Array; // the QSBR token taken when each was freed (0 without a Qsbr)
  fHead = 0;
  fLen = 0;
  nextExt = 0; // overflow buckets never used: numBuckets + nextExt ..
  readonly extFreed: Int32Array;
  readonly extTok: Int32Array;
  eHead = 0;
  eLen = 0;
  readonly qB = new Int32Array(BFS_MAX);
  readonly qParent = new Int32Array(BFS_MAX);
  readonly qSlot = new Int32Array(BFS_MAX);
  readonly visited: Int32Array;
  stamp = 0;
  leafSlot = 0;

  constructor(entries: number, numBuckets: number, readonly qsbr: Qsbr | null) {
    this.freed = new Int32Array(entries);
    this.freedTok = new Int32Array(entries);
    this.extFreed = new Int32Array(numBuckets);
    this.extTok = new Int32Array(numBuckets);
    this.visited = new Int32Array(numBuckets);
  }
}

/**
 * The key slot of the first entry of the bucket at word `base` whose signature is `sig` and whose slot is
 * not empty, or 0. The 8 signatures are compared into a bit mask without branches (as DPDK's vector
 * compare), so that the scans of a burst's keys do not stall on mispredicted branches.
 */
function firstMatch(bkt: Int32Array, base: number, sig: number): number {
  let m = (bkt[base] === sig ? 1 : 0) | (bkt[base + 1] === sig ? 2 : 0) | (bkt[base + 2] === sig ? 4 : 0) |
    (bkt[base + 3] === sig ? 8 : 0) | (bkt[base + 4] === sig ? 16 : 0) | (bkt[base + 5] === sig ? 32 : 0) |
    (bkt[base + 6] === sig ? 64 : 0) | (bkt[base + 7] === sig ? 128 : 0);
  while (m !== 0) {
    const j = 31 - Math.clz32(m & -m);
    const k = Atomics.load(bkt, base + 8 + j);
    if (k !== 0) return k;
    m &= m - 1;
  }
  return 0;
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * The table. See the module comment.
 *
 * @example
 * const t = CuckooHash.create({ entries: 1 << 16, keyLen: 13 });
 * const offs = new Uint32Array(32), values = new Uint32Array(32);
 * for (let i = 0; i < n; i++) offs[i] = ((bufs[i]! << umem.shift) >>> 0) + mempool.mbufs.dataOff[bufs[i]!]! + 26; // IPv4 addresses, ports
 * const hits = t.lookupBulk(umem.u8, offs, n, values);
 */
export class CuckooHash {
  /** Most keys the table holds (the `entries` it was created with). */
  readonly capacity: number;
  /** Key size in bytes. */
  readonly keyLen: number;
  /** Whether overflow buckets are used. */
  readonly extendable: boolean;
  /** The hash function. */
  readonly hashName: HashFunctionName;
  /** Its initial value. */
  readonly hashInit: number;
  /** Main buckets (a power of two). */
  readonly numBuckets: number;
  private readonly mask: number;
  private readonly isJhash: boolean;
  private readonly ctl: Int32Array;
  private readonly bkt: Int32Array; // per bucket: 8 signatures, then 8 key-slot indices (0 = empty)
  private readonly nxt: Int32Array; // per bucket: the next overflow bucket of its chain (0 = none)
  private readonly kv: Int32Array; // per key slot: the value, then the key bytes (slot 0 unused)
  private readonly kb: Uint8Array; // byte view of kv
  private readonly stride: number; // words per key slot
  private readonly scratch = new Uint32Array(CHUNK);
  private readonly cand = new Int32Array(CHUNK); // bulk lookup: each key's first signature match
  private readonly kw: Int32Array; // bulk lookup: the chunk's keys as words, as key slots hold them
  private sink = 0; // where the bulk lookup's early loads go, so that they are not optimised away
  private readonly w: WriterState | null;

  private constructor(s: CuckooHashShared, w: WriterState | null) {
    this.capacity = s.entries;
    this.keyLen = s.keyLen;
    this.extendable = s.extendable;
    this.hashName = s.hash;
    this.hashInit = s.hashInit;
    this.numBuckets = nextPow2(s.entries) / BUCKET_ENTRIES;
    this.mask = this.numBuckets - 1;
    this.isJhash = s.hash === "jhash";
    this.ctl = new Int32Array(s.ctl);
    this.bkt = new Int32Array(s.buckets);
    this.nxt = new Int32Array(s.links);
    this.kv = new Int32Array(s.slots);
    this.kb = new Uint8Array(s.slots);
    this.stride = 1 + ((s.keyLen + 3) >> 2);
    this.kw = new Int32Array(CHUNK * (this.stride - 1));
    this.w = w;
  }

  /**
   * A new empty table, writable from this thread (`rte_hash_create`). Throws a RangeError naming a bad
   * parameter.
   *
   * @example
   * const flows = CuckooHash.create({ entries: 1 << 20, keyLen: 13, extendable: true });
   */
  static create(opts: CuckooHashOptions): CuckooHash {
    const { entries, keyLen } = opts;
    if (!Number.isInteger(entries) || entries < BUCKET_ENTRIES || entries > ENTRIES_MAX) {
      throw new RangeError(`Invalid hash table entries ${entries}: an integer from 8 to ${ENTRIES_MAX}`);
    }
    if (!Number.isInteger(keyLen) || keyLen < 4 || keyLen > 64) throw new RangeError(`Invalid hash key length ${keyLen}: 4 to 64 bytes`);
    const hash = opts.hash ?? "crc32c";
    if (hash !== "crc32c" && hash !== "jhash") throw new RangeError(`Invalid hash function '${String(hash)}': "crc32c" or "jhash"`);
    const hashInit = opts.hashInit ?? 0;
    if (!Number.isInteger(hashInit) || hashInit < -0x80000000 || hashInit > 0xffffffff) {
      throw new RangeError(`Invalid hash initial value ${hashInit}: a 32-bit integer`);
    }
    const extendable = opts.extendable ?? false;
    const numBuckets = nextPow2(entries) / BUCKET_ENTRIES;
    const totalBuckets = numBuckets * (extendable ? 2 : 1);
    const stride = 1 + ((keyLen + 3) >> 2);
    const s: CuckooHashShared = {
      ctl: new SharedArrayBuffer(4 * CTL_WORDS),
      buckets: new SharedArrayBuffer(4 * 2 * BUCKET_ENTRIES * totalBuckets),
      links: new SharedArrayBuffer(4 * totalBuckets),
      slots: new SharedArrayBuffer(4 * stride * (entries + 1)),
      entries,
      keyLen,
      extendable,
      hash,
      hashInit: hashInit >>> 0,
    };
    return new CuckooHash(s, new WriterState(entries, numBuckets, opts.qsbr ?? null));
  }

  /**
   * A read-only view of a table created on another thread (add, delete and clear throw).
   *
   * @example
   * import { workerData } from "node:worker_threads";
 * const flows = CuckooHash.fromShared((workerData as { flows: CuckooHashShared }).flows);
   */
  static fromShared(s: CuckooHashShared): CuckooHash {
    return new CuckooHash(s, null);
  }

  /**
   * What to post to a worker.
   *
   * @example
   * import { Worker } from "node:worker_threads";
 * const flows = CuckooHash.create({ entries: 1024, keyLen: 13 });
 * new Worker("./worker.js", { workerData: { flows: flows.shared() } });
   */
  shared(): CuckooHashShared {
    return {
      ctl: this.ctl.buffer as SharedArrayBuffer,
      buckets: this.bkt.buffer as SharedArrayBuffer,
      links: this.nxt.buffer as SharedArrayBuffer,
      slots: this.kv.buffer as SharedArrayBuffer,
      entries: this.capacity,
      keyLen: this.keyLen,
      extendable: this.extendable,
      hash: this.hashName,
      hashInit: this.hashInit,
    };
  }

  /**
   * Keys in the table (`rte_hash_count`), also in a reader thread.
   *
   * @example
   * const flows = CuckooHash.create({ entries: 1024, keyLen: 13 });
 * console.log(`${flows.size} of ${flows.capacity}`); // "0 of 1024"
   */
  get size(): number {
    return Atomics.load(this.ctl, CTL_COUNT);
  }

  /**
   * The change counter readers retry on (DPDK's `tbl_chng_cnt`): bumped by every cuckoo move, chain
   * compaction and unsafe reuse of a freed slot. A signed 32-bit number that wraps.
   *
   * @example
   * const flows = CuckooHash.create({ entries: 1024, keyLen: 13 });
 * const before = flows.changeCount;
   */
  get changeCount(): number {
    return Atomics.load(this.ctl, CTL_CHANGE);
  }

  /**
   * The table's hash of the key at `u8[off .. off + keyLen)` (`rte_hash_hash`), for the *WithHash calls: a
   * signed 32-bit integer, as the hash functions return (the *WithHash calls take it signed or unsigned).
   *
   * @example
   * const flows = CuckooHash.create({ entries: 1024, keyLen: 13 });
 * const h = flows.hash(umem.u8, off + 26);
   */
  hash(u8: Uint8Array, off = 0): number {
    return this.isJhash ? jhash(u8, off, this.keyLen, this.hashInit) : crc32c(u8, off, this.keyLen, this.hashInit);
  }

  /**
   * Hashes `n` keys at byte offsets `offs` of `u8` into `hashes`. Hot path: no allocation.
   *
   * @example
   * const flows = CuckooHash.create({ entries: 1024, keyLen: 13 });
   * const offs = new Uint32Array(64), hashes = new Uint32Array(64);
   * for (let i = 0; i < n; i++) offs[i] = ((bufs[i]! << umem.shift) >>> 0) + mempool.mbufs.dataOff[bufs[i]!]! + 26;
   * flows.hashBulk(umem.u8, offs, n, hashes);
   */
  hashBulk(u8: Uint8Array, offs: Uint32Array, n: number, hashes: Uint32Array): void {
    if (n > offs.length || n > hashes.length) throw new RangeError(`hashBulk of ${n} keys: offs has ${offs.length}, hashes ${hashes.length}`);
    const len = this.keyLen;
    const init = this.hashInit;
    if (this.isJhash) for (let i = 0; i < n; i++) hashes[i] = jhash(u8, offs[i]!, len, init);
    else for (let i = 0; i < n; i++) hashes[i] = crc32c(u8, offs[i]!, len, init);
  }

  // ---------------------------------------------------------------- readers

  /**
   * The value of the key at `key[off .. off + keyLen)`, or {@link HASH_MISS} (`rte_hash_lookup_data`).
   * Any thread. Values of 2^31 and above are returned as doubles, so a hot loop should use
   * {@link CuckooHash.lookupBulk}.
   *
   * @example
   * const flows = CuckooHash.create({ entries: 1024, keyLen: 4 });
   * const v = flows.lookup(Uint8Array.of(10, 0, 0, 1));
   */
  lookup(key: Uint8Array, off = 0): number {
    this.checkKey(key, off);
    return this.lookupWithHash(key, this.hash(key, off), off);
  }

  /**
   * {@link CuckooHash.lookup} with the key's hash already computed ({@link CuckooHash.hash}).
   *
   * @example
   * const flows = CuckooHash.create({ entries: 1024, keyLen: 4 });
   * const key = Uint8Array.of(10, 0, 0, 1);
   * const v = flows.lookupWithHash(key, flows.hash(key));
   */
  lookupWithHash(key: Uint8Array, hash: number, off = 0): number {
    this.checkKey(key, off);
    let c0: number;
    let k: number;
    do {
      c0 = Atomics.load(this.ctl, CTL_CHANGE);
      k = this.findSlot(key, off, hash);
    } while (Atomics.load(this.ctl, CTL_CHANGE) !== c0);
    return k === 0 ? HASH_MISS : this.kv[k * this.stride]! >>> 0;
  }

  /**
   * Looks up a burst (`rte_hash_lookup_bulk_data`): key i is `u8[offs[i] .. offs[i] + keyLen)`;
   * `values[i]` gets its value or {@link HASH_MISS} (-1 in an `Int32Array`). With `hitMask`, bit i
   * (word i >> 5, bit i & 31) is set for a hit and cleared for a miss. Returns the number of hits. Any
   * thread; hot path: no allocation, no per-key checks (offsets must leave keyLen bytes in `u8`).
   *
   * @example
   * const flows = CuckooHash.create({ entries: 1024, keyLen: 13 });
   * const offs = new Uint32Array(64), values = new Uint32Array(64), hit = new Uint32Array(2);
   * for (let i = 0; i < n; i++) offs[i] = ((bufs[i]! << umem.shift) >>> 0) + mempool.mbufs.dataOff[bufs[i]!]! + 26;
   * const hits = flows.lookupBulk(umem.u8, offs, n, values, hit); // values[i]: the flow's value or HASH_MISS
   */
  lookupBulk(u8: Uint8Array, offs: Uint32Array, n: number, values: Uint32Array | Int32Array, hitMask?: Uint32Array): number {
    this.checkBulk(offs, n, values, hitMask);
    const h = this.scratch;
    const kw = this.kw;
    const W = this.stride - 1;
    const len = this.keyLen;
    const init = this.hashInit;
    let hits = 0;
    for (let i0 = 0; i0 < n; i0 += CHUNK) {
      const i1 = i0 + CHUNK < n ? i0 + CHUNK : n;
      this.gather(u8, offs, i0, i1);
      if (this.isJhash) for (let i = 0; i < i1 - i0; i++) h[i] = jhashWords(kw, i * W, len, init);
      else for (let i = 0; i < i1 - i0; i++) h[i] = crc32cWords(kw, i * W, len, init);
      hits += this.chunk(u8, offs, h, i0, i0, i1, values, hitMask);
    }
    return hits;
  }

  /**
   * {@link CuckooHash.lookupBulk} with the keys' hashes given (`rte_hash_lookup_with_hash_bulk_data`):
   * `hashes[i]` is key i's {@link CuckooHash.hash} (e.g. from {@link CuckooHash.hashBulk} in an earlier
   * stage).
   *
   * @example
   * const flows = CuckooHash.create({ entries: 1024, keyLen: 13 });
   * const offs = new Uint32Array(64), hashes = new Uint32Array(64), values = new Uint32Array(64);
   * for (let i = 0; i < n; i++) offs[i] = ((bufs[i]! << umem.shift) >>> 0) + mempool.mbufs.dataOff[bufs[i]!]! + 26;
   * flows.hashBulk(umem.u8, offs, n, hashes);
   * const hits = flows.lookupBulkWithHash(umem.u8, offs, hashes, n, values);
   */
  lookupBulkWithHash(u8: Uint8Array, offs: Uint32Array, hashes: Uint32Array, n: number, values: Uint32Array | Int32Array, hitMask?: Uint32Array): number {
    this.checkBulk(offs, n, values, hitMask);
    if (n > hashes.length) throw new RangeError(`lookupBulkWithHash of ${n} keys: hashes has ${hashes.length}`);
    let hits = 0;
    for (let i0 = 0; i0 < n; i0 += CHUNK) {
      const i1 = i0 + CHUNK < n ? i0 + CHUNK : n;
      this.gather(u8, offs, i0, i1);
      hits += this.chunk(u8, offs, hashes, 0, i0, i1, values, hitMask);
    }
    return hits;
  }

  /**
   * Copies keys i0 .. i1-1 into `kw` as little-endian words (the last one zero-padded, as in a key slot),
   * after loading every key's first and last byte so that their cache misses overlap.
   */
  private gather(u8: Uint8Array, offs: Uint32Array, i0: number, i1: number): void {
    const kw = this.kw;
    const W = this.stride - 1;
    const full = this.keyLen >> 2;
    const rem = this.keyLen & 3;
    let touch = 0;
    const last = this.keyLen - 1;
    for (let i = i0; i < i1; i++) touch ^= u8[offs[i]!]! ^ u8[offs[i]! + last]!;
    this.sink ^= touch;
    for (let i = i0; i < i1; i++) {
      let o = offs[i]!;
      let p = (i - i0) * W;
      for (let w = 0; w < full; w++) {
        kw[p++] = u8[o]! | (u8[o + 1]! << 8) | (u8[o + 2]! << 16) | (u8[o + 3]! << 24);
        o += 4;
      }
      if (rem === 1) kw[p] = u8[o]!;
      else if (rem === 2) kw[p] = u8[o]! | (u8[o + 1]! << 8);
      else if (rem === 3) kw[p] = u8[o]! | (u8[o + 1]! << 8) | (u8[o + 2]! << 16);
    }
  }

  /**
   * Keys i0 .. i1-1 (hash of key i at hashes[i - hBase]), retried while the change counter moves. In
   * stages, as DPDK's bulk lookup with its prefetches: every key's primary bucket is loaded; each key's
   * first signature match there is taken and its key slot loaded, or else its secondary bucket loaded;
   * those keys' secondary buckets are searched the same way; then the keys are compared. The loads of a
   * stage do not depend on each other, so their cache misses overlap instead of queueing, and a key found
   * in its primary bucket costs no load of its secondary one.
   */
  private chunk(u8: Uint8Array, offs: Uint32Array, hashes: Uint32Array, hBase: number, i0: number, i1: number,
    values: Uint32Array | Int32Array, hitMask: Uint32Array | undefined): number {
    const ctl = this.ctl;
    const bkt = this.bkt;
    const kv = this.kv;
    const cand = this.cand;
    const kw = this.kw;
    const stride = this.stride;
    const W = stride - 1;
    const mask = this.mask;
    let hits: number;
    let c0: number;
    let touch = 0;
    do {
      c0 = Atomics.load(ctl, CTL_CHANGE);
      hits = 0;
      for (let i = i0; i < i1; i++) touch ^= bkt[(hashes[i - hBase]! & mask) << 4]!;
      let needSec = 0;
      for (let i = i0; i < i1; i++) {
        const h = hashes[i - hBase]!;
        const sig = h >>> 16;
        const base = (h & mask) << 4;
        const k = firstMatch(bkt, base, sig);
        cand[i - i0] = k;
        if (k !== 0) touch ^= kv[k * stride]! ^ kv[k * stride + W]!;
        else {
          touch ^= bkt[(((h & mask) ^ sig) & mask) << 4]!;
          needSec++;
        }
      }
      if (needSec !== 0) {
        for (let i = i0; i < i1; i++) {
          if (cand[i - i0] !== 0) continue;
          const h = hashes[i - hBase]!;
          const sig = h >>> 16;
          const base = (((h & mask) ^ sig) & mask) << 4;
          const k = firstMatch(bkt, base, sig);
          cand[i - i0] = k;
          if (k !== 0) touch ^= kv[k * stride]! ^ kv[k * stride + W]!;
        }
      }
      for (let i = i0; i < i1; i++) {
        let k = cand[i - i0]!;
        let eq = k !== 0;
        for (let w = 0, p = k * stride + 1, q = (i - i0) * W; eq && w < W; w++) eq = kv[p + w] === kw[q + w];
        // no signature match: a miss unless overflow chains exist; a match with another key (16-bit
        // signatures collide): the full search, which looks at every match
        if (k === 0 ? this.extendable : !eq) k = this.findSlot(u8, offs[i]!, hashes[i - hBase]!);
        if (k !== 0) {
          values[i] = kv[k * stride]!;
          hits++;
          if (hitMask !== undefined) hitMask[i >> 5] = hitMask[i >> 5]! | (1 << (i & 31));
        } else {
          values[i] = -1;
          if (hitMask !== undefined) hitMask[i >> 5] = hitMask[i >> 5]! & ~(1 << (i & 31));
        }
      }
    } while (Atomics.load(ctl, CTL_CHANGE) !== c0);
    this.sink = touch;
    return hits;
  }

  /** The overflow buckets chained from main bucket `b`: the key's slot, or 0. */
  private findInChain(u8: Uint8Array, off: number, sig: number, b: number): number {
    const bkt = this.bkt;
    let x = Atomics.load(this.nxt, b);
    for (let steps = 0; x !== 0 && steps < this.numBuckets; steps++) {
      const base = x << 4;
      for (let j = 0; j < BUCKET_ENTRIES; j++) {
        if (bkt[base + j] === sig) {
          const s = Atomics.load(bkt, base + 8 + j);
          if (s !== 0 && this.keyEq(u8, off, s)) return s;
        }
      }
      x = Atomics.load(this.nxt, x);
    }
    return 0;
  }

  /** Bucket `b` alone: the key's slot, or 0. */
  private findInBucket(u8: Uint8Array, off: number, sig: number, b: number): number {
    const bkt = this.bkt;
    const base = b << 4;
    for (let j = 0; j < BUCKET_ENTRIES; j++) {
      if (bkt[base + j] === sig) {
        const s = Atomics.load(bkt, base + 8 + j);
        if (s !== 0 && this.keyEq(u8, off, s)) return s;
      }
    }
    return 0;
  }

  /** The key's slot (primary, secondary, then the secondary's chain), or 0. One pass, no retry. */
  private findSlot(u8: Uint8Array, off: number, h: number): number {
    const sig = h >>> 16;
    const prim = h & this.mask;
    let k = this.findInBucket(u8, off, sig, prim);
    if (k !== 0) return k;
    const sec = (prim ^ sig) & this.mask;
    k = this.findInBucket(u8, off, sig, sec);
    if (k !== 0 || !this.extendable) return k;
    return this.findInChain(u8, off, sig, sec);
  }

  private keyEq(u8: Uint8Array, off: number, slot: number): boolean {
    const kb = this.kb;
    const p = (slot * this.stride + 1) << 2;
    const n = this.keyLen;
    for (let j = 0; j < n; j++) if (kb[p + j] !== u8[off + j]) return false;
    return true;
  }

  /**
   * Every key and value (`rte_hash_iterate`), main buckets then overflow buckets; the keys are copies.
   * Consistent on the writer's thread; a reader thread iterating during changes may see a key twice or
   * not at all.
   *
   * @example
   * const flows = CuckooHash.create({ entries: 1024, keyLen: 4 });
   * flows.add(Uint8Array.of(10, 0, 0, 1), 7);
   * for (const [key, value] of flows.entries()) console.log(key, value); // Uint8Array [10, 0, 0, 1] 7
   */
  *entries(): IterableIterator<[Uint8Array, number]> {
    const total = this.bkt.length >> 4;
    for (let b = 0; b < total; b++) {
      for (let j = 0; j < BUCKET_ENTRIES; j++) {
        const k = Atomics.load(this.bkt, (b << 4) + 8 + j);
        if (k === 0) continue;
        const p = (k * this.stride + 1) << 2;
        yield [this.kb.slice(p, p + this.keyLen), this.kv[k * this.stride]! >>> 0];
      }
    }
  }

  // ---------------------------------------------------------------- the writer

  /**
   * Adds the key at `key[off .. off + keyLen)` with `value` (0 to 0xfffffffe), or updates its value if it
   * is there (`rte_hash_add_key_data`). Returns the key's position (0 to entries - 1: a stable index for
   * data of your own while the key stays) or {@link HASH_FULL}, which changed nothing. Throws a
   * RangeError on a bad key, offset or value, and on a read-only view.
   *
   * @example
   * const flows = CuckooHash.create({ entries: 1024, keyLen: 4 });
   * const pos = flows.add(Uint8Array.of(10, 0, 0, 1), 7); // 0
   * if (pos === HASH_FULL) console.log("no room");
   */
  add(key: Uint8Array, value: number, off = 0): number {
    this.checkKey(key, off);
    return this.addWithHash(key, this.hash(key, off), value, off);
  }

  /**
   * {@link CuckooHash.add} with the key's hash given (`rte_hash_add_key_with_hash_data`).
   *
   * @example
   * const flows = CuckooHash.create({ entries: 1024, keyLen: 4 });
   * const key = Uint8Array.of(10, 0, 0, 1);
   * const pos = flows.addWithHash(key, flows.hash(key), 7);
   */
  addWithHash(key: Uint8Array, hash: number, value: number, off = 0): number {
    const w = this.writer("add");
    this.checkKey(key, off);
    if (!Number.isInteger(value) || value < 0 || value > 0xfffffffe) throw new RangeError(`Invalid hash value ${value}: an integer from 0 to 4294967294`);
    if (!Number.isInteger(hash) || hash < -0x80000000 || hash > 0xffffffff) throw new RangeError(`Invalid hash ${hash}: a 32-bit integer`);
    const bkt = this.bkt;
    const sig = hash >>> 16;
    const prim = hash & this.mask;
    const sec = (prim ^ sig) & this.mask;
    const found = this.findSlot(key, off, hash);
    if (found !== 0) {
      Atomics.store(this.kv, found * this.stride, value | 0);
      return found - 1;
    }
    const count = this.ctl[CTL_COUNT]!;
    if (count >= this.capacity) return HASH_FULL;
    // Plan first, so that a failure changes nothing: an empty entry of the primary bucket, a cuckoo path
    // from the primary then from the secondary bucket, then the secondary's overflow chain.
    let target = -1;
    let leaf = -1;
    let newExt = 0;
    let chainLast = 0;
    for (let j = 0; j < BUCKET_ENTRIES; j++) {
      if (bkt[(prim << 4) + 8 + j] === 0) {
        target = (prim << 4) + j;
        break;
      }
    }
    if (target < 0) {
      leaf = this.bfs(w, prim);
      if (leaf < 0) leaf = this.bfs(w, sec);
    }
    if (target < 0 && leaf < 0) {
      if (!this.extendable) return HASH_FULL;
      let x = sec;
      for (;;) {
        for (let j = 0; j < BUCKET_ENTRIES && target < 0; j++) if (bkt[(x << 4) + 8 + j] === 0) target = (x << 4) + j;
        const nx = this.nxt[x]!;
        if (target >= 0 || nx === 0) break;
        x = nx;
      }
      if (target < 0) {
        chainLast = x;
        if (w.nextExt >= this.numBuckets && w.eLen === 0) return HASH_FULL;
      }
    }
    // Commit: nothing below fails.
    if (target < 0 && leaf < 0) newExt = this.takeExt(w);
    const k = this.takeSlot(w);
    const p = (k * this.stride + 1) << 2;
    for (let j = 0; j < this.keyLen; j++) this.kb[p + j] = key[off + j]!;
    Atomics.store(this.kv, k * this.stride, value | 0);
    if (target >= 0) {
      bkt[target] = sig;
      Atomics.store(bkt, target + 8, k);
    } else if (leaf >= 0) {
      this.shiftPath(w, leaf, sig, k);
    } else {
      const base = newExt << 4;
      bkt[base] = sig;
      Atomics.store(bkt, base + 8, k);
      Atomics.store(this.nxt, newExt, 0);
      Atomics.store(this.nxt, chainLast, newExt);
    }
    Atomics.store(this.ctl, CTL_COUNT, count + 1);
    return k - 1;
  }

  /**
   * Breadth-first search for a cuckoo path from main bucket `start` to an empty entry; each bucket at most
   * once. Returns the leaf's queue node (its empty entry in w.leafSlot) or -1.
   */
  private bfs(w: WriterState, start: number): number {
    const bkt = this.bkt;
    const { qB, qParent, qSlot, visited } = w;
    if (++w.stamp === 0x7fffffff) {
      visited.fill(0);
      w.stamp = 1;
    }
    const stamp = w.stamp;
    qB[0] = start;
    qParent[0] = -1;
    visited[start] = stamp;
    let head = 1;
    for (let tail = 0; tail < head; tail++) {
      const b = qB[tail]!;
      const base = b << 4;
      for (let j = 0; j < BUCKET_ENTRIES; j++) {
        if (bkt[base + 8 + j] === 0) {
          w.leafSlot = j;
          return tail;
        }
      }
      for (let j = 0; j < BUCKET_ENTRIES && head < BFS_MAX; j++) {
        const alt = (b ^ bkt[base + j]!) & this.mask;
        if (visited[alt] === stamp) continue;
        visited[alt] = stamp;
        qB[head] = alt;
        qParent[head] = tail;
        qSlot[head] = j;
        head++;
      }
    }
    return -1;
  }

  /**
   * Moves the keys along the path found by {@link bfs}, last first: each is copied into the empty entry of
   * its other bucket, the change counter bumped, and its old entry becomes the next move's target; the
   * new key goes into the entry freed at the start bucket.
   */
  private shiftPath(w: WriterState, leaf: number, sig: number, k: number): void {
    const bkt = this.bkt;
    let cur = leaf;
    let cs = w.leafSlot;
    while (w.qParent[cur]! >= 0) {
      const par = w.qParent[cur]!;
      const ps = w.qSlot[cur]!;
      const from = (w.qB[par]! << 4) + ps;
      const to = (w.qB[cur]! << 4) + cs;
      bkt[to] = bkt[from]!;
      Atomics.store(bkt, to + 8, bkt[from + 8]!);
      Atomics.add(this.ctl, CTL_CHANGE, 1);
      cur = par;
      cs = ps;
    }
    const to = (w.qB[cur]! << 4) + cs;
    bkt[to] = sig;
    Atomics.store(bkt, to + 8, k);
  }

  /**
   * Removes the key at `key[off .. off + keyLen)` (`rte_hash_del_key`). True if it was there. Its key slot
   * is reused only safely (see the module comment). Throws on a read-only view.
   *
   * @example
   * const flows = CuckooHash.create({ entries: 1024, keyLen: 4 });
   * flows.add(Uint8Array.of(10, 0, 0, 1), 7);
   * console.log(flows.delete(Uint8Array.of(10, 0, 0, 1))); // true
   */
  delete(key: Uint8Array, off = 0): boolean {
    this.checkKey(key, off);
    return this.deleteWithHash(key, this.hash(key, off), off);
  }

  /**
   * {@link CuckooHash.delete} with the key's hash given.
   *
   * @example
   * const flows = CuckooHash.create({ entries: 1024, keyLen: 4 });
   * const key = Uint8Array.of(10, 0, 0, 1);
   * flows.deleteWithHash(key, flows.hash(key));
   */
  deleteWithHash(key: Uint8Array, hash: number, off = 0): boolean {
    const w = this.writer("delete");
    this.checkKey(key, off);
    const bkt = this.bkt;
    const sig = hash >>> 16;
    const prim = hash & this.mask;
    let head = prim; // the main bucket whose chain holds the entry
    let where = prim; // the bucket holding it
    let e = this.entryIn(key, off, sig, prim);
    if (e < 0) {
      head = (prim ^ sig) & this.mask;
      where = head;
      for (;;) {
        e = this.entryIn(key, off, sig, where);
        if (e >= 0 || !this.extendable || this.nxt[where] === 0) break;
        where = this.nxt[where]!;
      }
      if (e < 0) return false;
    }
    const k = bkt[e + 8]!;
    bkt[e] = 0;
    Atomics.store(bkt, e + 8, 0);
    Atomics.store(this.ctl, CTL_COUNT, this.ctl[CTL_COUNT]! - 1);
    if (this.extendable) this.compact(w, head, where, e);
    w.freed[(w.fHead + w.fLen) % this.capacity] = k;
    w.freedTok[(w.fHead + w.fLen) % this.capacity] = w.qsbr !== null ? w.qsbr.start() : 0;
    w.fLen++;
    return true;
  }

  /** The entry index of the key in bucket `b`, or -1 (writer side). */
  private entryIn(u8: Uint8Array, off: number, sig: number, b: number): number {
    const bkt = this.bkt;
    const base = b << 4;
    for (let j = 0; j < BUCKET_ENTRIES; j++) {
      const s = bkt[base + 8 + j]!;
      if (s !== 0 && bkt[base + j] === sig && this.keyEq(u8, off, s)) return base + j;
    }
    return -1;
  }

  /**
   * After a delete at entry `e` of bucket `where` in the chain of main bucket `head`: moves the chain's
   * last key into the hole (DPDK's `__rte_hash_compact_ll`), then unlinks the last overflow bucket if it
   * is empty and frees it.
   */
  private compact(w: WriterState, head: number, where: number, e: number): void {
    const bkt = this.bkt;
    const nxt = this.nxt;
    if (nxt[where] !== 0) {
      let last = where;
      while (nxt[last] !== 0) last = nxt[last]!;
      for (let j = BUCKET_ENTRIES - 1; j >= 0; j--) {
        const from = (last << 4) + j;
        if (bkt[from + 8] === 0) continue;
        bkt[e] = bkt[from]!;
        Atomics.store(bkt, e + 8, bkt[from + 8]!);
        Atomics.add(this.ctl, CTL_CHANGE, 1);
        bkt[from] = 0;
        Atomics.store(bkt, from + 8, 0);
        break;
      }
    }
    let prev = head;
    let last = nxt[head]!;
    if (last === 0) return;
    while (nxt[last] !== 0) {
      prev = last;
      last = nxt[last]!;
    }
    for (let j = 0; j < BUCKET_ENTRIES; j++) if (bkt[(last << 4) + 8 + j] !== 0) return;
    Atomics.store(nxt, prev, 0);
    const at = (w.eHead + w.eLen) % this.numBuckets;
    w.extFreed[at] = last;
    w.extTok[at] = w.qsbr !== null ? w.qsbr.start() : 0;
    w.eLen++;
  }

  /** A free key slot (never-used first, then the oldest freed); bumps the counter if reuse is unsafe. */
  private takeSlot(w: WriterState): number {
    if (w.nextFresh <= this.capacity) return w.nextFresh++;
    const k = w.freed[w.fHead]!;
    const tok = w.freedTok[w.fHead]!;
    w.fHead = w.fHead + 1 === this.capacity ? 0 : w.fHead + 1;
    w.fLen--;
    if (w.qsbr === null || !w.qsbr.check(tok)) Atomics.add(this.ctl, CTL_CHANGE, 1);
    return k;
  }

  /** A free overflow bucket, the same way; the caller checked that there is one. */
  private takeExt(w: WriterState): number {
    if (w.nextExt < this.numBuckets) return this.numBuckets + w.nextExt++;
    const x = w.extFreed[w.eHead]!;
    const tok = w.extTok[w.eHead]!;
    w.eHead = w.eHead + 1 === this.numBuckets ? 0 : w.eHead + 1;
    w.eLen--;
    if (w.qsbr === null || !w.qsbr.check(tok)) Atomics.add(this.ctl, CTL_CHANGE, 1);
    return x;
  }

  /**
   * Removes every key (`rte_hash_reset`). Readers looking up meanwhile may miss keys; slots are reused
   * safely afterwards as after deletes. Throws on a read-only view.
   *
   * @example
   * const flows = CuckooHash.create({ entries: 1024, keyLen: 4 });
   * flows.clear();
   */
  clear(): void {
    const w = this.writer("clear");
    this.bkt.fill(0);
    this.nxt.fill(0);
    Atomics.add(this.ctl, CTL_CHANGE, 1);
    Atomics.store(this.ctl, CTL_COUNT, 0);
    const tok = w.qsbr !== null ? w.qsbr.start() : 0;
    w.fHead = 0;
    w.fLen = w.nextFresh - 1;
    for (let i = 0; i < w.fLen; i++) {
      w.freed[i] = i + 1;
      w.freedTok[i] = tok;
    }
    w.eHead = 0;
    w.eLen = w.nextExt;
    for (let i = 0; i < w.eLen; i++) {
      w.extFreed[i] = this.numBuckets + i;
      w.extTok[i] = tok;
    }
  }

  private writer(op: string): WriterState {
    if (this.w === null) throw new RangeError(`Cannot ${op} on a read-only hash table view (fromShared): only the thread that created the table writes`);
    return this.w;
  }

  private checkKey(key: Uint8Array, off: number): void {
    if (!(Number.isInteger(off) && off >= 0 && off + this.keyLen <= key.length)) {
      throw new RangeError(`Invalid hash key at offset ${off} of ${key.length} bytes: the table's keys are ${this.keyLen} bytes`);
    }
  }

  private checkBulk(offs: Uint32Array, n: number, values: Uint32Array | Int32Array, hitMask: Uint32Array | undefined): void {
    if (!(n >= 0 && n <= offs.length && n <= values.length && (hitMask === undefined || n <= hitMask.length * 32))) {
      throw new RangeError(`Invalid bulk lookup of ${n} keys: offs has ${offs.length}, values ${values.length}${hitMask ? `, hitMask ${hitMask.length * 32} bits` : ""}`);
    }
  }
}

/**
 * Lock-free readers: a worker thread looks up bursts (lookupBulk, or lookupBulkWithHash with crafted
 * hashes that crowd the keys into a few buckets and long overflow chains) while this thread adds, updates
 * and deletes keys, which makes cuckoo moves, chain compactions and key-slot reuse happen under the
 * reader. Values encode their key (key index << 8 | version), so the reader checks every result: a hit
 * must carry a value of that key, and a miss is allowed only for keys that come and go; the stable keys
 * (always present, their values updated in place) must never miss.
 *
 * The library's reader has nanosecond windows, which a loaded machine rarely hits. So a second reader,
 * slowLookup, follows the same protocol over the shared layout with microsecond pauses inside each
 * lookup; against it, a writer that skips the change-counter bump of a cuckoo move, of a chain
 * compaction or of a key-slot reuse fails its scenario (each was tried by removing the bump).
 *
 * This file is also the worker's code: run as a worker with workerData.role "hash-reader", it reads.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Worker, isMainThread, workerData } from "node:worker_threads";
import { CuckooHash, HASH_FULL, HASH_MISS, type CuckooHashShared } from "./cuckoo.js";
import { Qsbr, type QsbrShared } from "../qsbr.js";

interface ReaderData {
  role: "hash-reader";
  table: CuckooHashShared;
  keys: SharedArrayBuffer; // key i at i * keyLen
  hashes: SharedArrayBuffer; // u32 per key: the hash the writer used (crafted) when useHashes
  useHashes: boolean;
  nKeys: number;
  nStable: number; // keys 0 .. nStable-1 are always present
  stableOnly: boolean; // look up only the stable keys
  slow: boolean; // look up with slowLookup instead of lookupBulk
  ctl: SharedArrayBuffer;
  qsbr: QsbrShared | null;
}

// ctl words
const STOP = 0;
const STARTED = 1;
const LOOKUPS = 2;
const STABLE_HITS = 3;
const CHURN_HITS = 4;
const CHURN_MISSES = 5;
const STABLE_MISSES = 6;
const WRONG = 7;

/** The table's shared layout, as readers see it (see cuckoo.ts: 16 words per bucket, key slots of a value word then the key). */
interface Views { ctl: Int32Array; bkt: Int32Array; links: Int32Array; kv: Int32Array; kb: Uint8Array; mask: number; stride: number; keyLen: number; ext: boolean }

function views(s: CuckooHashShared): Views {
  let buckets = 1;
  while (buckets * 8 < s.entries) buckets *= 2;
  return {
    ctl: new Int32Array(s.ctl), bkt: new Int32Array(s.buckets), links: new Int32Array(s.links), kv: new Int32Array(s.slots),
    kb: new Uint8Array(s.slots), mask: buckets - 1, stride: 1 + ((s.keyLen + 3) >> 2), keyLen: s.keyLen, ext: s.extendable,
  };
}

function pause(v: Views): void {
  for (let i = 0; i < 400; i++) Atomics.load(v.ctl, 1);
}

function scan(v: Views, u8: Uint8Array, off: number, sig: number, b: number): number {
  for (let j = 0; j < 8; j++) {
    if (v.bkt[b * 16 + j] !== sig) continue;
    const k = Atomics.load(v.bkt, b * 16 + 8 + j);
    if (k === 0) continue;
    let eq = true;
    for (let x = 0; x < v.keyLen && eq; x++) eq = v.kb[(k * v.stride + 1) * 4 + x] === u8[off + x];
    if (eq) return k;
  }
  return 0;
}

/**
 * The readers' protocol (change counter before, primary bucket, secondary bucket and its chain, value,
 * counter again) written out over the shared layout, with pauses of about a microsecond where the
 * library's reader spends nanoseconds: between the buckets and between the key compare and the value
 * read. It widens every race window, so a writer step that forgot its counter bump shows up as a wrong
 * value or a missed stable key.
 */
function slowLookup(v: Views, u8: Uint8Array, off: number, h: number): number {
  for (;;) {
    const c0 = Atomics.load(v.ctl, 0);
    const sig = h >>> 16;
    let b = h & v.mask;
    let k = scan(v, u8, off, sig, b);
    if (k === 0) {
      pause(v);
      b = (b ^ sig) & v.mask;
      k = scan(v, u8, off, sig, b);
      while (k === 0 && v.ext && (b = Atomics.load(v.links, b)) !== 0) {
        pause(v);
        k = scan(v, u8, off, sig, b);
      }
    }
    let val = HASH_MISS;
    if (k !== 0) {
      pause(v);
      val = v.kv[k * v.stride]! >>> 0;
    }
    if (Atomics.load(v.ctl, 0) === c0) return val;
  }
}

function readerMain(d: ReaderData): void {
  const t = CuckooHash.fromShared(d.table);
  const keys = new Uint8Array(d.keys);
  const hashes = new Uint32Array(d.hashes);
  const ctl = new Int32Array(d.ctl);
  const q = d.qsbr ? Qsbr.fromShared(d.qsbr) : null;
  const B = 32;
  const offs = new Uint32Array(B);
  const hs = new Uint32Array(B);
  const values = new Uint32Array(B);
  const mask = new Uint32Array(1);
  const idx = new Int32Array(B);
  const v = d.slow ? views(d.table) : null;
  let s = 0x9e3779b9 | 0;
  q?.online(0);
  Atomics.store(ctl, STARTED, 1);
  Atomics.notify(ctl, STARTED);
  while (Atomics.load(ctl, STOP) === 0) {
    for (let b = 0; b < B; b++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const i = (s >>> 0) % (d.stableOnly ? d.nStable : d.nKeys);
      idx[b] = i;
      offs[b] = i * t.keyLen;
      hs[b] = hashes[i]!;
    }
    let hits = 0;
    if (v !== null) {
      mask[0] = 0;
      for (let b = 0; b < B; b++) {
        values[b] = slowLookup(v, keys, offs[b]!, hs[b]!);
        if (values[b] !== HASH_MISS) {
          hits++;
          mask[0] = mask[0]! | (1 << b);
        }
      }
    } else hits = d.useHashes ? t.lookupBulkWithHash(keys, offs, hs, B, values, mask) : t.lookupBulk(keys, offs, B, values, mask);
    let n = 0;
    let stableHits = 0, churnHits = 0, churnMisses = 0, stableMisses = 0, wrong = 0;
    for (let b = 0; b < B; b++) {
      const i = idx[b]!;
      const val = values[b]!;
      const hit = (mask[0]! >>> b) & 1;
      if (hit !== (val !== HASH_MISS ? 1 : 0)) wrong++;
      if (val === HASH_MISS) {
        if (i < d.nStable) stableMisses++;
        else churnMisses++;
      } else {
        n++;
        if (val >>> 8 !== i) wrong++;
        if (i < d.nStable) stableHits++;
        else churnHits++;
      }
    }
    if (n !== hits) wrong++;
    Atomics.add(ctl, STABLE_HITS, stableHits);
    Atomics.add(ctl, CHURN_HITS, churnHits);
    Atomics.add(ctl, CHURN_MISSES, churnMisses);
    Atomics.add(ctl, STABLE_MISSES, stableMisses);
    Atomics.add(ctl, WRONG, wrong);
    Atomics.add(ctl, LOOKUPS, B);
    q?.quiescent(0);
  }
  q?.offline(0);
}

if (!isMainThread && (workerData as ReaderData | null)?.role === "hash-reader") readerMain(workerData as ReaderData);

/** A seeded xorshift32. */
function rng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

interface Scenario {
  entries: number;
  extendable: boolean;
  nStable: number;
  nChurn: number;
  crowd: number; // 0: the table's hashes; n: crafted hashes crowding the keys into buckets 0..n-1 (a power of 2)
  stableOnly: boolean; // the reader looks up only the stable keys (the ones cuckoo moves shift around)
  slow: boolean; // the reader uses slowLookup (the protocol with widened race windows)
  qsbr: boolean;
  minLookups: number; // the reader's lookups the writer waits for
  maxOps: number; // the writer's operations at most
  pace: number; // if not 0: the writer waits while it is more than this many operations per reader lookup ahead
}

async function run(sc: Scenario): Promise<void> {
  const keyLen = 13;
  const nKeys = sc.nStable + sc.nChurn;
  const r = rng(sc.entries + nKeys);
  const q = sc.qsbr ? Qsbr.create(1) : null;
  const t = CuckooHash.create({ entries: sc.entries, keyLen, extendable: sc.extendable, ...(q ? { qsbr: q } : {}) });
  const keys = new Uint8Array(new SharedArrayBuffer(nKeys * keyLen));
  const hashes = new Uint32Array(new SharedArrayBuffer(nKeys * 4));
  for (let i = 0; i < nKeys; i++) {
    // distinct keys: the index in the first 3 bytes, random bytes after
    keys[i * keyLen] = i & 0xff;
    keys[i * keyLen + 1] = (i >> 8) & 0xff;
    keys[i * keyLen + 2] = (i >> 16) & 0xff;
    for (let j = 3; j < keyLen; j++) keys[i * keyLen + j] = r() & 0xff;
    // crafted: primary bucket and signature below `crowd` (so the secondary bucket is too)
    hashes[i] = sc.crowd > 0 ? (((r() & (sc.crowd - 1)) << 16) | (r() & (sc.crowd - 1))) >>> 0 : t.hash(keys, i * keyLen);
  }
  const ver = new Uint8Array(nKeys);
  const present = new Uint8Array(nKeys);
  const value = (i: number) => ((i << 8) | ver[i]!) >>> 0;
  const add = (i: number) => t.addWithHash(keys, hashes[i]!, value(i), i * keyLen);
  for (let i = 0; i < sc.nStable; i++) {
    assert.notEqual(add(i), HASH_FULL);
    present[i] = 1;
  }
  const ctl = new Int32Array(new SharedArrayBuffer(64));
  const data: ReaderData = {
    role: "hash-reader", table: t.shared(), keys: keys.buffer as SharedArrayBuffer, hashes: hashes.buffer as SharedArrayBuffer,
    useHashes: sc.crowd > 0, nKeys, nStable: sc.nStable, stableOnly: sc.stableOnly, slow: sc.slow, ctl: ctl.buffer as SharedArrayBuffer, qsbr: q ? q.shared() : null,
  };
  const worker = new Worker(new URL(import.meta.url), { workerData: data });
  const exited = new Promise<number>((res, rej) => {
    worker.once("exit", res);
    worker.once("error", rej);
  });
  let ops = 0;
  let fulls = 0;
  const c0 = t.changeCount;
  try {
    assert.notEqual(Atomics.wait(ctl, STARTED, 0, 20_000), "timed-out", "the reader started");
    // Write until both sides have done enough while overlapping (the reader's count is read live).
    // Past maxOps the writer goes on only while the reader is short of its lookups, for at most 60 s: a
    // reader thread starved on a busy shared host gets time instead of failing on an op budget.
    const deadline = Date.now() + 60_000;
    while ((ops < Math.min(150_000, sc.maxOps) || Atomics.load(ctl, LOOKUPS) < sc.minLookups) && (ops < sc.maxOps || ((ops & 1023) !== 0 || Date.now() < deadline))) {
      const op = r() % 100;
      if (op < 10) {
        const i = r() % sc.nStable;
        ver[i] = (ver[i]! + 1) & 0xff;
        assert.equal(add(i) >= 0, true); // an update in place
      } else {
        const i = sc.nStable + (r() % sc.nChurn);
        if (op < 65) {
          if (add(i) === HASH_FULL) fulls++;
          else present[i] = 1;
        } else {
          assert.equal(t.deleteWithHash(keys, hashes[i]!, i * keyLen), present[i] === 1);
          present[i] = 0;
        }
      }
      ops++;
      if (sc.pace !== 0 && ops > sc.pace * (Atomics.load(ctl, LOOKUPS) + 32)) {
        const end = Date.now() + 60_000;
        while (ops > sc.pace * (Atomics.load(ctl, LOOKUPS) + 32)) if (Date.now() > end) throw new Error(`the reader stalled at ${Atomics.load(ctl, LOOKUPS)} lookups`);
      }
    }
  } finally {
    Atomics.store(ctl, STOP, 1);
    await exited;
  }
  const lookups = Atomics.load(ctl, LOOKUPS);
  assert.ok(lookups >= sc.minLookups, `the reader looked up ${lookups} keys while the writer ran`);
  assert.equal(Atomics.load(ctl, WRONG), 0, "every hit carried a value of its key, hit masks and counts agreed");
  assert.equal(Atomics.load(ctl, STABLE_MISSES), 0, "keys present throughout were never missed");
  assert.ok(Atomics.load(ctl, STABLE_HITS) > 0, "stable keys were found");
  if (!sc.stableOnly) assert.ok(Atomics.load(ctl, CHURN_HITS) > 0 && Atomics.load(ctl, CHURN_MISSES) > 0, "churning keys were both found and missed");
  assert.ok(t.changeCount !== c0, "cuckoo moves, compactions or slot reuse happened under the reader");
  // and the table ends exactly as the writer's record says
  let want = 0;
  for (let i = 0; i < nKeys; i++) {
    if (present[i]) want++;
    assert.equal(t.lookupWithHash(keys, hashes[i]!, i * keyLen), present[i] ? value(i) : HASH_MISS);
  }
  assert.equal(t.size, want);
  if (!sc.extendable) assert.ok(fulls > 0, "the table ran full");
}

if (isMainThread) describe("lookup/hash: cuckoo hash with a reader thread", () => {
  it("bulk lookups with real hashes while a near-full table moves keys (no QSBR: slot reuse bumps the counter)", async () => {
    await run({ entries: 4096, extendable: false, nStable: 2000, nChurn: 4000, crowd: 0, stableOnly: false, slow: false, qsbr: false, minLookups: 300_000, maxOps: 50_000_000, pace: 0 });
  });

  it("crowded buckets with overflow chains and compaction, slots reused through a QSBR", async () => {
    await run({ entries: 1024, extendable: true, nStable: 100, nChurn: 300, crowd: 16, stableOnly: false, slow: false, qsbr: true, minLookups: 300_000, maxOps: 50_000_000, pace: 0 });
  });

  it("hot keys: four crowded buckets near full, the reader looking up only the keys being shifted", async () => {
    await run({ entries: 64, extendable: false, nStable: 16, nChurn: 24, crowd: 4, stableOnly: true, slow: false, qsbr: false, minLookups: 300_000, maxOps: 50_000_000, pace: 0 });
  });

  // The writer's side of the protocol against a reader with microsecond pauses inside each lookup. First
  // a small full table, where freed key slots are reused at once (the reuse bump); then keys crowded into
  // a few buckets of a big table whose never-used slots last the whole run, so the counter moves only for
  // cuckoo moves and chain compactions: without those bumps the reader misses stable keys.
  it("slow reader: key slots reused under it (a full 4-bucket table)", async () => {
    await run({ entries: 32, extendable: false, nStable: 16, nChurn: 24, crowd: 4, stableOnly: false, slow: true, qsbr: false, minLookups: 20_000, maxOps: 5_000_000, pace: 0 });
  });

  it("slow reader: cuckoo moves under it (keys crowded into 4 buckets of a big table)", async () => {
    await run({ entries: 1 << 19, extendable: false, nStable: 16, nChurn: 24, crowd: 4, stableOnly: false, slow: true, qsbr: false, minLookups: 20_000, maxOps: 400_000, pace: 10 });
  });

  it("slow reader: overflow chains compacted under it (keys crowded into 2 buckets of a big table)", async () => {
    await run({ entries: 1 << 19, extendable: true, nStable: 16, nChurn: 48, crowd: 2, stableOnly: false, slow: true, qsbr: false, minLookups: 20_000, maxOps: 400_000, pace: 10 });
  });
});

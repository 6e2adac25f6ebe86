/**
 * The cuckoo hash against a Map oracle: random keys of several sizes, millions of mixed operations (add,
 * update, delete, lookup, bulk lookup with and without hashes, at unaligned offsets), tables driven to
 * their load limit, and iteration compared with the oracle's content. Crafted hashes (addWithHash) build
 * exact layouts: two buckets whose keys have nowhere else to go, overflow chains, compaction on delete.
 * A full table's failed add leaves every shared byte unchanged.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CuckooHash, HASH_FULL, HASH_MISS, type CuckooHashOptions } from "./cuckoo.js";
import { crc32c } from "./crc32c.js";
import { jhash } from "./jhash.js";
import { Qsbr } from "../qsbr.js";

/** A seeded xorshift32, so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

const str = (u8: Uint8Array, off: number, len: number) => Buffer.from(u8.buffer, u8.byteOffset + off, len).toString("latin1");

/** `n` distinct random keys of `len` bytes, packed in one array (key i at i * len). */
function randomKeys(r: () => number, n: number, len: number): Uint8Array {
  const out = new Uint8Array(n * len);
  const seen = new Set<string>();
  for (let i = 0; i < n; ) {
    for (let j = 0; j < len; j++) out[i * len + j] = r() & 0xff;
    const s = str(out, i * len, len);
    if (seen.has(s)) continue;
    seen.add(s);
    i++;
  }
  return out;
}

/** Every shared byte of the table (buckets, links, key slots, control words), to prove nothing changed. */
function snapshot(t: CuckooHash): Buffer {
  const s = t.shared();
  return Buffer.concat([s.ctl, s.buckets, s.links, s.slots].map((b) => Buffer.from(new Uint8Array(b))));
}

/** The table's content as a Map, via entries(); fails on a key seen twice. */
function content(t: CuckooHash): Map<string, number> {
  const m = new Map<string, number>();
  for (const [k, v] of t.entries()) {
    const s = str(k, 0, k.length);
    assert.equal(m.has(s), false, "a key appears twice in entries()");
    m.set(s, v);
  }
  return m;
}

describe("lookup/hash: cuckoo hash basics", () => {
  it("adds, updates, looks up and deletes; positions are stable slot indices", () => {
    const t = CuckooHash.create({ entries: 16, keyLen: 4 });
    assert.equal(t.capacity, 16);
    assert.equal(t.numBuckets, 2);
    const k = (n: number) => new Uint8Array([n, n + 1, n + 2, n + 3]);
    assert.equal(t.add(k(1), 100), 0);
    assert.equal(t.add(k(2), 0xfffffffe), 1);
    assert.equal(t.add(k(1), 101), 0, "an update keeps the position");
    assert.equal(t.size, 2);
    assert.equal(t.lookup(k(1)), 101);
    assert.equal(t.lookup(k(2)), 0xfffffffe);
    assert.equal(t.lookup(k(3)), HASH_MISS);
    const buf = new Uint8Array([9, 9, 9, 2, 3, 4, 5]);
    assert.equal(t.lookup(buf, 3), 0xfffffffe, "a key read at an offset");
    assert.equal(t.lookupWithHash(buf, t.hash(buf, 3), 3), 0xfffffffe);
    assert.equal(t.delete(k(1)), true);
    assert.equal(t.delete(k(1)), false);
    assert.equal(t.size, 1);
    assert.equal(t.lookup(k(1)), HASH_MISS);
    assert.deepEqual([...t.entries()], [[k(2), 0xfffffffe]]);
    t.clear();
    assert.equal(t.size, 0);
    assert.equal(t.lookup(k(2)), HASH_MISS);
    assert.equal(t.add(k(2), 5), 2, "never-used slots first, then freed ones");
  });

  it("uses the hash function and initial value it was created with", () => {
    const key = Uint8Array.from({ length: 13 }, (_, i) => i * 7);
    assert.equal(CuckooHash.create({ entries: 8, keyLen: 13 }).hash(key), crc32c(key, 0, 13, 0));
    assert.equal(CuckooHash.create({ entries: 8, keyLen: 13, hash: "jhash", hashInit: 0xdeadbeef }).hash(key), jhash(key, 0, 13, 0xdeadbeef));
  });

  it("refuses bad parameters, keys, values and writes on a read-only view, naming them", () => {
    assert.throws(() => CuckooHash.create({ entries: 7, keyLen: 4 }), /Invalid hash table entries 7: an integer from 8 to 67108864/);
    assert.throws(() => CuckooHash.create({ entries: 8, keyLen: 65 }), /Invalid hash key length 65: 4 to 64 bytes/);
    assert.throws(() => CuckooHash.create({ entries: 8, keyLen: 3 }), /Invalid hash key length 3/);
    assert.throws(() => CuckooHash.create({ entries: 8, keyLen: 4, hash: "md5" } as unknown as CuckooHashOptions), /Invalid hash function 'md5'/);
    const t = CuckooHash.create({ entries: 8, keyLen: 4 });
    assert.throws(() => t.add(new Uint8Array(4), -1), /Invalid hash value -1: an integer from 0 to 4294967294/);
    assert.throws(() => t.add(new Uint8Array(4), 0xffffffff), /Invalid hash value 4294967295/);
    assert.throws(() => t.add(new Uint8Array(5), 1, 2), /Invalid hash key at offset 2 of 5 bytes: the table's keys are 4 bytes/);
    assert.throws(() => t.lookup(new Uint8Array(3)), /Invalid hash key at offset 0 of 3 bytes/);
    assert.throws(() => t.lookupBulk(new Uint8Array(8), new Uint32Array(2), 3, new Uint32Array(3)), /Invalid bulk lookup of 3 keys: offs has 2, values 3/);
    assert.equal(t.size, 0, "nothing was added by the refused calls");
    t.add(new Uint8Array(4), 1);
    const r = CuckooHash.fromShared(structuredClone(t.shared()));
    assert.equal(r.lookup(new Uint8Array(4)), 1);
    assert.equal(r.size, 1);
    assert.throws(() => r.add(new Uint8Array(4), 2), /Cannot add on a read-only hash table view/);
    assert.throws(() => r.delete(new Uint8Array(4)), /Cannot delete on a read-only hash table view/);
    assert.throws(() => r.clear(), /Cannot clear on a read-only hash table view/);
  });

  it("bulk lookups fill values, a hit mask and the hit count, into Uint32Array or Int32Array", () => {
    const t = CuckooHash.create({ entries: 256, keyLen: 13 });
    const r = rng(9);
    const keys = randomKeys(r, 100, 13);
    for (let i = 0; i < 100; i += 2) t.add(keys, 1000 + i, i * 13); // even keys present
    const n = 100;
    const offs = Uint32Array.from({ length: n }, (_, i) => i * 13);
    const values = new Uint32Array(n);
    const signed = new Int32Array(n);
    const mask = new Uint32Array(4).fill(0xffffffff);
    assert.equal(t.lookupBulk(keys, offs, n, values, mask), 50);
    assert.equal(t.lookupBulk(keys, offs, n, signed), 50);
    for (let i = 0; i < n; i++) {
      assert.equal(values[i], i % 2 === 0 ? 1000 + i : HASH_MISS);
      assert.equal(signed[i], i % 2 === 0 ? 1000 + i : -1);
      assert.equal((mask[i >> 5]! >>> (i & 31)) & 1, i % 2 === 0 ? 1 : 0, `hit mask bit ${i}`);
    }
    assert.equal(mask[3], 0xfffffff5, "bits past n are left as they were");
  });
});

describe("lookup/hash: cuckoo hash with crafted hashes", () => {
  // entries 64: 8 buckets (mask 7). Hash = sig << 16 | prim: prim 2, sig 1 -> secondary 3, and every key
  // in buckets 2 and 3 has the other as its alternative, so no cuckoo path leads out of the pair.
  const H = (1 << 16) | 2;
  const key = (i: number) => new Uint8Array([i, i >> 8, 0xaa, 0x55]);

  it("fills both candidate buckets, then reports full and changes nothing (not extendable)", () => {
    const t = CuckooHash.create({ entries: 64, keyLen: 4 });
    for (let i = 0; i < 16; i++) {
      assert.equal(t.addWithHash(key(i), H, i), i, `key ${i}`);
      // keys 8..15 find bucket 2 full: one key moves to bucket 3 (one counter bump) to make room
      assert.equal(t.changeCount, i < 8 ? 0 : i - 7, `change counter after key ${i}`);
    }
    const before = snapshot(t);
    assert.equal(t.addWithHash(key(16), H, 16), HASH_FULL);
    assert.equal(Buffer.compare(snapshot(t), before), 0, "a failed add changed no shared byte");
    assert.equal(t.size, 16);
    for (let i = 0; i < 16; i++) assert.equal(t.lookupWithHash(key(i), H), i);
    assert.equal(t.lookupWithHash(key(16), H), HASH_MISS);
    assert.equal(t.addWithHash(key(3), H, 333), 3, "an update of a present key still works when full");
    assert.equal(t.deleteWithHash(key(5), H), true);
    assert.equal(t.addWithHash(key(16), H, 16), 16, "room again (never-used key slots are taken first)");
    assert.equal(t.lookupWithHash(key(16), H), 16);
  });

  it("chains overflow buckets from the secondary bucket, compacts on delete and unlinks the empty tail", () => {
    const t = CuckooHash.create({ entries: 64, keyLen: 4, extendable: true });
    for (let i = 0; i < 40; i++) assert.equal(t.addWithHash(key(i), H, i), i); // 16 in buckets 2/3, 24 in 3 overflow buckets
    const links = new Int32Array(t.shared().links);
    assert.deepEqual([links[3], links[8], links[9], links[10]], [8, 9, 10, 0], "bucket 3 -> overflow 8 -> 9 -> 10");
    assert.equal(links[2], 0);
    for (let i = 0; i < 40; i++) assert.equal(t.lookupWithHash(key(i), H), i);
    const c0 = t.changeCount;
    assert.equal(t.deleteWithHash(key(20), H), true); // in overflow bucket 8: the chain's last key fills the hole
    assert.equal(t.changeCount, c0 + 1, "one compaction move");
    const bkt = new Int32Array(t.shared().buckets);
    const slotsOf = (b: number) => Array.from(bkt.subarray(b * 16 + 8, b * 16 + 16));
    assert.equal(slotsOf(10).filter((s) => s !== 0).length, 7);
    assert.equal(slotsOf(9).filter((s) => s !== 0).length, 8);
    for (let i = 33; i < 40; i++) assert.equal(t.deleteWithHash(key(i), H), true);
    assert.deepEqual([links[3], links[8], links[9]], [8, 9, 0], "the emptied tail bucket 10 was unlinked");
    assert.equal(t.size, 32);
    const want = new Map<string, number>();
    for (let i = 0; i < 33; i++) if (i !== 20) want.set(str(key(i), 0, 4), i);
    assert.deepEqual(content(t), want);
    for (let i = 0; i < 40; i++) assert.equal(t.lookupWithHash(key(i), H), want.has(str(key(i), 0, 4)) ? i : HASH_MISS);
    // the chain grows again: never-used overflow buckets are taken before the freed one
    for (let i = 40; i < 49; i++) t.addWithHash(key(i), H, i);
    assert.equal(links[9], 11);
    assert.equal(t.size, 41);
    // a delete from main bucket 3 (the chain's head) pulls the chain's last key into the main bucket
    assert.deepEqual([links[9], links[11], links[12]], [11, 12, 0], "keys 40..47 filled overflow bucket 11, key 48 is alone in 12");
    const victim = slotsOf(3)[4]! - 1; // slot k holds the key added k-th: key(k - 1)
    const c1 = t.changeCount;
    assert.equal(t.deleteWithHash(key(victim), H), true);
    assert.equal(t.changeCount, c1 + 1);
    assert.equal(slotsOf(3).filter((x) => x !== 0).length, 8, "the main bucket stays full");
    assert.equal(slotsOf(3).includes(49), true, "with key 48 (slot 49), moved in from the chain's tail");
    assert.equal(links[11], 0, "and the emptied tail bucket 12 unlinked");
    want.clear();
    for (let i = 0; i < 49; i++) if (i !== 20 && !(i >= 33 && i < 40) && i !== victim) want.set(str(key(i), 0, 4), i);
    assert.deepEqual(content(t), want);
    for (let i = 0; i < 49; i++) assert.equal(t.lookupWithHash(key(i), H), want.get(str(key(i), 0, 4)) ?? HASH_MISS);
  });

  it("an extendable table takes keys up to its capacity exactly, then reports full without a change", () => {
    const t = CuckooHash.create({ entries: 64, keyLen: 4, extendable: true });
    for (let i = 0; i < 64; i++) assert.ok(t.addWithHash(key(i), H, i) >= 0);
    const before = snapshot(t);
    assert.equal(t.addWithHash(key(64), H, 64), HASH_FULL);
    assert.equal(t.add(key(65), 65), HASH_FULL, "any new key: no free key slot");
    assert.equal(Buffer.compare(snapshot(t), before), 0);
  });

  it("a freed key slot is reused only after the never-used ones, with a change-counter bump (no QSBR)", () => {
    const t = CuckooHash.create({ entries: 8, keyLen: 4 });
    for (let i = 0; i < 7; i++) t.add(key(i), i);
    t.delete(key(0));
    let c = t.changeCount;
    assert.equal(t.add(key(50), 50), 7, "the never-used slot");
    assert.equal(t.changeCount, c);
    assert.equal(t.add(key(51), 51), 0, "then key 0's old slot");
    assert.equal(t.changeCount, c + 1);
    t.delete(key(1));
    t.delete(key(2));
    c = t.changeCount;
    assert.equal(t.add(key(52), 52), 1, "oldest freed first");
    assert.equal(t.add(key(53), 53), 2);
    assert.equal(t.changeCount, c + 2);
  });

  it("with a QSBR, a freed slot is reused without a reader retry once readers have passed; before, with one", () => {
    const q = Qsbr.create(1);
    const t = CuckooHash.create({ entries: 8, keyLen: 4, qsbr: q });
    for (let i = 0; i < 8; i++) t.add(key(i), i);
    q.online(0);
    t.delete(key(0));
    let c = t.changeCount;
    t.add(key(100), 100); // reader 0 has not reported since the delete
    assert.equal(t.changeCount, c + 1);
    t.delete(key(1));
    q.quiescent(0);
    c = t.changeCount;
    t.add(key(101), 101);
    assert.equal(t.changeCount, c, "grace period over: no bump");
    assert.equal(t.lookup(key(100)), 100);
    assert.equal(t.lookup(key(101)), 101);
  });
});

describe("lookup/hash: cuckoo hash against a Map oracle", () => {
  const configs: (CuckooHashOptions & { seed: number })[] = [
    { entries: 4096, keyLen: 4, seed: 1 },
    { entries: 4096, keyLen: 13, extendable: true, seed: 2 },
    { entries: 3000, keyLen: 16, hash: "jhash", hashInit: 0x1234, seed: 3 },
    { entries: 4096, keyLen: 37, hash: "jhash", extendable: true, seed: 4 },
    { entries: 2048, keyLen: 64, seed: 5 },
  ];
  for (const cfg of configs) {
    it(`${cfg.keyLen}-byte keys, ${cfg.entries} entries, ${cfg.hash ?? "crc32c"}${cfg.extendable ? ", extendable" : ""}: 400 k operations`, () => {
      const r = rng(cfg.seed);
      const t = CuckooHash.create(cfg);
      const len = cfg.keyLen;
      const U = Math.floor(cfg.entries * 1.3); // more keys than room: the table runs full
      const keys = randomKeys(r, U, len);
      const oracle = new Map<string, number>();
      const names = Array.from({ length: U }, (_, i) => str(keys, i * len, len));
      // bulk lookups read keys from a scratch array at unaligned offsets, as from frames
      const scratch = new Uint8Array(64 * (len + 3));
      const offs = new Uint32Array(64);
      const hashes = new Uint32Array(64);
      const values = new Uint32Array(64);
      const mask = new Uint32Array(2);
      let fulls = 0;
      let ops = 0;
      let phaseAdd = true;
      for (let step = 0; step < 200_000; step++) {
        // phases that fill towards the limit and drain again
        if (step % 20_000 === 0) phaseAdd = !phaseAdd || step === 0;
        const op = r() % 100;
        const i = r() % U;
        const name = names[i]!;
        if (op < (phaseAdd ? 60 : 25)) {
          const v = r() % 0xffffffff;
          const pos = t.add(keys, v, i * len);
          ops++;
          if (pos === HASH_FULL) {
            fulls++;
            assert.equal(oracle.has(name), false, "a present key is updated, never refused");
            if (oracle.size === cfg.entries) assert.equal(t.size, cfg.entries);
            else assert.equal(cfg.extendable ?? false, false, "an extendable table with free slots never refuses");
            assert.equal(t.lookup(keys, i * len), HASH_MISS, "the refused key is not half there");
          } else {
            assert.ok(pos >= 0 && pos < cfg.entries);
            oracle.set(name, v);
          }
        } else if (op < 75) {
          assert.equal(t.delete(keys, i * len), oracle.delete(name));
          ops++;
        } else if (op < 90) {
          assert.equal(t.lookup(keys, i * len), oracle.get(name) ?? HASH_MISS);
          ops++;
        } else {
          const n = 1 + (r() % 64);
          for (let b = 0; b < n; b++) {
            const kIdx = r() % U;
            offs[b] = b * (len + 3) + (r() % 4);
            scratch.set(keys.subarray(kIdx * len, kIdx * len + len), offs[b]);
          }
          let hits: number;
          if (op < 95) hits = t.lookupBulk(scratch, offs, n, values, mask);
          else {
            t.hashBulk(scratch, offs, n, hashes);
            hits = t.lookupBulkWithHash(scratch, offs, hashes, n, values, mask);
          }
          let want = 0;
          for (let b = 0; b < n; b++) {
            const v = oracle.get(str(scratch, offs[b]!, len));
            if (v !== undefined) want++;
            assert.equal(values[b], v ?? HASH_MISS);
            assert.equal((mask[b >> 5]! >>> (b & 31)) & 1, v !== undefined ? 1 : 0);
          }
          assert.equal(hits, want);
          ops += n;
        }
        assert.equal(t.size, oracle.size);
        if (step % 25_000 === 24_999) assert.deepEqual(content(t), oracle, "entries() is exactly the oracle");
      }
      assert.deepEqual(content(t), oracle);
      assert.ok(ops >= 400_000, `${ops} operations`);
      if (!cfg.extendable) assert.ok(fulls > 0, "the table was driven to its load limit");
    });
  }

  it("a table filled with random keys to its load limit: every failed add changes nothing", () => {
    const r = rng(77);
    const t = CuckooHash.create({ entries: 4096, keyLen: 13 });
    const keys = randomKeys(r, 8192, 13);
    let n = 0;
    let firstFull = -1;
    const oracle = new Map<string, number>();
    for (let i = 0; i < 8192; i++) {
      const before = snapshot(t);
      const pos = t.add(keys, i, i * 13);
      if (pos === HASH_FULL) {
        if (firstFull < 0) firstFull = n;
        assert.equal(Buffer.compare(snapshot(t), before), 0, `failed add ${i} changed shared bytes`);
      } else {
        n++;
        oracle.set(str(keys, i * 13, 13), i);
      }
      if (n === 4096) break;
    }
    assert.ok(firstFull > 0.9 * 4096, `first refusal at ${firstFull} keys (load ${(firstFull / 4096).toFixed(3)})`);
    assert.equal(t.size, n);
    assert.deepEqual(content(t), oracle);
  });
});

/**
 * The hash library's hot calls allocate nothing: bulk lookups (with and without precomputed hashes, into
 * Uint32Array and Int32Array, with a hit mask), hashBulk and the hash functions run a million keys each
 * with no garbage collection and no heap growth (src/testing/gc-probe.ts counts GCs after a forced full
 * collection; one 16-byte object per key would mean 16 MB and scavenges). The first test shows the probe
 * fails on a loop that allocates: here, boxing u32 results above 2^31 into a plain array.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { gc, gcsDuring } from "../../testing/gc-probe.js";
import { CuckooHash } from "./cuckoo.js";
import { jhash, jhash32b } from "./jhash.js";
import { crc32c } from "./crc32c.js";
import { toeplitz, softrss, ToeplitzHash } from "./toeplitz.js";

const N = 1_000_000;

async function probe(fn: () => void): Promise<{ gcs: number; growth: number }> {
  fn();
  fn();
  let growth = 0;
  const gcs = await gcsDuring(() => {
    const h0 = process.memoryUsage().heapUsed;
    fn();
    growth = process.memoryUsage().heapUsed - h0;
  });
  gc();
  return { gcs, growth };
}

async function assertNoAlloc(what: string, fn: () => void): Promise<void> {
  const r = await probe(fn);
  assert.equal(r.gcs, 0, `${what}: ${r.gcs} garbage collections (it allocates)`);
  assert.ok(r.growth < 1024 * 1024, `${what}: the heap grew by ${r.growth} bytes`);
}

describe("lookup/hash allocates nothing on the hot path", () => {
  // 64 k random 13-byte keys (5-tuples) in a table; lookups from a scratch array at unaligned offsets
  const K = 1 << 16;
  const keys = new Uint8Array(K * 13);
  let s = 12345;
  for (let i = 0; i < keys.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    keys[i] = s >>> 24;
  }
  const table = CuckooHash.create({ entries: 2 * K, keyLen: 13 });
  const ext = CuckooHash.create({ entries: K, keyLen: 13, extendable: true, hash: "jhash" });
  for (let i = 0; i < K; i++) {
    table.add(keys, i, i * 13);
    if (i < K - 64) ext.add(keys, i, i * 13);
  }
  const offs = new Uint32Array(32);
  const values = new Uint32Array(32);
  const signed = new Int32Array(32);
  const hashes = new Uint32Array(32);
  const mask = new Uint32Array(1);
  const fill = (i: number) => {
    for (let b = 0; b < 32; b++) offs[b] = (((i * 32 + b) * 2654435761) >>> 0) % K * 13; // hits and (in `ext`) a few misses
  };

  it("the probe catches an allocating loop (it can fail)", async () => {
    const keep: number[] = [];
    const r = await probe(() => {
      for (let i = 0; i < N; i++) {
        keep.push((0x80000000 + i) / 1); // a double per element once the array holds non-Smis
        if (keep.length > 1000) keep.length = 0;
      }
    });
    assert.ok(r.gcs > 0, `boxing a double per iteration caused ${r.gcs} GCs`);
  });

  it("lookupBulk, a million keys in bursts of 32, both tables, Uint32Array and Int32Array results", async () => {
    let hits = 0;
    await assertNoAlloc("lookupBulk", () => {
      for (let i = 0; i < N / 32; i++) {
        fill(i);
        hits += table.lookupBulk(keys, offs, 32, values, mask);
      }
    });
    assert.equal(hits, 3 * N, "every key found (three runs)");
    await assertNoAlloc("lookupBulk into Int32Array, extendable jhash table", () => {
      for (let i = 0; i < N / 32; i++) {
        fill(i);
        ext.lookupBulk(keys, offs, 32, signed);
      }
    });
  });

  it("hashBulk and lookupBulkWithHash, a million keys", async () => {
    await assertNoAlloc("hashBulk + lookupBulkWithHash", () => {
      for (let i = 0; i < N / 32; i++) {
        fill(i);
        table.hashBulk(keys, offs, 32, hashes);
        table.lookupBulkWithHash(keys, offs, hashes, 32, values, mask);
      }
    });
  });

  it("jhash, crc32c, toeplitz, softrss and ToeplitzHash, a million 13-byte keys each", async () => {
    const rss = ToeplitzHash.create(undefined, 36);
    const words = new Uint32Array(keys.buffer, 0, 3 * 1024);
    const sink = new Uint32Array(1);
    const fns: [string, (o: number) => number][] = [
      ["jhash", (o) => jhash(keys, o, 13, 0)],
      ["jhash32b", (o) => jhash32b(words, o & 1023, 3, 7)],
      ["crc32c", (o) => crc32c(keys, o, 13, 0xdeadbeef)],
      ["toeplitz", (o) => toeplitz(keys, o, 12)],
      ["softrss", (o) => softrss(words, o & 1023, 3)],
      ["ToeplitzHash", (o) => rss.hash(keys, o, 13)],
    ];
    for (const [name, f] of fns) {
      await assertNoAlloc(name, () => {
        let x = 0;
        for (let i = 0; i < N; i++) x ^= f((i & (K - 1)) * 13);
        sink[0] = x;
      });
    }
  });
});

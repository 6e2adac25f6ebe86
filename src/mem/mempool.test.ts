import { test } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "./umem.js";
import { Mempool } from "./mempool.js";
import { Pktmbuf } from "./pktmbuf.js";
import { countStates } from "./tracker.js";

test("umem: frames, headroom, validation", () => {
  const u = Umem.create({ frames: 64 });
  try {
    assert.equal(u.length, 64 * 2048);
    assert.equal(u.shift, 11);
    assert.equal(u.headroom, 256);
    assert.ok(u.address() % 4096 === 0, "page aligned");
  } finally {
    u.close();
  }
  assert.throws(() => Umem.create({ frames: 8, frameSize: 3000 }), /Invalid frame size 3000/);
  assert.throws(() => Umem.create({ frames: 0 }), /Invalid frame count 0/);
});

test("mempool: bulk alloc/free through the cache keeps every buffer exactly once", () => {
  const u = Umem.create({ frames: 1024 });
  try {
    const mp = Mempool.create({ umem: u, cacheSize: 32 });
    const b = new Uint32Array(2048);
    assert.equal(mp.allocBulk(b, 2000), 1024, "no more than the pool has");
    assert.equal(new Set(b.subarray(0, 1024)).size, 1024);
    assert.equal(mp.allocBulk(b, 1, 1024), 0);
    mp.freeBulk(b, 1024);
    assert.equal(mp.available(), 1024);
    for (let i = 0; i < 100; i++) {
      const n = mp.allocBulk(b, 1 + (i % 64));
      assert.equal(n, 1 + (i % 64));
      mp.freeBulk(b, n);
    }
    mp.flushCache();
    assert.equal(mp.ring.count(), 1024);
    const h = mp.alloc();
    assert.equal(mp.mbufs.dataOff[h], 256, "data offset reset to the headroom");
    mp.free(h);
  } finally {
    u.close();
  }
});

test("mempool debug mode reports double frees and keeps them out of the pool", () => {
  const u = Umem.create({ frames: 64 });
  try {
    const mp = Mempool.create({ umem: u, cacheSize: 8, debug: true });
    const b = new Uint32Array(4);
    assert.equal(mp.allocBulk(b, 4), 4);
    mp.freeBulk(b, 4);
    mp.freeBulk(b, 2); // double free of two buffers
    assert.equal(mp.tracker!.doubleFrees, 2);
    assert.deepEqual(mp.tracker!.sampleHandles(), [b[0], b[1]]);
    assert.equal(mp.available(), 64, "no buffer counted twice");
    const held = mp.alloc();
    const st = countStates(mp.mbufs.owner);
    assert.equal(st.app, 1, "one frame held by the application: a leak if never freed");
    mp.free(held);
  } finally {
    u.close();
  }
});

test("pktmbuf: append, prepend, adj, trim, copy", () => {
  const u = Umem.create({ frames: 8 });
  try {
    const mp = Mempool.create({ umem: u, cacheSize: 0 });
    const pm = new Pktmbuf(u, mp.mbufs);
    const a = mp.alloc();
    const b = mp.alloc();
    pm.write(a, Uint8Array.from([1, 2, 3, 4]));
    assert.equal(pm.len(a), 4);
    assert.equal(pm.prepend(a, 2), (a << 11) + 254);
    assert.equal(pm.adj(a, 2), (a << 11) + 256);
    assert.ok(pm.append(a, 2) > 0);
    assert.equal(pm.trim(a, 2), 0);
    assert.equal(pm.adj(a, 10), -1, "cannot remove more than the packet has");
    assert.equal(pm.prepend(a, 300), -1, "cannot grow past the frame start");
    pm.copy(b, a);
    assert.deepEqual([...pm.bytes(b)], [1, 2, 3, 4]);
    assert.equal(pm.tailroom(a), 2048 - 256 - 4);
  } finally {
    u.close();
  }
});

test("mempool: every accepted cache size keeps every frame exactly once (frees of 4096, 2047, 4096 with a 4096 cache)", () => {
  const u = Umem.create({ frames: 16384 });
  try {
    for (const cacheSize of [0, 1, 7, 256, 2047, 4096]) {
      const mp = Mempool.create({ umem: u, cacheSize });
      const held: number[] = [];
      const b = new Uint32Array(16384);
      // The sequence of the report first, then a deterministic mix of sizes around the cache's bounds.
      const sizes = [4096, 2047, 4096, 1, cacheSize, cacheSize + 1, Math.floor(cacheSize * 1.5), 3 * cacheSize + 5, 64, 2 * cacheSize];
      for (let round = 0; round < 3; round++) {
        for (const sz of sizes) {
          const want = Math.min(Math.max(sz, 1), 16384 - held.length);
          const got = mp.allocBulk(b, want);
          assert.equal(got, want, `cache ${cacheSize}: alloc ${want} with ${16384 - held.length} free`);
          for (let i = 0; i < got; i++) held.push(b[i]!);
        }
        for (const sz of sizes) {
          const n = Math.min(Math.max(sz, 1), held.length);
          const part = Uint32Array.from(held.splice(held.length - n, n));
          mp.freeBulk(part, n);
          assert.equal(mp.available() + held.length, 16384, `cache ${cacheSize}: frees of ${n} lose nothing`);
        }
      }
      assert.equal(held.length, 0);
      mp.flushCache();
      assert.equal(mp.overflows, 0, `cache ${cacheSize}: nothing overflowed`);
      assert.equal(mp.ring.count(), 16384);
      const all = new Uint32Array(16384);
      assert.equal(mp.ring.dequeueBurst(all, 16384), 16384);
      assert.equal(new Set(all).size, 16384, `cache ${cacheSize}: 16384 distinct handles, no handle twice`);
    }
  } finally {
    u.close();
  }
});

test("mempool: a double free without the tracker is counted as an overflow, not hidden", () => {
  const u = Umem.create({ frames: 64 });
  try {
    const mp = Mempool.create({ umem: u, cacheSize: 0 });
    const b = new Uint32Array(4);
    assert.equal(mp.allocBulk(b, 4), 4);
    mp.freeBulk(b, 4);
    assert.equal(mp.overflows, 0);
    mp.freeBulk(b, 2); // the ring holds all 64 frames already: two more cannot fit
    assert.equal(mp.overflows, 2);
    assert.equal(mp.available(), 64);
    const other = Mempool.fromShared(mp.toShared());
    assert.equal(other.overflows, 2, "the counter is shared between threads' pool objects");
  } finally {
    u.close();
  }
});

/**
 * Chained packets (chain.ts): DPDK's rte_pktmbuf_* semantics checked against a plain byte-array oracle,
 * whole-chain frees with exact pool counts (with and without the tracker), double frees of segments, and
 * no allocation in the per-packet operations.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "./umem.js";
import { Mempool } from "./mempool.js";
import { MbufChain, MAX_SEGS } from "./chain.js";
import { countStates } from "./tracker.js";
import { gcsDuring } from "../testing/gc-probe.js";

/** A deterministic PRNG (xorshift32) so failures replay. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x % n;
  };
}

const pattern = (len: number, seed: number): Uint8Array => Uint8Array.from({ length: len }, (_, i) => (i * 31 + seed * 7 + (i >> 8)) & 0xff);

function rig(o: { frames?: number; frameSize?: number; debug?: boolean; cacheSize?: number } = {}) {
  const frames = o.frames ?? 512;
  const umem = Umem.create({ frames, frameSize: o.frameSize ?? 2048 });
  const pool = Mempool.create({ umem, debug: o.debug ?? false, cacheSize: o.cacheSize ?? 32 });
  const pm = new MbufChain(pool);
  return {
    umem, pool, pm, frames,
    /** Every frame back in the pool. */
    allBack(what: string) {
      pool.flushCache();
      assert.equal(pool.available(), frames, `${what}: every frame back`);
      assert.equal(pool.overflows, 0, `${what}: no overflow`);
    },
    done: () => umem.close(),
  };
}

describe("mbuf chains", () => {
  test("fromBytes / bytes round-trip; segment layout, nbSegs and pktLen", () => {
    const r = rig();
    try {
      assert.equal(r.pool.mbufs.segmentsEnabled, true, "making an MbufChain turns segment mode on");
      for (const [len, seg] of [[1, 1792], [1792, 1792], [1793, 1792], [4000, 1792], [9000, 1792], [9014, 1792], [9000, 1000], [300, 7]] as const) {
        const data = pattern(len, len);
        const h = r.pm.fromBytes(data, seg);
        assert.notEqual(h, -1);
        const nseg = Math.ceil(len / seg);
        assert.equal(r.pm.nbSegs(h), nseg, `${len}/${seg}: segments`);
        assert.equal(r.pm.pktLen(h), len);
        const segs = r.pm.segments(h);
        assert.equal(segs.length, nseg);
        segs.forEach((s, i) => {
          assert.equal(r.pool.mbufs.dataLen[s], Math.min(seg, len - i * seg), `${len}/${seg}: segment ${i} length`);
          assert.equal(r.pool.mbufs.dataOff[s], 256, "each segment at the headroom");
        });
        assert.equal(r.pm.lastSeg(h), segs[segs.length - 1]);
        assert.deepEqual(r.pm.bytes(h), data, `${len}/${seg}: bytes`);
        assert.equal(r.pool.available(), r.frames - nseg);
        r.pool.free(h);
        r.allBack(`${len}/${seg}`);
      }
      assert.throws(() => r.pm.fromBytes(new Uint8Array(10), 1793), /Invalid segment size 1793: 1 to 1792/);
    } finally {
      r.done();
    }
  });

  test("fromBytes takes nothing when the pool runs out", () => {
    const r = rig({ frames: 8 });
    try {
      assert.equal(r.pm.fromBytes(new Uint8Array(9 * 1792)), -1);
      r.allBack("refused");
      const h = r.pm.fromBytes(new Uint8Array(8 * 1792));
      assert.equal(r.pm.nbSegs(h), 8);
      r.pool.free(h);
      r.allBack("8 segments");
    } finally {
      r.done();
    }
  });

  test("prepend / append / adj / trim / chain follow DPDK (first or last segment only) against a byte oracle", () => {
    for (const debug of [false, true]) {
      const r = rig({ debug, frames: 4096 });
      const rand = rng(debug ? 7 : 11);
      try {
        const { pm, pool } = r;
        const m = pool.mbufs;
        const u8 = r.umem.u8;
        for (let round = 0; round < 60; round++) {
          const len0 = 1 + rand(6000);
          let oracle = Array.from(pattern(len0, round));
          let h = pm.fromBytes(Uint8Array.from(oracle), 64 + rand(1728));
          let refused = 0;
          for (let step = 0; step < 40; step++) {
            const op = rand(5);
            const first = h;
            const last = pm.lastSeg(h);
            if (op === 0) {
              const n = rand(300);
              const want = n <= m.dataOff[first]! ? 0 : -1;
              const o = pm.prepend(h, n);
              if (want === -1) { assert.equal(o, -1, "prepend beyond the headroom"); refused++; continue; }
              const bytes = pattern(n, step);
              u8.set(bytes, o);
              oracle = [...bytes, ...oracle];
            } else if (op === 1) {
              const n = rand(1200);
              const room = 2048 - m.dataOff[last]! - m.dataLen[last]!;
              const o = pm.append(h, n);
              if (n > room) { assert.equal(o, -1, "append beyond the last segment's tailroom"); refused++; continue; }
              const bytes = pattern(n, step + 100);
              u8.set(bytes, o);
              oracle = [...oracle, ...bytes];
            } else if (op === 2) {
              const n = rand(m.dataLen[first]! + 50);
              const over = n > m.dataLen[first]!;
              const o = pm.adj(h, n);
              if (over) { assert.equal(o, -1, "adj beyond the first segment"); refused++; continue; }
              assert.equal(o, pm.mtod(first));
              oracle = oracle.slice(n);
            } else if (op === 3) {
              const n = rand(m.dataLen[last]! + 50);
              const over = n > m.dataLen[last]!;
              const rc = pm.trim(h, n);
              if (over) { assert.equal(rc, -1, "trim beyond the last segment"); refused++; continue; }
              assert.equal(rc, 0);
              oracle = oracle.slice(0, oracle.length - n);
            } else {
              const tailData = pattern(1 + rand(3000), step + 200);
              const t = pm.fromBytes(tailData, 100 + rand(1692));
              const segs = pm.nbSegs(h) + pm.nbSegs(t);
              assert.equal(pm.chain(h, t), 0);
              assert.equal(pm.nbSegs(h), segs);
              assert.equal(m.nbSegs[t], 1, "the old tail head carries no counts");
              oracle = [...oracle, ...tailData];
            }
            assert.equal(pm.pktLen(h), oracle.length, `round ${round} step ${step}: pktLen`);
            assert.deepEqual(pm.bytes(h), Uint8Array.from(oracle), `round ${round} step ${step}: bytes`);
            // Every refusal changed nothing: checked by the comparisons after the next accepted op.
          }
          assert.equal(pm.nbSegs(h), pm.segments(h).length);
          pool.free(h);
          h = -1;
          r.allBack(`round ${round} (${refused} refused)`);
        }
        if (debug) assert.equal(pool.tracker!.doubleFrees, 0);
      } finally {
        r.done();
      }
    }
  });

  test("read copies any byte range across segments; refuses ranges past the end", () => {
    const r = rig();
    try {
      const data = pattern(9000, 3);
      const h = r.pm.fromBytes(data, 1000);
      const dst = new Uint8Array(9100);
      const rand = rng(5);
      for (let i = 0; i < 300; i++) {
        const off = rand(9001);
        const len = rand(9001 - off);
        dst.fill(0xee);
        assert.equal(r.pm.read(h, off, len, dst, 50), len);
        assert.deepEqual(dst.subarray(50, 50 + len), data.subarray(off, off + len), `read(${off}, ${len})`);
        assert.equal(dst[49], 0xee);
        assert.equal(dst[50 + len], 0xee, "nothing written past the range");
      }
      assert.equal(r.pm.read(h, 8990, 11, dst), -1);
      assert.equal(r.pm.read(h, 0, 9000, new Uint8Array(100)), -1, "destination too small");
      r.pool.free(h);
      r.allBack("read");
    } finally {
      r.done();
    }
  });

  test("chain refuses itself and more than MAX_SEGS segments", () => {
    const r = rig();
    try {
      const a = r.pm.fromBytes(pattern(100, 1));
      const b = r.pm.fromBytes(pattern(100, 2));
      assert.equal(r.pm.chain(a, a), -1);
      r.pool.mbufs.nbSegs[b] = MAX_SEGS; // as if b had that many
      assert.equal(r.pm.chain(a, b), -1);
      assert.equal(r.pm.nbSegs(a), 1, "unchanged");
      assert.equal(r.pool.mbufs.next[a], -1);
      r.pool.mbufs.nbSegs[b] = 1;
      r.pool.free(a);
      r.pool.free(b);
      r.allBack("chain refusals");
    } finally {
      r.done();
    }
  });

  test("linearize moves the chain into its first segment when it fits, and frees the rest", () => {
    const r = rig({ frameSize: 4096 });
    try {
      const data = pattern(3000, 9);
      const h = r.pm.fromBytes(data, 700);
      assert.equal(r.pm.nbSegs(h), 5);
      assert.equal(r.pm.linearize(h), 0);
      assert.equal(r.pm.nbSegs(h), 1);
      assert.equal(r.pool.mbufs.next[h], -1);
      assert.deepEqual(r.pm.bytes(h), data);
      assert.equal(r.pool.available(), r.frames - 1, "four segments freed");
      const big = r.pm.fromBytes(pattern(3841, 1), 3000);
      assert.equal(r.pm.linearize(big), -1, "3841 bytes do not fit after the 256-byte headroom of 4096");
      assert.equal(r.pm.nbSegs(big), 2);
      r.pool.free(h);
      r.pool.free(big);
      r.allBack("linearize");
    } finally {
      r.done();
    }
  });

  test("tracker: freeing a chain twice, or one of its segments again, is a double free; nothing counted twice", () => {
    const r = rig({ debug: true });
    try {
      const t = r.pool.tracker!;
      const h = r.pm.fromBytes(pattern(5000, 1));
      const segs = r.pm.segments(h);
      assert.equal(countStates(r.pool.mbufs.owner).app, 3);
      r.pool.free(h);
      assert.equal(t.doubleFrees, 0);
      r.pool.free(h);
      assert.equal(t.doubleFrees, 1, "the chain again: its first segment is free (the walk stops there)");
      r.pool.free(segs[2]!);
      assert.equal(t.doubleFrees, 2, "a segment of a freed chain");
      assert.deepEqual(t.sampleHandles(), [h, segs[2]]);
      r.allBack("double frees");
      // A segment freed on its own (freeSegments), then the chain: the walk stops at the free segment.
      const h2 = r.pm.fromBytes(pattern(5000, 2));
      const s2 = r.pm.segments(h2);
      r.pool.freeSegments(new Uint32Array([s2[1]!]), 1);
      r.pool.free(h2);
      assert.equal(t.doubleFrees, 3);
      assert.equal(r.pool.available(), r.frames - 1, "the third segment, behind the double free, is lost (reported)");
      assert.deepEqual(countStates(r.pool.mbufs.owner), { free: r.frames - 1, app: 1, kernel: 0 });
    } finally {
      r.done();
    }
  });

  test("without the tracker the counts are exact too; a pool without segment mode never reads the segment words", () => {
    const r = rig({ debug: false, cacheSize: 0 });
    try {
      const hs = new Uint32Array(16);
      for (let i = 0; i < 16; i++) hs[i] = r.pm.fromBytes(pattern(1 + i * 600, i));
      r.pool.freeBulk(hs, 16);
      r.allBack("16 chains, no cache");
    } finally {
      r.done();
    }
    const umem = Umem.create({ frames: 64 });
    try {
      const pool = Mempool.create({ umem });
      assert.equal(pool.mbufs.segmentsEnabled, false);
      const h = pool.alloc();
      pool.mbufs.next[h] = 5; // garbage a segment-mode pool would follow
      pool.free(h);
      assert.equal(pool.available(), 64, "only h went back");
      pool.mbufs.next[h] = -1;
    } finally {
      umem.close();
    }
  });

  test("the per-packet operations allocate nothing", async () => {
    const r = rig({ frames: 1024 });
    try {
      const { pm, pool } = r;
      const h = pm.fromBytes(pattern(9000, 1));
      const t = pm.fromBytes(pattern(100, 2));
      const dst = new Uint8Array(64);
      const bufs = new Uint32Array(8);
      let sink = 0;
      const gcs = await gcsDuring(() => {
        for (let i = 0; i < 1_000_000; i++) {
          sink = (sink + pm.prepend(h, 4) + pm.adj(h, 4) + pm.append(h, 8) + pm.trim(h, 8)) | 0;
          sink = (sink + pm.pktLen(h) + pm.nbSegs(h) + pm.lastSeg(h) + pm.read(h, 1790, 20, dst) + pm.mtod(h)) | 0;
          if ((i & 1023) === 0) {
            // Chain a few frames on and free them with the chain: the allocation-free free path.
            const n = pool.allocBulk(bufs, 4);
            for (let k = 0; k < n; k++) pool.mbufs.dataLen[bufs[k]!] = 10;
            const c = bufs[0]!;
            for (let k = 1; k < n; k++) pm.chain(c, bufs[k]!);
            pool.freeBulk(bufs, 1);
          }
        }
      });
      assert.equal(gcs, 0, `garbage collections during a million rounds (sink ${sink})`);
      pool.free(h);
      pool.free(t);
      r.allBack("gc probe");
    } finally {
      r.done();
    }
  });
});

/**
 * Clones and reference counts (clone.ts through MbufChain): a clone views the original's bytes and
 * keeps its frames alive whichever is freed first; clones of chains and of clones; refusals change
 * nothing; the tracker catches double frees of clones and does not count a frame held by a live clone
 * as the application's; exact pool counts with and without the tracker; no allocation.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "./umem.js";
import { Mempool } from "./mempool.js";
import { MbufChain } from "./chain.js";
import { FRAME_APP, FRAME_SHARED, frameReport, countStates } from "./tracker.js";
import { gcsDuring } from "../testing/gc-probe.js";

const pattern = (len: number, seed: number): Uint8Array => Uint8Array.from({ length: len }, (_, i) => (i * 13 + seed) & 0xff);

function rig(debug: boolean, frames = 256) {
  const umem = Umem.create({ frames });
  const pool = Mempool.create({ umem, debug, cacheSize: 16 });
  const pm = new MbufChain(pool);
  const inPool = () => { pool.flushCache(); return pool.available(); };
  return { umem, pool, pm, frames, inPool, done: () => umem.close() };
}

describe("mbuf clones", () => {
  for (const debug of [true, false]) {
    const mode = debug ? "tracker on" : "no tracker";

    test(`a clone views the original's bytes and keeps the frame alive, whichever is freed first (${mode})`, () => {
      const r = rig(debug);
      try {
        const { pm, pool } = r;
        for (const order of ["original first", "clone first"]) {
          const data = pattern(1000, 3);
          const h = pm.fromBytes(data);
          const c = pm.clone(h);
          assert.notEqual(c, -1);
          assert.notEqual(c, h);
          assert.equal(pm.isIndirect(c), true);
          assert.equal(pm.isIndirect(h), false);
          assert.equal(pool.mbufs.direct[c], h);
          assert.equal(pm.mtod(c), pm.mtod(h), "same bytes");
          assert.equal(pm.refcnt(h), 2);
          assert.equal(pm.refcnt(c), 2, "a clone reports its frame's references");
          assert.deepEqual(pm.bytes(c), data);
          assert.equal(r.inPool(), r.frames - 2);
          const [a, b] = order === "original first" ? [h, c] : [c, h];
          pool.free(a);
          // Freeing the original returns nothing (the clone holds its frame); freeing the clone returns
          // the clone's own (unused) frame.
          assert.equal(r.inPool(), r.frames - (a === h ? 2 : 1), `${order}: what comes back`);
          assert.equal(pm.refcnt(b), 1);
          assert.deepEqual(pm.bytes(b), data, `${order}: the bytes are still there`);
          pool.free(b);
          assert.equal(r.inPool(), r.frames, `${order}: everything back`);
          assert.equal(pool.mbufs.refcnt[h], 1);
          assert.equal(pool.mbufs.direct[c], -1, "a freed clone is a plain frame again");
        }
        if (debug) assert.equal(pool.tracker!.doubleFrees, 0);
      } finally {
        r.done();
      }
    });

    test(`a clone's view is its own (adj/trim/prepend), its bytes are shared (${mode})`, () => {
      const r = rig(debug);
      try {
        const { pm, pool } = r;
        const data = pattern(600, 1);
        const h = pm.fromBytes(data);
        const c = pm.clone(h);
        assert.notEqual(pm.adj(c, 14), -1);
        assert.equal(pm.trim(c, 100), 0);
        assert.deepEqual(pm.bytes(c), data.subarray(14, 500));
        assert.deepEqual(pm.bytes(h), data, "the original's view is unchanged");
        r.umem.u8[pm.mtod(h) + 20] = 0xab;
        assert.equal(pm.bytes(c)[6], 0xab, "a write through the original shows in the clone");
        assert.equal(pm.prepend(c, 14), pm.mtod(h), "prepend moves back into the shared frame's headroom");
        pool.free(h);
        pool.free(c);
        assert.equal(r.inPool(), r.frames);
      } finally {
        r.done();
      }
    });

    test(`a clone of a chain clones every segment; a clone of a clone attaches to the direct frames (${mode})`, () => {
      const r = rig(debug);
      try {
        const { pm, pool } = r;
        const data = pattern(9000, 5);
        const h = pm.fromBytes(data);
        const segs = pm.segments(h);
        pool.mbufs.port[h] = 3;
        pool.mbufs.ptype[h] = 0x211;
        const c1 = pm.clone(h);
        const c2 = pm.clone(c1);
        for (const c of [c1, c2]) {
          assert.equal(pm.nbSegs(c), 6);
          assert.equal(pm.pktLen(c), 9000);
          assert.deepEqual(pm.segments(c).map((s) => pool.mbufs.direct[s]), segs, "each clone segment views the original segment");
          assert.deepEqual(pm.bytes(c), data);
          assert.equal(pool.mbufs.port[c], 3);
          assert.equal(pool.mbufs.ptype[c], 0x211);
        }
        for (const s of segs) assert.equal(pool.mbufs.refcnt[s], 3);
        assert.equal(r.inPool(), r.frames - 18);
        pool.free(c1);
        assert.equal(r.inPool(), r.frames - 12);
        pool.free(h);
        assert.equal(r.inPool(), r.frames - 12, "the original's frames stay with the second clone");
        assert.deepEqual(pm.bytes(c2), data);
        pool.free(c2);
        assert.equal(r.inPool(), r.frames);
      } finally {
        r.done();
      }
    });

    test(`a clone the pool cannot supply changes nothing (${mode})`, () => {
      const r = rig(debug, 16);
      try {
        const { pm, pool } = r;
        const h = pm.fromBytes(pattern(9000, 1)); // 6 segments
        const hold = new Uint32Array(8);
        assert.equal(pool.allocBulk(hold, 8), 8); // 2 left: fewer than 6
        assert.equal(pm.clone(h), -1);
        assert.equal(r.inPool(), 2);
        for (const s of pm.segments(h)) assert.equal(pool.mbufs.refcnt[s], 1, "references given back");
        pool.freeBulk(hold, 8);
        pool.free(h);
        assert.equal(r.inPool(), 16);
        if (debug) assert.equal(pool.tracker!.doubleFrees, 0);
      } finally {
        r.done();
      }
    });

    test(`refcntUpdate adds a reference to every segment; each holder frees once (${mode})`, () => {
      const r = rig(debug);
      try {
        const { pm, pool } = r;
        const h = pm.fromBytes(pattern(4000, 2));
        assert.equal(pm.refcntUpdate(h, 2), 0);
        assert.deepEqual(pm.segments(h).map((s) => pool.mbufs.refcnt[s]), [3, 3, 3]);
        assert.equal(pm.refcntUpdate(h, 0), -1);
        assert.equal(pm.refcntUpdate(h, 0xffff), -1, "past 65535: refused");
        assert.deepEqual(pm.segments(h).map((s) => pool.mbufs.refcnt[s]), [3, 3, 3], "unchanged");
        pool.free(h);
        pool.free(h);
        assert.equal(r.inPool(), r.frames - 3);
        pool.free(h);
        assert.equal(r.inPool(), r.frames);
      } finally {
        r.done();
      }
    });
  }

  test("tracker: a frame held by a live clone is not the application's; double frees of clones are caught", () => {
    const r = rig(true);
    try {
      const { pm, pool } = r;
      const t = pool.tracker!;
      const owner = pool.mbufs.owner;
      const h = pm.fromBytes(pattern(100, 1));
      assert.equal(owner[h], FRAME_APP);
      const c = pm.clone(h);
      assert.equal(owner[h], FRAME_SHARED);
      assert.equal(owner[c], FRAME_APP, "the clone's own handle is an ordinary frame");
      let rep = frameReport(pool.mbufs, pool.first, pool.count);
      assert.deepEqual({ app: rep.app, heldByClones: rep.heldByClones, shared: rep.shared, kernel: rep.kernel }, { app: [c], heldByClones: [], shared: [h], kernel: 0 });
      pool.free(h);
      rep = frameReport(pool.mbufs, pool.first, pool.count);
      assert.deepEqual({ app: rep.app, heldByClones: rep.heldByClones, shared: rep.shared }, { app: [c], heldByClones: [h], shared: [] },
        "the original's frame is held by the live clone, not leaked");
      assert.deepEqual(countStates(owner), { free: r.frames - 2, app: 2, kernel: 0 }, "both still out of the pool");
      pool.free(c);
      rep = frameReport(pool.mbufs, pool.first, pool.count);
      assert.deepEqual({ free: rep.free, app: rep.app, heldByClones: rep.heldByClones, shared: rep.shared }, { free: r.frames, app: [], heldByClones: [], shared: [] });
      assert.equal(t.doubleFrees, 0);
      pool.free(c);
      assert.equal(t.doubleFrees, 1, "the clone freed twice");
      pool.free(h);
      assert.equal(t.doubleFrees, 2, "the original freed after its last reference went");
      // A clone chain freed twice: caught at its first segment, nothing returned twice.
      const h2 = pm.fromBytes(pattern(5000, 2));
      const c2 = pm.clone(h2);
      pool.free(c2);
      pool.free(c2);
      assert.equal(t.doubleFrees, 3);
      pool.free(h2);
      assert.equal(r.inPool(), r.frames);
      assert.equal(pool.overflows, 0);
    } finally {
      r.done();
    }
  });

  test("clone and free allocate nothing", async () => {
    const r = rig(false, 1024);
    try {
      const { pm, pool } = r;
      const h = pm.fromBytes(pattern(9000, 1));
      const bufs = new Uint32Array(64);
      let sink = 0;
      const gcs = await gcsDuring(() => {
        for (let i = 0; i < 200_000; i++) {
          const c = pm.clone(h);
          sink = (sink + pm.pktLen(c) + pm.refcnt(c)) | 0;
          bufs[i & 63] = c;
          if ((i & 63) === 63) pool.freeBulk(bufs, 64);
        }
      });
      assert.equal(gcs, 0, `garbage collections (sink ${sink})`);
      pool.free(h);
      assert.equal(r.inPool(), r.frames);
    } finally {
      r.done();
    }
  });
});

/**
 * Multi-buffer ring logic over fake rings (src/testing/fake-xsk.ts), no root: RX descriptor chains
 * assembled into mbuf chains (also across the ring wrap and the 2^32 index wrap), packets cut off at the
 * end of the RX ring left for the next burst, TX chains posted whole or not at all, completions of chains
 * one frame at a time, close with partial chains in every ring, clones sent on a socket, and the frame
 * tracker's view of all of it. Every step checks pool + rings + kernel + application = every frame.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { MbufChain } from "../mem/chain.js";
import { FRAME_SHARED } from "../mem/tracker.js";
import { FakeKernel, assemblePackets, type FakeXskOptions } from "../testing/fake-xsk.js";
import type { XskSocket } from "./socket.js";
import { XDP_PKT_CONTD, XDP_PACKET_HEADROOM, XSK_TX_MAX_SEGS } from "./if-xdp.js";

const bytesOf = (seq: number, size: number): Uint8Array => {
  const f = new Uint8Array(size);
  for (let i = 0; i < size; i++) f[i] = (seq * 29 + i * 7 + (i >> 9)) & 0xff;
  return f;
};

interface Rig {
  umem: Umem;
  mp: Mempool;
  fk: FakeKernel;
  xsk: XskSocket;
  pm: MbufChain;
  frames: number;
  /** pool + rings + kernel-held + `app` frames must be every frame. */
  check(app: number, what: string): void;
  done(): void;
}

function rig(o: Partial<FakeXskOptions> & { frames?: number; debug?: boolean; frameSize?: number } = {}): Rig {
  const frames = o.frames ?? 256;
  const umem = Umem.create({ frames, frameSize: o.frameSize ?? 2048 });
  const mp = Mempool.create({ umem, debug: o.debug ?? true });
  const { frames: _f, debug: _d, frameSize: _s, ...fo } = o;
  const fk = FakeKernel.create({ mempool: mp, multiBuffer: true, ...fo });
  const pm = new MbufChain(mp);
  return {
    umem, mp, fk, pm, frames, xsk: fk.xsk,
    check(app, what) {
      assert.equal(mp.available() + fk.inRings() + fk.held() + app, frames,
        `${what}: pool ${mp.available()} + rings ${fk.inRings()} (fill ${fk.fillCount()} rx ${fk.rxCount()} tx ${fk.txCount()} comp ${fk.compCount()}) + kernel ${fk.held()} + app ${app}`);
    },
    done() {
      if (!fk.xsk.isClosed) fk.xsk.close();
      fk.close();
      umem.close();
    },
  };
}

function assertTrackerClean(mp: Mempool): void {
  const t = mp.tracker!;
  assert.deepEqual({ doubleFrees: t.doubleFrees, badAllocs: t.badAllocs, badKernelReturns: t.badKernelReturns },
    { doubleFrees: 0, badAllocs: 0, badKernelReturns: 0 }, `tracker samples ${t.sampleHandles()}`);
}

/** Segments held by the application for the packets in bufs[0..n). */
const segsOf = (pm: MbufChain, bufs: Uint32Array, n: number): number => {
  let k = 0;
  for (let i = 0; i < n; i++) k += pm.nbSegs(bufs[i]!);
  return k;
};

describe("xsk socket, multi-buffer chains over fake rings", () => {
  for (const debug of [true, false]) {
    test(`RX chains across the ring wrap and the 2^32 index wrap are assembled byte for byte and go back out as descriptor chains (${debug ? "tracker" : "no tracker"})`, () => {
      const r = rig({ debug, start: 2 ** 32 - 5, rxSize: 8, txSize: 16, fillSize: 32, compSize: 32, fillLevel: 24, frames: 128 });
      try {
        const bufs = new Uint32Array(8);
        let seq = 0;
        for (let round = 0; round < 25; round++) {
          // 9000 bytes: 6 descriptors of up to 1792; 1792: exactly one; 1793: two; 60: one. 10 > 8: two receives.
          const a = [bytesOf(seq++, 9000), bytesOf(seq++, 60)];
          const b = [bytesOf(seq++, 1792), bytesOf(seq++, 1793)];
          assert.equal(r.fk.receive(a), 2);
          r.check(0, `round ${round}: received`);
          const n1 = r.xsk.rxBurst(bufs, 8);
          assert.equal(n1, 2);
          assert.equal(r.fk.receive(b), 2);
          const n2 = r.xsk.rxBurst(bufs.subarray(2), 8);
          assert.equal(n2, 2);
          const sent = [...a, ...b];
          const want = [[6, 9000], [1, 60], [1, 1792], [2, 1793]];
          for (let i = 0; i < 4; i++) {
            const h = bufs[i]!;
            assert.deepEqual([r.pm.nbSegs(h), r.pm.pktLen(h)], want[i], `round ${round} packet ${i}: segments and length`);
            assert.deepEqual(r.pm.bytes(h), sent[i], `round ${round} packet ${i}: bytes`);
            for (const s of r.pm.segments(h)) assert.equal(r.mp.mbufs.dataOff[s], XDP_PACKET_HEADROOM);
          }
          r.check(10, `round ${round}: read`);
          assert.equal(r.xsk.txBurst(bufs, 4), 4);
          r.check(0, `round ${round}: posted`);
          assert.equal(r.fk.txCount(), 10);
          const out = r.fk.transmit();
          assert.deepEqual(out.map((d) => d.options), [1, 1, 1, 1, 1, 0, 0, 0, 1, 0].map((c) => (c ? XDP_PKT_CONTD : 0)));
          const { packets, pending } = assemblePackets(out);
          assert.equal(pending, 0);
          assert.deepEqual(packets.map((p) => p.bytes), sent, `round ${round}: sent byte for byte`);
          assert.ok(packets.every((p) => p.valid));
          assert.equal(r.xsk.pendingTx, 10, "pendingTx counts descriptors");
          assert.equal(r.fk.complete(), 10);
          assert.equal(r.xsk.reclaim(), 10);
          r.check(0, `round ${round}: reclaimed`);
        }
        for (const [name, ring] of Object.entries(r.fk.rings)) assert.ok(ring.u32[ring.prod]! < 1000, `${name} producer wrapped`);
        const st = r.xsk.readStats();
        assert.deepEqual([st["ipackets"], st["opackets"], st["ibytes"], st["obytes"], st["tx_completed"]], [100, 100, 25 * 12645, 25 * 12645, 250]);
        r.xsk.close();
        assert.equal(r.mp.available(), 128);
        if (debug) assertTrackerClean(r.mp);
      } finally {
        r.done();
      }
    });
  }

  test("a packet whose last descriptor is not on the RX ring yet waits, whole, for the next burst", () => {
    const r = rig({ rxSize: 16 });
    try {
      const bufs = new Uint32Array(8);
      const data = bytesOf(1, 3000);
      assert.equal(r.fk.receive([bytesOf(0, 100)]), 1);
      assert.ok(r.fk.receivePart(data.subarray(0, 1000), XDP_PKT_CONTD));
      assert.ok(r.fk.receivePart(data.subarray(1000, 2000), XDP_PKT_CONTD));
      assert.equal(r.xsk.rxBurst(bufs, 8), 1, "the complete packet only");
      assert.equal(r.fk.rxCount(), 2, "the two parts stay on the ring");
      assert.equal(r.xsk.rxBurst(bufs.subarray(1), 8), 0);
      assert.equal(r.xsk.readStats()["rx_empty_polls"], 1, "a ring holding only part of a packet is an empty poll");
      assert.ok(r.fk.receivePart(data.subarray(2000), 0));
      assert.equal(r.xsk.rxBurst(bufs.subarray(1), 8), 1);
      assert.deepEqual([r.pm.nbSegs(bufs[1]!), r.pm.pktLen(bufs[1]!)], [3, 3000]);
      assert.deepEqual(r.pm.bytes(bufs[1]!), data);
      r.check(4, "read");
      r.mp.freeBulk(bufs, 2);
      r.check(0, "freed");
      // max counts packets, not descriptors.
      assert.equal(r.fk.receive([bytesOf(2, 5000), bytesOf(3, 5000)]), 2);
      assert.equal(r.xsk.rxBurst(bufs, 1), 1);
      assert.equal(r.pm.nbSegs(bufs[0]!), 3);
      assert.equal(r.fk.rxCount(), 3);
      r.mp.freeBulk(bufs, 1);
      r.done();
      assert.equal(r.mp.available(), 256);
      assertTrackerClean(r.mp);
    } finally {
      r.done();
    }
  });

  test("a TX ring with room for only part of a chain posts none of it; the caller keeps it and those after it", () => {
    const r = rig({ txSize: 8, compSize: 16 });
    try {
      const bufs = new Uint32Array(4);
      for (let i = 0; i < 3; i++) bufs[i] = r.pm.fromBytes(bytesOf(i, 3000), 1000); // 3 segments each
      bufs[3] = r.pm.fromBytes(bytesOf(3, 60));
      r.check(10, "built");
      assert.equal(r.xsk.txBurst(bufs, 4), 2, "two chains (6 descriptors) fit 8 entries; the third (3) does not");
      assert.equal(r.fk.txCount(), 6);
      assert.equal(r.xsk.readStats()["odropped"], 2, "the packets not taken");
      r.check(4, "two posted, the caller keeps two packets (4 frames)");
      const out = r.fk.transmit();
      assert.equal(assemblePackets(out).pending, 0, "no half chain on the ring");
      // The ring has 8 free entries again only after the kernel takes the 6: then both fit.
      assert.equal(r.xsk.txBurst(bufs.subarray(2), 2), 2);
      assert.equal(r.fk.txCount(), 4);
      const more = assemblePackets(r.fk.transmit());
      assert.deepEqual(more.packets.map((p) => p.bytes), [bytesOf(2, 3000), bytesOf(3, 60)]);
      r.fk.complete();
      assert.equal(r.xsk.reclaim(), 10);
      r.check(0, "all completed");
      // A chain longer than the whole ring never fits: never posted, the caller frees it.
      const big = new Uint32Array([r.pm.fromBytes(bytesOf(9, 9000), 1000)]); // 9 segments
      assert.equal(r.xsk.txBurst(big, 1), 0);
      assert.equal(r.fk.txCount(), 0);
      r.mp.freeBulk(big, 1);
      r.check(0, "freed by the caller");
      r.done();
      assert.equal(r.mp.available(), 256);
      assertTrackerClean(r.mp);
    } finally {
      r.done();
    }
  });

  test("refused chains are freed whole and counted in tx_invalid: a bad segment, too many segments, a chain on a single-buffer socket", () => {
    const r = rig({ txSize: 64 });
    try {
      const bufs = new Uint32Array(3);
      bufs[0] = r.pm.fromBytes(bytesOf(0, 3000), 1000);
      r.mp.mbufs.dataLen[r.pm.segments(bufs[0])[1]!] = 0; // an empty middle segment
      bufs[1] = r.pm.fromBytes(bytesOf(1, (XSK_TX_MAX_SEGS + 1) * 10), 10); // 19 segments
      bufs[2] = r.pm.fromBytes(bytesOf(2, XSK_TX_MAX_SEGS * 10), 10); // 18: the most the kernel takes
      assert.equal(r.xsk.txBurst(bufs, 3), 3);
      assert.equal(r.xsk.readStats()["tx_invalid"], 2);
      assert.equal(r.fk.txCount(), XSK_TX_MAX_SEGS);
      r.check(0, "the refused ones are back in the pool");
      r.fk.transmit();
      r.fk.complete();
      r.xsk.reclaim();
      r.done();
      assert.equal(r.mp.available(), 256);
      assertTrackerClean(r.mp);
    } finally {
      r.done();
    }
    const s = rig({ multiBuffer: false });
    try {
      const one = new Uint32Array([s.pm.fromBytes(bytesOf(0, 3000)), s.pm.fromBytes(bytesOf(1, 1000))]);
      assert.equal(s.xsk.txBurst(one, 2), 2);
      assert.equal(s.xsk.readStats()["tx_invalid"], 1, "two segments on a socket without multi-buffer");
      assert.deepEqual(s.fk.transmit().map((d) => [d.len, d.options]), [[1000, 0]]);
      s.fk.complete();
      s.xsk.reclaim();
      s.done();
      assert.equal(s.mp.available(), 256);
      assertTrackerClean(s.mp);
    } finally {
      s.done();
    }
  });

  test("completions free one segment each: a chain half completed holds exactly its other half", () => {
    const r = rig({ compSize: 32 });
    try {
      const bufs = new Uint32Array([r.pm.fromBytes(bytesOf(0, 9000)), r.pm.fromBytes(bytesOf(1, 4000))]); // 6 + 3
      const before = r.mp.available();
      assert.equal(r.xsk.txBurst(bufs, 2), 2);
      r.fk.transmit();
      assert.equal(r.fk.complete(4), 4);
      assert.equal(r.xsk.reclaim(), 4);
      assert.equal(r.mp.available(), before + 4);
      assert.equal(r.xsk.pendingTx, 5);
      r.check(0, "four segments back, five with the kernel");
      assert.equal(r.fk.complete(), 5);
      assert.equal(r.xsk.reclaim(), 5);
      assert.equal(r.xsk.pendingTx, 0);
      r.check(0, "all back");
      r.done();
      assert.equal(r.mp.available(), 256);
      assertTrackerClean(r.mp);
    } finally {
      r.done();
    }
  });

  /**
   * Partial chains everywhere at close: RX holds a whole chain unread and the start of another; TX holds
   * the end of a chain whose start the kernel took; the kernel holds taken TX frames (completed late)
   * and, with the tracker, fill frames; the completion ring holds unreclaimed entries.
   */
  async function closeWithPartialChains(debug: boolean): Promise<{ available: number; lost: number }> {
    const r = rig({ debug, rxSize: 16, txSize: 16, compSize: 32, fillSize: 32, fillLevel: 32 });
    try {
      assert.equal(r.fk.receive([bytesOf(0, 5000)]), 1);
      assert.ok(r.fk.receivePart(bytesOf(1, 1792), XDP_PKT_CONTD));
      assert.ok(r.fk.receivePart(bytesOf(2, 1792), XDP_PKT_CONTD));
      const bufs = new Uint32Array([r.pm.fromBytes(bytesOf(3, 5000)), r.pm.fromBytes(bytesOf(4, 5000))]);
      assert.equal(r.xsk.txBurst(bufs, 2), 2);
      r.fk.transmit(4); // the first chain and one segment of the second
      r.fk.complete(2);
      if (debug) r.fk.takeFill(3);
      assert.deepEqual([r.fk.rxCount(), r.fk.txCount(), r.fk.compCount()], [5, 2, 2]);
      r.check(0, "before close");
      const late = r.fk.completeLater(5);
      await late.ready;
      r.xsk.close();
      assert.equal(await late.done, 2);
      r.fk.close();
      if (debug) assertTrackerClean(r.mp);
      return { available: r.mp.available(), lost: r.xsk.framesLostAtClose };
    } finally {
      r.done();
    }
  }

  test("close with partial chains in every ring returns every frame, with and without the tracker", async () => {
    assert.deepEqual(await closeWithPartialChains(false), { available: 256, lost: 0 });
    assert.deepEqual(await closeWithPartialChains(true), { available: 256, lost: 0 });
  });

  for (const debug of [true, false]) {
    test(`a clone sent on the socket posts the original frame; its handle is freed at once, the frame at the completion (${debug ? "tracker" : "no tracker"})`, () => {
      const r = rig({ debug });
      try {
        const data = bytesOf(7, 4000);
        const h = r.pm.fromBytes(data);
        const orig = r.pm.segments(h);
        const c = r.pm.clone(h);
        const clones = r.pm.segments(c);
        const bufs = new Uint32Array([c]);
        r.check(6, "original and clone");
        // Shared frames are the application's and the kernel's at once: count the pool itself from here.
        const base = r.mp.available() + r.fk.fillCount() + r.fk.held();
        assert.equal(r.xsk.txBurst(bufs, 1), 1);
        assert.equal(r.mp.available() + r.fk.fillCount() + r.fk.held(), base + 3, "the clone's handles went back at post");
        for (const s of clones) assert.equal(r.mp.mbufs.direct[s], -1);
        const out = r.fk.transmit();
        assert.deepEqual(out.map((d) => d.addr >>> 11), orig, "descriptors point into the original frames");
        assert.deepEqual(assemblePackets(out).packets[0]!.bytes, data);
        r.mp.free(h);
        assert.equal(r.mp.available() + r.fk.fillCount(), base + 3, "the original freed: its frames stay with the kernel");
        if (debug) for (const s of orig) assert.equal(r.mp.mbufs.owner[s], FRAME_SHARED);
        r.fk.complete();
        assert.equal(r.xsk.reclaim(), 3);
        r.check(0, "completed");
        // The original sent twice (a second reference) and freed by nobody else.
        const h2 = r.pm.fromBytes(bytesOf(8, 100));
        assert.equal(r.pm.refcntUpdate(h2, 1), 0);
        const twice = new Uint32Array([h2, h2]);
        const before = r.mp.available();
        assert.equal(r.xsk.txBurst(twice, 2), 2);
        assert.equal(r.fk.txCount(), 2);
        r.fk.transmit();
        r.fk.complete(1);
        assert.equal(r.xsk.reclaim(), 1);
        assert.equal(r.mp.available(), before, "one reference left, the kernel's");
        assert.equal(r.mp.mbufs.refcnt[h2], 1);
        r.fk.complete();
        assert.equal(r.xsk.reclaim(), 1);
        assert.equal(r.mp.available(), before + 1, "both completions in");
        r.check(0, "end");
        r.done();
        assert.equal(r.mp.available(), 256);
        if (debug) assertTrackerClean(r.mp);
      } finally {
        r.done();
      }
    });
  }

  test("tracker: a chain segment the kernel did not have is reported and left out of the packet", () => {
    const r = rig({ rxSize: 16 });
    try {
      const bufs = new Uint32Array(4);
      assert.ok(r.fk.receivePart(bytesOf(0, 1000), XDP_PKT_CONTD));
      const stray = r.mp.alloc();
      r.mp.free(stray);
      assert.ok(r.fk.postRx(stray * 2048 + 256, 500, XDP_PKT_CONTD));
      assert.ok(r.fk.receivePart(bytesOf(1, 700), 0));
      assert.equal(r.xsk.rxBurst(bufs, 4), 1);
      assert.equal(r.mp.tracker!.badKernelReturns, 1);
      assert.deepEqual([r.pm.nbSegs(bufs[0]!), r.pm.pktLen(bufs[0]!)], [2, 1700]);
      r.mp.free(bufs[0]!);
      r.done();
      assert.equal(r.mp.available(), 256);
      assert.equal(r.mp.tracker!.doubleFrees, 0);
    } finally {
      r.done();
    }
  });
});

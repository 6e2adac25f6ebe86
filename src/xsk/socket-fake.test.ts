/**
 * XskSocket's ring logic against a fake kernel (src/testing/fake-xsk.ts): no root, no netdev. The test
 * plays the kernel's side of the four rings and checks indices, wakeups, frame accounting and close().
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { sys } from "../sys/native.js";
import { MAP_ANONYMOUS, MAP_NORESERVE, MAP_SHARED, PROT_READ, PROT_WRITE } from "../sys/consts.js";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { MbufTable } from "../mem/mbuf.js";
import { FakeKernel, type FakeXskOptions } from "../testing/fake-xsk.js";
import { XskSocket } from "./socket.js";
import { XDP_PACKET_HEADROOM } from "./if-xdp.js";

const frame = (seq: number, size = 60): Uint8Array => {
  const f = new Uint8Array(size);
  for (let i = 0; i < size; i++) f[i] = (seq * 7 + i) & 0xff;
  f[0] = seq & 0xff;
  f[1] = (seq >> 8) & 0xff;
  return f;
};

interface Rig {
  umem: Umem;
  mp: Mempool;
  fk: FakeKernel;
  xsk: XskSocket;
  /** mempool + rings + kernel-held + `app` frames must be the pool's size. */
  check(app: number, what: string): void;
  done(): void;
}

function rig(o: Partial<FakeXskOptions> & { frames?: number; debug?: boolean } = {}): Rig {
  const frames = o.frames ?? 256;
  const umem = Umem.create({ frames });
  const mp = Mempool.create({ umem, debug: o.debug ?? true });
  const { frames: _f, debug: _d, ...fo } = o;
  const fk = FakeKernel.create({ mempool: mp, ...fo });
  return {
    umem, mp, fk, xsk: fk.xsk,
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

describe("xsk socket over fake rings", () => {
  test("indices wrap at 2^32 on all four rings; bytes and frames survive the wrap", () => {
    const START = 2 ** 32 - 5;
    const r = rig({ start: START, rxSize: 8, txSize: 8, fillSize: 16, compSize: 16, fillLevel: 8, frames: 64 });
    try {
      const bufs = new Uint32Array(8);
      r.check(0, "after create");
      assert.equal(r.fk.fillCount(), 8);
      let seq = 0;
      for (let round = 0; round < 30; round++) {
        const sent = [frame(seq++), frame(seq++, 100), frame(seq++, 1400)];
        assert.equal(r.fk.receive(sent), 3);
        r.check(0, `round ${round} received`);
        const n = r.xsk.rxBurst(bufs, 8);
        assert.equal(n, 3);
        for (let i = 0; i < n; i++) {
          const h = bufs[i]!;
          assert.equal(r.mp.mbufs.dataOff[h], XDP_PACKET_HEADROOM);
          assert.equal(r.mp.mbufs.dataLen[h], sent[i]!.length);
          const at = h * r.umem.frameSize + XDP_PACKET_HEADROOM;
          assert.deepEqual(r.umem.u8.slice(at, at + sent[i]!.length), sent[i]);
        }
        assert.equal(r.fk.fillCount(), 8, "the fill ring is back at its level");
        r.check(n, `round ${round} read`);
        assert.equal(r.xsk.txBurst(bufs, n), n);
        r.check(0, `round ${round} posted`);
        const out = r.fk.transmit();
        assert.deepEqual(out.map((s) => s.bytes), sent);
        assert.ok(out.every((s) => s.valid));
        assert.equal(r.xsk.pendingTx, 3);
        assert.equal(r.fk.complete(), 3);
        r.check(0, `round ${round} completed`);
        assert.equal(r.xsk.reclaim(), 3);
        assert.equal(r.xsk.pendingTx, 0);
        r.check(0, `round ${round} reclaimed`);
      }
      for (const [name, ring] of Object.entries(r.fk.rings)) {
        const prod = ring.u32[ring.prod]!;
        assert.ok(prod < 1000, `${name} producer wrapped (${prod})`);
        assert.equal((prod - ring.u32[ring.cons]!) >>> 0, name === "fill" ? 8 : 0, `${name} ring entries`);
      }
      assert.equal(r.xsk.readStats()["ipackets"], 90);
      r.done();
      assert.equal(r.mp.available(), 64);
      assertTrackerClean(r.mp);
    } finally {
      r.done();
    }
  });

  test("need_wakeup on: RX wakes only on an empty poll with the fill flag set; TX kicks only with the TX flag set", () => {
    const r = rig({ needWakeup: true });
    try {
      const bufs = new Uint32Array(32);
      r.fk.setNeedWakeup("fill", false);
      r.fk.setNeedWakeup("tx", false);
      r.xsk.rxBurst(bufs, 32);
      assert.equal(r.fk.rxWakeups, 0, "flag clear: no wakeup");
      r.fk.setNeedWakeup("fill", true);
      r.xsk.rxBurst(bufs, 32);
      assert.equal(r.fk.rxWakeups, 1, "empty poll with the flag set: one wakeup");
      r.fk.receive([frame(1)]);
      const n = r.xsk.rxBurst(bufs, 32);
      assert.equal(n, 1);
      assert.equal(r.fk.rxWakeups, 1, "a poll that found packets does not wake");

      assert.equal(r.xsk.txBurst(bufs, n), 1);
      assert.equal(r.fk.txKicks, 0, "TX flag clear: no kick");
      r.fk.transmit();
      r.fk.complete();
      r.fk.setNeedWakeup("tx", true);
      const m = r.mp.allocBulk(bufs, 2);
      for (let i = 0; i < m; i++) r.mp.mbufs.dataLen[bufs[i]!] = 60;
      assert.equal(r.xsk.txBurst(bufs, m), 2);
      assert.equal(r.fk.txKicks, 1, "TX flag set and frames posted: one kick");
      r.xsk.txBurst(bufs, 0);
      assert.equal(r.fk.txKicks, 2, "frames still on the ring with the flag set: kicked again");
      r.fk.transmit();
      r.fk.complete();
      r.xsk.txBurst(bufs, 0);
      assert.equal(r.fk.txKicks, 2, "the kernel took everything: no kick");
      r.check(0, "end");
      r.done();
      assertTrackerClean(r.mp);
    } finally {
      r.done();
    }
  });

  test("need_wakeup off: no RX wakeup; TX kicks whenever frames wait on the ring, whatever the flag", () => {
    const r = rig({ needWakeup: false });
    try {
      const bufs = new Uint32Array(32);
      r.fk.setNeedWakeup("fill", true);
      r.xsk.rxBurst(bufs, 32);
      assert.equal(r.fk.rxWakeups, 0);
      r.fk.setNeedWakeup("tx", false);
      const m = r.mp.allocBulk(bufs, 3);
      for (let i = 0; i < m; i++) r.mp.mbufs.dataLen[bufs[i]!] = 60;
      r.xsk.txBurst(bufs, m);
      assert.equal(r.fk.txKicks, 1);
      r.fk.transmit();
      r.xsk.txBurst(bufs, 0);
      assert.equal(r.fk.txKicks, 1, "TX ring empty: no kick");
      r.fk.complete();
      r.done();
      assertTrackerClean(r.mp);
    } finally {
      r.done();
    }
  });

  test("forceWakeup: RX wakes on every empty poll, TX kicks on every burst that posted frames", () => {
    const r = rig({ needWakeup: true, forceWakeup: true });
    try {
      const bufs = new Uint32Array(32);
      r.fk.setNeedWakeup("fill", false);
      r.fk.setNeedWakeup("tx", false);
      r.xsk.rxBurst(bufs, 32);
      r.xsk.rxBurst(bufs, 32);
      assert.equal(r.fk.rxWakeups, 2);
      for (let burst = 1; burst <= 3; burst++) {
        const m = r.mp.allocBulk(bufs, 2);
        for (let i = 0; i < m; i++) r.mp.mbufs.dataLen[bufs[i]!] = 60;
        assert.equal(r.xsk.txBurst(bufs, m), 2);
        assert.equal(r.fk.txKicks, burst, "a kick per burst although the TX flag is clear");
        r.fk.transmit();
        r.fk.complete();
      }
      r.xsk.txBurst(bufs, 0);
      assert.equal(r.fk.txKicks, 3, "nothing posted, flag clear: no kick");
      r.done();
      assertTrackerClean(r.mp);
    } finally {
      r.done();
    }
  });

  test("fill level and completions are exact at every step", () => {
    const r = rig({ fillSize: 64, fillLevel: 40, rxSize: 32, txSize: 32, compSize: 64 });
    try {
      const bufs = new Uint32Array(64);
      assert.equal(r.fk.fillCount(), 40);
      r.check(0, "created");
      assert.equal(r.fk.receive(Array.from({ length: 25 }, (_, i) => frame(i))), 25);
      assert.equal(r.fk.fillCount(), 15);
      r.check(0, "25 received");
      const n = r.xsk.rxBurst(bufs, 10);
      assert.equal(n, 10);
      assert.equal(r.fk.fillCount(), 40, "refilled to the level, also for the frames the kernel took before");
      r.check(10, "10 read");
      assert.equal(r.xsk.txBurst(bufs, n), 10);
      assert.equal(r.xsk.pendingTx, 10);
      r.check(0, "10 posted");
      r.fk.transmit(4);
      r.check(0, "4 taken by the kernel");
      assert.equal(r.fk.complete(), 4);
      assert.equal(r.fk.compCount(), 4);
      assert.equal(r.xsk.pendingTx, 10);
      assert.equal(r.xsk.rxBurst(bufs, 15), 15, "the 15 left");
      assert.equal(r.fk.compCount(), 4, "a burst that found packets does not reclaim");
      r.mp.freeBulk(bufs, 15);
      assert.equal(r.xsk.rxBurst(bufs, 15), 0);
      assert.equal(r.fk.compCount(), 0, "an empty poll reclaims");
      assert.equal(r.xsk.pendingTx, 6);
      r.check(0, "after reclaim");
      r.fk.transmit();
      r.fk.complete();
      assert.equal(r.xsk.service(), 6);
      assert.equal(r.xsk.pendingTx, 0);
      const st = r.xsk.readStats();
      assert.equal(st["tx_completed"], 10);
      assert.equal(st["opackets"], 10);
      r.check(0, "end");
      r.done();
      assertTrackerClean(r.mp);
    } finally {
      r.done();
    }
  });

  /** Frames in every ring at close: RX unread, TX unsent, TX taken and completed late, completions unread, fill. */
  async function closeEverywhere(debug: boolean): Promise<{ available: number; lost: number }> {
    const r = rig({ debug, frames: 256, fillSize: 32, fillLevel: 32, rxSize: 16, txSize: 16, compSize: 32 });
    try {
      const bufs = new Uint32Array(32);
      assert.equal(r.fk.receive(Array.from({ length: 10 }, (_, i) => frame(i))), 10);
      assert.equal(r.xsk.rxBurst(bufs, 4), 4);
      assert.equal(r.xsk.txBurst(bufs, 4), 4);
      r.fk.transmit(2);
      r.fk.complete(1);
      assert.deepEqual([r.fk.rxCount(), r.fk.txCount(), r.fk.compCount(), r.fk.held(), r.fk.fillCount()], [6, 2, 1, 1, 32]);
      r.check(0, "before close");
      const late = r.fk.completeLater(5);
      await late.ready;
      r.xsk.close();
      assert.equal(await late.done, 1);
      r.fk.close();
      if (debug) assertTrackerClean(r.mp);
      return { available: r.mp.available(), lost: r.xsk.framesLostAtClose };
    } finally {
      r.done();
    }
  }

  test("close returns every frame the kernel had, exactly once, with and without the frame tracker", async () => {
    const plain = await closeEverywhere(false);
    const tracked = await closeEverywhere(true);
    assert.deepEqual(plain, { available: 256, lost: 0 });
    assert.deepEqual(tracked, plain);
  });

  test("with the tracker, close also takes back frames the kernel kept off the rings", () => {
    const r = rig({ debug: true });
    try {
      r.fk.takeFill(5);
      const bufs = new Uint32Array(4);
      const m = r.mp.allocBulk(bufs, 3);
      for (let i = 0; i < m; i++) r.mp.mbufs.dataLen[bufs[i]!] = 60;
      r.xsk.txBurst(bufs, m);
      r.fk.transmit();
      r.check(0, "before close");
      r.xsk.close();
      assert.equal(r.xsk.framesLostAtClose, 0);
      assert.equal(r.mp.available(), 256);
      assertTrackerClean(r.mp);
      r.fk.close();
    } finally {
      r.done();
    }
  });

  test("a frame the kernel never had is reported (badKernelReturns) and kept out of the pool", () => {
    const r = rig({ debug: true });
    try {
      const free = r.mp.alloc();
      r.mp.free(free);
      const before = r.mp.available();
      assert.ok(r.fk.postCompletion(free * r.umem.frameSize));
      assert.equal(r.xsk.reclaim(), 1);
      assert.equal(r.mp.tracker!.badKernelReturns, 1);
      assert.deepEqual(r.mp.tracker!.sampleHandles(), [free]);
      assert.equal(r.mp.available(), before, "not freed a second time");
      assert.equal(r.mp.tracker!.doubleFrees, 0);
      r.done();
      assert.equal(r.mp.available(), 256);
    } finally {
      r.done();
    }
  });

  test("one owner per ring: a second object cannot claim the rings until the first releases them", () => {
    const r = rig({ debug: true });
    try {
      const bufs = new Uint32Array(32);
      assert.throws(() => XskSocket.fromShared(r.xsk.toShared(), r.mp),
        /^Error: xsk fake\S*: its rings are already driven by another object \(thread \d+\); one owner per ring/);
      assert.equal(r.xsk.drivesRings, true);
      r.xsk.release();
      assert.equal(r.xsk.drivesRings, false);
      const w = XskSocket.fromShared(r.xsk.toShared(), r.mp);
      assert.equal(w.drivesRings, true);
      assert.throws(() => r.xsk.claim(), /already driven by another object/);
      assert.throws(() => XskSocket.fromShared(r.xsk.toShared(), r.mp), /one owner per ring/);
      r.fk.receive([frame(1), frame(2)]);
      assert.equal(w.rxBurst(bufs, 1), 1);
      r.mp.freeBulk(bufs, 1);
      w.close();
      assert.equal(w.drivesRings, false);
      r.xsk.claim();
      assert.equal(r.xsk.rxBurst(bufs, 32), 1, "the creator goes on where the other object stopped");
      assert.deepEqual(r.umem.u8.slice(bufs[0]! * 2048 + 256, bufs[0]! * 2048 + 316), frame(2));
      r.mp.freeBulk(bufs, 1);
      r.check(0, "end");
      r.done();
      assert.throws(() => XskSocket.fromShared(r.xsk.toShared(), r.mp), /xsk fake\S*: the socket is closed/);
      assert.equal(r.mp.available(), 256);
      assertTrackerClean(r.mp);
    } finally {
      r.done();
    }
  });

  test("the creator's close takes the data path back from an object that still holds it", () => {
    const r = rig({ debug: true });
    try {
      r.xsk.release();
      const w = XskSocket.fromShared(r.xsk.toShared(), r.mp);
      r.fk.receive([frame(1)]);
      r.xsk.close();
      assert.equal(r.mp.available(), 256);
      assertTrackerClean(r.mp);
      w.close();
      r.fk.close();
    } finally {
      r.done();
    }
  });

  test("frames the kernel would reject are not posted: freed, counted in tx_invalid; the caller keeps the rest", () => {
    const r = rig({ debug: true, txSize: 4 });
    try {
      const bufs = new Uint32Array(8);
      assert.equal(r.mp.allocBulk(bufs, 8), 8);
      const lens = [60, 0, 60, 2048 - 256 + 1, 1792, 60, 60, 60];
      lens.forEach((l, i) => (r.mp.mbufs.dataLen[bufs[i]!] = l));
      const h = Array.from(bufs);
      const k = r.xsk.txBurst(bufs, 8);
      // 4 ring slots: 60, (0 dropped), 60, (1793 dropped), 1792, 60 -> 6 taken, 2 left to the caller.
      assert.equal(k, 6);
      const out = r.fk.transmit();
      assert.deepEqual(out.map((s) => [s.addr, s.len]), [[h[0]! * 2048 + 256, 60], [h[2]! * 2048 + 256, 60], [h[4]! * 2048 + 256, 1792], [h[5]! * 2048 + 256, 60]]);
      assert.ok(out.every((s) => s.valid));
      const st = r.xsk.readStats();
      assert.equal(st["tx_invalid"], 2);
      assert.equal(st["opackets"], 4);
      assert.equal(st["odropped"], 2);
      r.check(2, "two frames still the caller's");
      r.mp.freeBulk(bufs, 2, 6);
      r.fk.complete();
      r.done();
      assert.equal(r.mp.available(), 256);
      assertTrackerClean(r.mp);
    } finally {
      r.done();
    }
  });

  test("handles at and above 2^20 (UMEM beyond 2 GiB): fill and TX addresses are unsigned 32-bit", () => {
    const frames = 2 ** 20 + 64;
    const len = frames * 2048;
    const buf = sys.mmap(-1, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, 0);
    assert.ok(typeof buf !== "number", `mmap of ${len} bytes without reserve: ${String(buf)}`);
    const umem = Umem.fromShared({ buf: buf as SharedArrayBuffer, frames, frameSize: 2048, name: "sparse", mtype: "4KB" });
    let fk: FakeKernel | null = null;
    try {
      const first = 2 ** 20 - 16;
      const mp = Mempool.create({ umem, first, count: 64, debug: true, mbufs: MbufTable.create(frames) });
      fk = FakeKernel.create({ mempool: mp, fillLevel: 32, fillSize: 64 });
      const f = fk.rings.fill;
      const fillAddrs: number[] = [];
      for (let i = 0; i < 32; i++) {
        const d = f.desc + (((f.u32[f.cons]! + i) & f.mask) << 1);
        assert.equal(f.u32[d + 1], 0, "high word");
        fillAddrs.push(f.u32[d]!);
      }
      assert.ok(fillAddrs.every((a) => a % 2048 === 0 && a / 2048 >= first && a / 2048 < first + 64));
      assert.ok(fillAddrs.some((a) => a >= 2 ** 31), "addresses beyond 2 GiB");
      const sent = Array.from({ length: 32 }, (_, i) => frame(i));
      assert.equal(fk.receive(sent), 32);
      const bufs = new Uint32Array(32);
      assert.equal(fk.xsk.rxBurst(bufs, 32), 32);
      for (let i = 0; i < 32; i++) {
        assert.equal(bufs[i]! * 2048, fillAddrs[i]);
        const at = bufs[i]! * 2048 + 256;
        assert.deepEqual(umem.u8.slice(at, at + 60), sent[i]);
      }
      assert.equal(fk.xsk.txBurst(bufs, 32), 32);
      const out = fk.transmit();
      assert.deepEqual(out.map((s) => s.addr), fillAddrs.map((a) => a + 256));
      assert.deepEqual(out.map((s) => s.bytes), sent);
      fk.complete();
      fk.xsk.close();
      assert.equal(mp.available(), 64);
      assertTrackerClean(mp);
    } finally {
      if (fk && !fk.xsk.isClosed) fk.xsk.close();
      fk?.close();
      sys.munmap(new Uint8Array(buf as SharedArrayBuffer));
    }
  });
});

/**
 * Multi-buffer ring paths allocate nothing: RX assembly of descriptor chains, TX of chains, completions
 * one segment at a time, over fake rings whose kernel side the test plays with ring words (no
 * allocation on that side either). In a file of its own: a fresh process, whose JIT saw only this
 * configuration, as a forwarder's worker thread does (socket-chains.test.ts runs tracker on and off).
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { MbufChain } from "../mem/chain.js";
import { FakeKernel } from "../testing/fake-xsk.js";
import { gcsDuring } from "../testing/gc-probe.js";
import { XDP_PKT_CONTD } from "./if-xdp.js";

function rig(o: { frames: number; rxSize: number; txSize: number; fillSize: number; compSize: number; fillLevel: number }) {
  const umem = Umem.create({ frames: o.frames });
  const mp = Mempool.create({ umem });
  const { frames: _f, ...fo } = o;
  const fk = FakeKernel.create({ mempool: mp, multiBuffer: true, ...fo });
  const pm = new MbufChain(mp);
  return {
    mp, fk, pm, xsk: fk.xsk,
    done() {
      if (!fk.xsk.isClosed) fk.xsk.close();
      fk.close();
      umem.close();
    },
  };
}

describe("xsk socket, multi-buffer chains: no allocation", () => {
  test("RX assembly, TX of chains and completions allocate nothing (100k rounds, the kernel's side played with ring words)", async () => {
    const r = rig({ rxSize: 64, txSize: 64, fillSize: 128, compSize: 128, fillLevel: 64, frames: 512 });
    try {
      const { rx, tx, fill, comp } = r.fk.rings;
      const bufs = new Uint32Array(16);
      // The kernel: each round, one 3-descriptor packet from the fill ring, then every TX descriptor completed.
      const kernel = (): void => {
        let fc = Atomics.load(fill.u32, fill.cons);
        let rp = Atomics.load(rx.u32, rx.prod);
        for (let k = 0; k < 3; k++) {
          const addr = fill.u32[fill.desc + ((fc & fill.mask) << 1)]!;
          fc = (fc + 1) >>> 0;
          const d = rx.desc + ((rp & rx.mask) << 2);
          rx.u32[d] = addr + 256;
          rx.u32[d + 1] = 0;
          rx.u32[d + 2] = k < 2 ? 1792 : 100;
          rx.u32[d + 3] = k < 2 ? XDP_PKT_CONTD : 0;
          rp = (rp + 1) >>> 0;
        }
        Atomics.store(fill.u32, fill.cons, fc);
        Atomics.store(rx.u32, rx.prod, rp);
        let tc = Atomics.load(tx.u32, tx.cons);
        const tp = Atomics.load(tx.u32, tx.prod);
        let cp = Atomics.load(comp.u32, comp.prod);
        while (tc !== tp) {
          const d = tx.desc + ((tc & tx.mask) << 2);
          const c = comp.desc + ((cp & comp.mask) << 1);
          comp.u32[c] = tx.u32[d]!;
          comp.u32[c + 1] = 0;
          tc = (tc + 1) >>> 0;
          cp = (cp + 1) >>> 0;
        }
        Atomics.store(tx.u32, tx.cons, tc);
        Atomics.store(comp.u32, comp.prod, cp);
      };
      let sink = 0;
      const round = (): void => {
        kernel();
        const n = r.xsk.rxBurst(bufs, 16);
        sink = (sink + n + r.pm.pktLen(bufs[0]!)) | 0;
        const k = r.xsk.txBurst(bufs, n);
        if (k < n) r.mp.freeBulk(bufs, n - k, k);
      };
      // No kicks or wakeups: this kernel needs none (system calls are not what is measured here).
      r.fk.setNeedWakeup("tx", false);
      r.fk.setNeedWakeup("fill", false);
      const rounds = (k: number) => { for (let i = 0; i < k; i++) round(); };
      rounds(50_000); // warm up (JIT)
      rounds(50_000);
      let growth = 0;
      const gcs = await gcsDuring(() => {
        const h0 = process.memoryUsage().heapUsed;
        rounds(100_000);
        growth = process.memoryUsage().heapUsed - h0;
      });
      assert.equal(gcs, 0, `garbage collections (sink ${sink})`);
      assert.ok(growth < 1024 * 1024, `the heap grew by ${growth} bytes`);
      assert.equal(r.xsk.readStats()["ipackets"], 200_000);
      assert.equal(sink, (200_000 * (1 + 3684)) | 0, "every packet a 3-segment chain of 3684 bytes");
      r.xsk.reclaim();
      r.done();
      assert.equal(r.mp.available(), 512);
    } finally {
      r.done();
    }
  });
});

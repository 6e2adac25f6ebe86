/**
 * fwd mode with several worker threads over fake AF_XDP rings, without root: a fake wire thread plays the
 * kernel (like veths in copy mode), the test thread drives each port's peer socket, and the forwarder's
 * own loop runs in real worker threads that claim their ports' rings. Every frame reaches the peer its
 * destination MAC names, byte for byte; at the end every frame is back in the pool, with 0 double frees,
 * 0 bad allocs and 0 bad kernel returns. Runs in every `npm test`, root or not.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "../../mem/umem.js";
import { Mempool } from "../../mem/mempool.js";
import { countStates } from "../../mem/tracker.js";
import { Ring } from "../../ring/ring.js";
import { newPortState } from "../../pktdev/lport.js";
import type { AfXdpShared } from "../../pktdev/af-xdp.js";
import { startThreads, stopThreads } from "../../runtime/threads.js";
import { FakeKernel, startFakeWire } from "../../testing/fake-xsk.js";
import { udpFrame } from "../../wire/udp-frame.js";
import { M_FWD } from "./modes.js";
import type { FwdThreadData } from "./loop.js";

const mac = (j: number) => `02:00:00:00:00:0${j}`;

for (const [nports, nthreads, tracker] of [[2, 2, true], [3, 3, true], [3, 2, true], [3, 3, false]] as const) {
  test(`fwd over fake rings: ${nports} ports, ${nthreads} threads${tracker ? "" : ", no tracker"}: every frame delivered, every frame back in the pool`, async () => {
    const umem = Umem.create({ frames: 8192 });
    const mp = Mempool.create({ umem, cacheSize: 64, debug: tracker });
    // Ports 0..n-1 are the forwarder's; n..2n-1 their peers (the test's side of each wire).
    const fks: FakeKernel[] = [];
    let wire: ReturnType<typeof startFakeWire> | null = null;
    let threads: Awaited<ReturnType<typeof startThreads>> = [];
    try {
      for (let i = 0; i < 2 * nports; i++) fks.push(FakeKernel.create({ mempool: mp, rxSize: 256, txSize: 256, fillSize: 512, compSize: 512, fillLevel: 256, name: `f${i}`, portId: i }));
      const wiring = fks.map((_, i) => (i < nports ? i + nports : i - nports));
      wire = startFakeWire(fks.map((f) => f.toShared()), wiring);
      await wire.ready;
      const shared: AfXdpShared[] = fks.slice(0, nports).map((f, i) => {
        const st = newPortState();
        return {
          driver: "net_af_xdp", name: `f${i}`, pid: i, mac: mac(i), stats: f.xsk.stats.buffer as SharedArrayBuffer, admin: st.admin,
          xsk: f.xsk.toShared(), mempool: mp.toShared(), ifname: `f${i}`, qid: 0, skbMode: false, unprivileged: true,
        };
      });
      const inboxes = shared.map((s) => Ring.create({ size: 1024, multiProducer: true, name: `${s.name}-inbox` }));
      const threadOf = (p: number) => p % nthreads;
      const specs = [];
      for (let t = 0; t < nthreads; t++) {
        const mine = shared.filter((_, p) => threadOf(p) === t);
        const data: FwdThreadData = {
          name: `fwd:${t}`, mode: M_FWD, burst: 32, ports: mine,
          dests: shared.map((s, p) => (threadOf(p) === t ? { local: mine.indexOf(s), inbox: null } : { local: -1, inbox: inboxes[p]!.toShared() })),
          inboxes: mine.map((s) => inboxes[shared.indexOf(s)]!.toShared()),
          idleTimeoutMs: 0, intrTimeoutMs: 0, template: null, pktSize: 64,
        };
        specs.push({ name: `fwd:${t}`, cpus: [], module: new URL("./loop.js", import.meta.url).href, data });
      }
      // One owner per ring: the forwarder's sockets go to the workers.
      for (const f of fks.slice(0, nports)) f.xsk.release();
      threads = await startThreads(specs);

      // The test drives the peers: each sends frames for every port; frames come out at the peer of the
      // port their MAC names.
      const perPair = 2000;
      const peers = fks.slice(nports).map((f) => f.xsk);
      const sent = peers.map(() => peers.map(() => 0));
      const got = peers.map(() => peers.map(() => 0));
      const b = new Uint32Array(32);
      const total = perPair * nports * nports;
      let received = 0;
      let inflight = 0;
      const t0 = Date.now();
      while (received < total && Date.now() - t0 < 30000) {
        for (let i = 0; i < nports && inflight < 128; i++) {
          let n = 0;
          for (let j = 0; j < nports && n < 32; j++) {
            if (sent[i]![j]! >= perPair) continue;
            const h = mp.alloc();
            if (h < 0) break;
            const f = udpFrame({ dst: mac(j), src: mac(8), srcIp: "10.0.0.1", dstIp: "10.0.0.2", seq: (i << 28) | (j << 24) | sent[i]![j]!, size: 60 + (sent[i]![j]! % 5) * 100 });
            umem.u8.set(f, h * 2048 + mp.mbufs.dataOff[h]!);
            mp.mbufs.dataLen[h] = f.length;
            b[n++] = h;
            sent[i]![j]!++;
          }
          const k = peers[i]!.txBurst(b, n);
          if (k < n) {
            mp.freeBulk(b, n - k, k);
            for (let x = k; x < n; x++) {
              const tag = new DataView(umem.u8.buffer, b[x]! * 2048 + mp.mbufs.dataOff[b[x]!]!).getUint32(42);
              sent[i]![(tag >>> 24) & 15]!--;
            }
          }
          inflight += k;
        }
        for (let j = 0; j < nports; j++) {
          const n = peers[j]!.rxBurst(b, 32);
          for (let x = 0; x < n; x++) {
            const h = b[x]!;
            const o = h * 2048 + mp.mbufs.dataOff[h]!;
            const bytes = umem.u8.subarray(o, o + mp.mbufs.dataLen[h]!);
            const tag = new DataView(umem.u8.buffer, o).getUint32(42);
            const src = tag >>> 28, dst = (tag >>> 24) & 15, seq = tag & 0xffffff;
            assert.equal(dst, j, "the frame came out at the peer of the port its MAC names");
            const want = udpFrame({ dst: mac(j), src: mac(8), srcIp: "10.0.0.1", dstIp: "10.0.0.2", seq: tag, size: 60 + (seq % 5) * 100 });
            assert.deepEqual(bytes, want, `frame ${src}->${dst} #${seq} unchanged`);
            got[src]![dst]!++;
          }
          mp.freeBulk(b, n);
          received += n;
          inflight -= n;
        }
        if (Date.now() - t0 > 100 && received === 0) await new Promise((r) => setTimeout(r, 1));
      }
      assert.deepEqual(got, sent, `every frame sent was delivered to the right peer (wire ${JSON.stringify(wire.counts())}, threads rx/tx/drop/handoff ${JSON.stringify(threads.map((t) => [3, 4, 5, 6].map((k) => t.control.counters[k])))})`);
      assert.equal(received, total);
      const counts = threads.map((t) => t.control.counters);
      assert.deepEqual(await stopThreads(threads), [], "no thread failed");
      threads = [];
      const w = await wire.stop();
      wire = null;
      assert.equal(w.droppedNoFill + w.droppedRxFull + w.droppedTooLong + w.txInvalid + w.sunk, 0, "the wire dropped nothing");
      const sum = (k: number) => counts.reduce((a, c) => a + c[k]!, 0);
      assert.equal(sum(3), total, "the threads received every frame");
      assert.equal(sum(4), total, "and sent every one");
      assert.equal(sum(5), 0, "dropping none");
      let crossing = 0;
      for (let i = 0; i < nports; i++) for (let j = 0; j < nports; j++) if (threadOf(i) !== threadOf(j)) crossing += sent[i]![j]!;
      assert.equal(sum(6), crossing, "frames for another thread's port crossed through its inbox");
      for (const r of inboxes) assert.equal(r.count(), 0, "inboxes drained");
    } finally {
      await stopThreads(threads);
      await wire?.stop();
      for (const f of fks) {
        f.xsk.close();
        f.close();
      }
    }
    mp.flushCache();
    assert.equal(mp.available(), 8192, "every frame back in the pool");
    assert.equal(mp.overflows, 0);
    if (tracker) {
      assert.equal(mp.tracker!.doubleFrees, 0, "no double free");
      assert.equal(mp.tracker!.badAllocs, 0, "no bad alloc");
      assert.equal(mp.tracker!.badKernelReturns, 0, "no bad kernel return");
      assert.deepEqual(countStates(mp.mbufs.owner), { free: 8192, app: 0, kernel: 0 });
    }
    umem.close();
  });
}

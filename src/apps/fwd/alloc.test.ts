/**
 * The hot path allocates nothing per packet: the data-path calls (mempool allocBulk/freeBulk, ring
 * bursts, port rxBurst/txBurst, and every forwarder mode's loop) run a million times with no garbage
 * collection and no heap growth. Not a timing: GCs are counted (perf_hooks 'gc' entries after a forced
 * full collection) and heap bytes compared. The first test proves the probe fails on code that allocates.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "../../mem/umem.js";
import { Mempool } from "../../mem/mempool.js";
import { Ring } from "../../ring/ring.js";
import { NullPort } from "../../pktdev/null.js";
import { RingPort } from "../../pktdev/ring-port.js";
import { ThreadControl } from "../../runtime/control.js";
import { forward, type FwdThreadData } from "./loop.js";
import { M_DROP, M_LB, M_TXONLY, M_TXONLY_RX, M_FWD, M_L3FWD, M_ACL_STRICT, M_ACL_PERMISSIVE, txTemplate } from "./modes.js";
import { udpFrame, ipv4Checksum } from "../../wire/udp-frame.js";
import { Qsbr } from "../../lookup/qsbr.js";
import { SharedSlot } from "../../lookup/shared-slot.js";
import { parseFibRule } from "../../lookup/fib/rules.js";
import { L3fwdRoutes } from "./routes.js";
import { AclRuleTable } from "./acl-rules.js";
import { NH_MAC_STRIDE } from "./next-hops.js";
import { MC_WORDS, MC_L3_FORWARDED, MC_L3_NO_ROUTE, MC_ACL_PERMIT, MC_ACL_DENY } from "./mode-counters.js";
import { gc, gcsDuring } from "../../testing/gc-probe.js";
import { FakeKernel, startFakeWire } from "../../testing/fake-xsk.js";

const N = 1_000_000;

/** GCs and heap growth (bytes) while `fn` runs, after warm-up calls that let the JIT settle. */
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

/**
 * No GC, and the heap grew by less than 1 MB over a million iterations. The smallest heap object is 16
 * bytes, so one allocation per iteration would grow the heap by 16 MB and force scavenges (the young
 * generation starts at 1 MB after the forced full GC); the bound leaves room only for code the JIT
 * compiles on the way (a few hundred KB when a shared loop meets a new mode).
 */
async function assertNoAlloc(what: string, fn: () => void): Promise<void> {
  let r = await probe(fn);
  assert.ok(r.growth < 1024 * 1024, `${what}: the heap grew by ${r.growth} bytes`);
  // A scavenge now and then comes from the JIT (code for a loop shared with other modes, compiled or
  // re-optimised late: about 1 run in 10 in CI), not from the loop: a loop that allocates per iteration
  // grows the heap by 16 MB a run and collects every time. So one more million, and that one must be clean.
  if (r.gcs !== 0) r = await probe(fn);
  assert.equal(r.gcs, 0, `${what}: ${r.gcs} garbage collections (it allocates)`);
  assert.ok(r.growth < 1024 * 1024, `${what}: the heap grew by ${r.growth} bytes`);
}

function fwdData(mode: number, burst: number, maxLoops: number, ports: { toShared(): unknown }[], extra: Partial<FwdThreadData> = {}): FwdThreadData {
  return {
    name: "t", mode, burst, ports: [], dests: [], inboxes: ports.map(() => null), idleTimeoutMs: 0, intrTimeoutMs: 0,
    template: mode === M_TXONLY || mode === M_TXONLY_RX ? txTemplate({ size: 64 }) : null, pktSize: 64, maxLoops, ...extra,
  };
}

describe("the hot path allocates nothing", () => {
  test("the probe catches an allocating loop (it can fail)", async () => {
    const keep: object[] = [];
    const r = await probe(() => {
      for (let i = 0; i < N; i++) {
        keep.push({ i });
        if (keep.length > 1000) keep.length = 0;
      }
    });
    assert.ok(r.gcs > 0, `an object per iteration caused ${r.gcs} GCs`);
    const r2 = await probe(() => {
      let t = 0;
      for (let i = 0; i < N / 10; i++) t += performance.now();
      if (t < 0) throw new Error("unreachable");
    });
    assert.ok(r2.gcs > 0 || r2.growth > 1024 * 1024, `performance.now() in a loop: ${r2.gcs} GCs, ${r2.growth} bytes`);
  });

  test("mempool allocBulk/freeBulk (cached and uncached) and ring bursts, a million times each", async () => {
    const u = Umem.create({ frames: 4096 });
    try {
      for (const cacheSize of [256, 0]) {
        const mp = Mempool.create({ umem: u, cacheSize });
        const b = new Uint32Array(64);
        await assertNoAlloc(`mempool cache ${cacheSize}`, () => {
          for (let i = 0; i < N; i++) {
            const n = mp.allocBulk(b, 1 + (i & 63));
            mp.freeBulk(b, n);
          }
        });
        mp.flushCache();
        assert.equal(mp.available(), 4096);
      }
      for (const multi of [false, true]) {
        const r = Ring.create({ size: 1024, multiProducer: multi, multiConsumer: multi });
        const b = new Uint32Array(64);
        await assertNoAlloc(`ring (${multi ? "MP/MC" : "SP/SC"})`, () => {
          for (let i = 0; i < N; i++) {
            const n = r.enqueueBurst(b, 1 + (i & 63));
            r.dequeueBurst(b, n);
          }
        });
      }
    } finally {
      u.close();
    }
  });

  test("null and ring ports: rxBurst/txBurst a million times", async () => {
    const u = Umem.create({ frames: 4096 });
    try {
      const mp = Mempool.create({ umem: u, cacheSize: 256 });
      const np = NullPort.create({ name: "null0", pid: 0, mempool: mp });
      const [ra, rb] = RingPort.pair({ names: ["ra", "rb"], pids: [0, 1], mbufs: mp.mbufs });
      const b = new Uint32Array(32);
      await assertNoAlloc("null port", () => {
        for (let i = 0; i < N; i++) np.txBurst(b, np.rxBurst(b, 32));
      });
      await assertNoAlloc("ring ports", () => {
        const n = mp.allocBulk(b, 32);
        for (let i = 0; i < N; i++) {
          ra!.txBurst(b, n);
          rb!.rxBurst(b, 32);
        }
        mp.freeBulk(b, n);
      });
      np.close();
      assert.equal(mp.available(), 4096);
    } finally {
      u.close();
    }
  });

  test("AF_XDP socket rxBurst/txBurst a million times (fake rings; a fake wire thread plays the kernel)", async () => {
    const u = Umem.create({ frames: 4096 });
    const mp = Mempool.create({ umem: u, cacheSize: 256 });
    const fk = FakeKernel.create({ mempool: mp, rxSize: 256, txSize: 256, fillSize: 512, compSize: 512, name: "alloc0" });
    // The socket's TX comes back on its own RX: frames circulate while this thread only bursts.
    const wire = startFakeWire([fk.toShared()], [0]);
    try {
      await wire.ready;
      const xsk = fk.xsk;
      const b = new Uint32Array(32);
      const n0 = mp.allocBulk(b, 32);
      for (let i = 0; i < n0; i++) mp.mbufs.dataLen[b[i]!] = 64;
      assert.equal(xsk.txBurst(b, n0), 32);
      await assertNoAlloc("xsk rx/tx bursts", () => {
        for (let i = 0; i < N; i++) {
          const n = xsk.rxBurst(b, 32);
          const k = xsk.txBurst(b, n);
          if (k < n) mp.freeBulk(b, n - k, k);
        }
      });
      assert.ok(xsk.stats[0]! > 1000, `frames circulated (${xsk.stats[0]} received)`);
      await wire.stop();
      fk.xsk.close();
      mp.flushCache();
      assert.equal(mp.available(), 4096, "close returned every frame");
    } finally {
      await wire.stop();
      fk.xsk.close();
      fk.close();
      u.close();
    }
  });

  for (const [name, mode] of [["drop", M_DROP], ["lb", M_LB], ["tx-only", M_TXONLY], ["tx-only-rx", M_TXONLY_RX], ["fwd", M_FWD]] as const) {
    test(`the forwarder's loop in ${name} mode: a million loops over null ports`, async () => {
      const u = Umem.create({ frames: 4096 });
      try {
        const mp = Mempool.create({ umem: u, cacheSize: 256 });
        const p0 = NullPort.create({ name: "n0", pid: 0, mempool: mp });
        const p1 = NullPort.create({ name: "n1", pid: 1, mempool: mp });
        const ports = [p0, p1];
        const ctl = new ThreadControl();
        const extra: Partial<FwdThreadData> = mode === M_FWD ? { dests: [{ local: 0, inbox: null }, { local: 1, inbox: null }] } : {};
        await assertNoAlloc(`fwd ${name}`, () => forward(fwdData(mode, 8, N, ports, extra), ctl, ports, mp, null));
        assert.equal(ctl.counters[0], N, "the loop ran to maxLoops");
        p0.close();
        p1.close();
        assert.equal(mp.available(), 4096, "every frame back");
      } finally {
        u.close();
      }
    });
  }

  /** Every frame of the UMEM holds a 64-byte UDP/IPv4 frame to 10.(h % 3).0.1 with TTL 255 (at offset 256). */
  function ipv4Frames(u: Umem): void {
    for (let h = 0; h < u.frames; h++) {
      const f = udpFrame({ dst: `02:00:00:00:00:0${h % 4}`, src: "02:00:00:00:00:aa", srcIp: `10.9.${h % 5}.1`, dstIp: `10.${h % 3}.0.1`, ttl: 255, seq: h, size: 64 });
      u.u8.set(f, h * u.frameSize + 256);
    }
  }
  /** Puts TTL 255 (and the checksum) back in every frame: l3fwd decrements it on every pass. */
  function resetTtl(u: Umem): void {
    for (let h = 0; h < u.frames; h++) {
      const o = h * u.frameSize + 256 + 14;
      u.u8[o + 8] = 255;
      u.u8[o + 10] = 0;
      u.u8[o + 11] = 0;
      const c = ipv4Checksum(u.u8, o);
      u.u8[o + 10] = c >>> 8;
      u.u8[o + 11] = c & 255;
    }
  }

  test("the forwarder's loop in l3fwd mode: a million loops over null ports (bulk FIB lookups, rewrites, QSBR quiescent states)", async () => {
    // Every pass through l3fwd costs a frame one TTL: 32768 frames cycled in order (no mempool cache) at 8
    // a loop come round every 4096 loops, so TTL 255 lasts past a million loops (put back before each run).
    const u = Umem.create({ frames: 32768 });
    try {
      ipv4Frames(u);
      const mp = Mempool.create({ umem: u, cacheSize: 0 });
      const p0 = NullPort.create({ name: "n0", pid: 0, mempool: mp });
      const p1 = NullPort.create({ name: "n1", pid: 1, mempool: mp });
      const ports = [p0, p1];
      const qsbr = Qsbr.create(1);
      const routes = L3fwdRoutes.create({ ports: 2, qsbr });
      routes.add(parseFibRule("10.0.0.0/16,02:00:00:00:01:00,0"));
      routes.add(parseFibRule("10.1.0.0/16,02:00:00:00:01:01,1"));
      const macs = new Uint8Array(new SharedArrayBuffer(2 * NH_MAC_STRIDE));
      const mc = new Float64Array(new SharedArrayBuffer(2 * MC_WORDS * 8));
      const ctl = new ThreadControl();
      const data = fwdData(M_L3FWD, 4, N, ports, {
        dests: [{ local: 0, inbox: null }, { local: 1, inbox: null }], modeCounters: mc.buffer as SharedArrayBuffer,
        l3fwd: { routes: routes.shared(), portMacs: macs.buffer as SharedArrayBuffer, qsbr: qsbr.shared(), qsbrSlot: 0 },
      });
      await assertNoAlloc("fwd l3fwd", () => {
        resetTtl(u);
        mc.fill(0);
        forward(data, ctl, ports, mp, null);
      });
      assert.equal(ctl.counters[0], N, "the loop ran to maxLoops");
      const fwd = mc[MC_L3_FORWARDED]! + mc[MC_WORDS + MC_L3_FORWARDED]!;
      const unrouted = mc[MC_L3_NO_ROUTE]! + mc[MC_WORDS + MC_L3_NO_ROUTE]!;
      assert.equal(fwd + unrouted, 8 * N, "every frame routed or unrouted (none expired)");
      assert.ok(Math.abs(fwd / unrouted - 2) < 0.01, `two routed frames for each unrouted one (${fwd} routed, ${unrouted} unrouted)`);
      p0.close();
      p1.close();
      assert.equal(mp.available(), 32768, "every frame back");
    } finally {
      u.close();
    }
  });

  for (const mode of [M_ACL_STRICT, M_ACL_PERMISSIVE]) {
    test(`the forwarder's loop in ${mode === M_ACL_STRICT ? "acl-strict" : "acl-permissive"} mode: a million loops over null ports (bulk classify, the ACL slot polled every loop)`, async () => {
      const u = Umem.create({ frames: 4096 });
      const t = new AclRuleTable();
      t.add("10.9.0.0/24:0.0.0.0/0:deny");
      t.add("0.0.0.0/0:10.1.0.0/16:allow");
      t.add("10.9.1.0/24:10.2.0.0/16:allow");
      const slot = SharedSlot.create(t.build().shared());
      try {
        ipv4Frames(u);
        const mp = Mempool.create({ umem: u, cacheSize: 256 });
        const p0 = NullPort.create({ name: "n0", pid: 0, mempool: mp });
        const p1 = NullPort.create({ name: "n1", pid: 1, mempool: mp });
        const ports = [p0, p1];
        const mc = new Float64Array(new SharedArrayBuffer(2 * MC_WORDS * 8));
        const ctl = new ThreadControl();
        const data = fwdData(mode, 8, N, ports, {
          dests: [{ local: 0, inbox: null }, { local: 1, inbox: null }], modeCounters: mc.buffer as SharedArrayBuffer,
          acl: { slot: slot.shared(), permissive: mode === M_ACL_PERMISSIVE },
        });
        await assertNoAlloc("fwd acl", () => forward(data, ctl, ports, mp, null));
        assert.equal(ctl.counters[0], N, "the loop ran to maxLoops");
        const permit = mc[MC_ACL_PERMIT]! + mc[MC_WORDS + MC_ACL_PERMIT]!;
        const deny = mc[MC_ACL_DENY]! + mc[MC_WORDS + MC_ACL_DENY]!;
        assert.ok(permit > 0 && deny > 0, `both verdicts (${permit} permitted, ${deny} denied)`);
        p0.close();
        p1.close();
        assert.equal(mp.available(), 4096, "every frame back");
      } finally {
        slot.close();
        u.close();
      }
    });
  }

  test("fwd mode across threads: handing frames over through an inbox and draining it", async () => {
    const u = Umem.create({ frames: 4096 });
    try {
      const mp = Mempool.create({ umem: u, cacheSize: 256 });
      const p0 = NullPort.create({ name: "n0", pid: 0, mempool: mp });
      const p1 = NullPort.create({ name: "n1", pid: 1, mempool: mp });
      const inbox = Ring.create({ size: 1024, multiProducer: true });
      // Thread A serves port 0 and sends every frame (null frames are zeroed: MAC octet 0... set port 1
      // below) to port 1, which thread B serves: A hands over, B drains. Run alternately in this thread.
      const a = fwdData(M_FWD, 8, 1, [p0], { dests: [{ local: 0, inbox: null }, { local: -1, inbox: inbox.toShared() }], inboxes: [null] });
      const b = fwdData(M_FWD, 8, 1, [p1], { dests: [{ local: -1, inbox: null }, { local: 0, inbox: null }], inboxes: [inbox.toShared()] });
      // Null ports do not write packet bytes: mark every frame's destination MAC octet as port 1 once.
      for (let h = 0; h < 4096; h++) u.u8[h * 2048 + 256 + 5] = 1;
      const ca = new ThreadControl();
      const cb = new ThreadControl();
      await assertNoAlloc("fwd inbox", () => {
        a.maxLoops = N / 4;
        b.maxLoops = N / 4;
        forward(a, ca, [p0], mp, null);
        forward(b, cb, [p1], mp, null);
      });
      assert.ok(ca.counters[6]! > 0, "frames were handed over");
      // B sends what it receives on its own (null) port and what it drains from the inbox.
      const drained = cb.counters[4]! + cb.counters[5]! - cb.counters[3]!;
      assert.ok(drained > 0, "B drained its inbox");
      assert.equal(ca.counters[6]! - drained, inbox.count(), "what B did not send or drop is still in its inbox");
    } finally {
      u.close();
    }
  });
});

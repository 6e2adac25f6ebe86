/**
 * The RX/TX thread's loop allocates nothing: the AF_XDP engine's loop (worker.ts `loop`, as the thread
 * runs it) sends and receives latency-tagged, paced frames through a port that loops back to itself for
 * a hundred thousand iterations with no garbage collection and nothing allocated. Not a timing: GCs
 * are counted (perf_hooks 'gc' entries after a forced full collection) and the young generation's bytes
 * compared. The same loop reading its time with performance.now() is shown to collect: the probe can fail.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import { Umem } from "../../mem/umem.js";
import { Mempool } from "../../mem/mempool.js";
import { Ring } from "../../ring/ring.js";
import { RingPort } from "../../pktdev/ring-port.js";
import { ThreadControl } from "../../runtime/control.js";
import { MonoClock } from "../../sys/clock.js";
import { gc, gcsDuring } from "../../testing/gc-probe.js";
import { applySet, defaultSettings } from "./settings.js";
import { buildFrame, verifyChecksums } from "./packet.js";
import { compilePlan } from "./tx-frames.js";
import { loop, PortState, type AfxdpPlan } from "./worker.js";
import {
  newPortShm, newCaptureBuffer, readCapture, K_RUN, K_PLAN, K_CAPTURE, C_TX_PKTS, C_RX_PKTS, C_RX_TAGGED, C_RX_REORDER, C_CAP_PKTS,
  C_CAP_DROPPED, C_LAT_MIN, C_LAT_MAX,
} from "./shared.js";

/** The loop's clock read through performance.now() (as it was): a heap number per reading. */
class PerfNowClock extends MonoClock {
  override read(): void {
    const ms = performance.now();
    const s = Math.floor(ms / 1000);
    this.ts[0] = s;
    this.ts[1] = (ms - s * 1000) * 1e6;
  }
}

/**
 * One txgen port on a ring port whose TX ring is its RX ring, with a plan (latency tags, range fields,
 * `pps`), and the thread's loop over it for `loops` iterations.
 */
function loopback(o: { pps: number; burst: number; loops: number; capture?: boolean; clk?: MonoClock; umem?: Umem; first?: number }) {
  const umem = o.umem ?? Umem.create({ frames: 4096, name: "alloc" });
  const pool = Mempool.create({ umem, first: o.first ?? 0, count: 4096 });
  const ring = Ring.create({ size: 1024, name: "loop" });
  const port = RingPort.create({ name: "lo", pid: 0, mbufs: pool.mbufs, rx: ring, tx: ring });
  const shm = newPortShm();
  const st = new PortState({ pid: 0, lport: port.toShared(), shm }, port, pool);
  const s = defaultSettings(0);
  for (const l of ["latency on", "src ip 10.0.0.1-10.0.0.50", "dport 1000-1999:7"]) applySet(s, l.split(" "), { mtu: 1500 });
  const fp = buildFrame(s, { pid: 0, srcMac: "02:00:00:00:00:01", dstMac: "02:00:00:00:00:02" });
  const clk = o.clk ?? new MonoClock();
  const plan: AfxdpPlan = {
    type: "plan", pid: 0, gen: 1, frame: { data: fp.frame, plan: compilePlan(fp) }, pcap: null, count: 0,
    pps: o.pps, burst: o.burst, seqStart: 0,
  };
  st.setPlan(plan, clk);
  const ctl = new Int32Array(shm.ctl);
  ctl[K_PLAN] = 1;
  ctl[K_RUN] = 1;
  if (o.capture) {
    st.setCapture(newCaptureBuffer(1 << 20));
    ctl[K_CAPTURE] = 1;
  }
  const control = new ThreadControl();
  const data = { name: "t", mailbox: new SharedArrayBuffer(8), ports: [], rxBurst: 64, maxLoops: o.loops };
  return {
    st,
    capture: st.capU8 === null ? null : st.capU8.buffer as SharedArrayBuffer,
    run: () => loop(data, control, [st], clk),
    close: () => umem.close(),
  };
}

/** Bytes in use in the young generation (where every new object goes first). */
function youngUsed(): number {
  return v8.getHeapSpaceStatistics().find((sp) => sp.space_name === "new_space")!.space_used_size;
}

/**
 * Bytes a loop run may leave in the young generation: its own setup (a Map, a few arrays): about 3 KB on
 * Node 20, 8-14 KB on Node 24, the same for 4,000 or 32,000 iterations. One allocation per iteration
 * would leave at least 16 bytes x iterations (128 KB for the shortest run here, 8,000).
 */
const SETUP_BYTES = 24 * 1024;

/** GCs while the loop runs once, and the bytes it left in the young generation (everything it allocated, when no GC ran). */
async function runOnce(l: ReturnType<typeof loopback>): Promise<{ gcs: number; young: number }> {
  let young = 0;
  const gcs = await gcsDuring(() => {
    const y0 = youngUsed();
    l.run();
    young = youngUsed() - y0;
  });
  return { gcs, young };
}

/**
 * GCs and young-generation bytes of one run of the loop, measured after warm-up runs until one allocates
 * nothing beyond its setup (at most 8): code runs unoptimized, boxing its numbers, until the JIT has
 * compiled it for what it meets, later on a loaded machine. Code that allocates per iteration (or per
 * burst, or per pacing sleep) does so in every run.
 */
async function measure(l: ReturnType<typeof loopback>): Promise<{ gcs: number; young: number }> {
  l.run();
  for (let i = 0; i < 8; i++) {
    const r = await runOnce(l);
    if (r.gcs === 0 && r.young < SETUP_BYTES) break;
  }
  const r = await runOnce(l);
  gc();
  return r;
}

describe("the RX/TX thread's loop allocates nothing", () => {
  test("paced, latency-tagged sending and receiving: no GC over 100,000 iterations", async () => {
    const l = loopback({ pps: 50e6, burst: 32, loops: 100_000 });
    try {
      const { gcs, young } = await measure(l);
      const c = l.st.c;
      assert.ok(c[C_TX_PKTS]! > 100_000, `${c[C_TX_PKTS]} frames sent`);
      assert.ok(c[C_RX_TAGGED]! > 100_000 && c[C_RX_TAGGED] === c[C_RX_PKTS], `${c[C_RX_TAGGED]} of ${c[C_RX_PKTS]} received frames tagged`);
      assert.equal(c[C_RX_REORDER], 0);
      assert.ok(c[C_LAT_MIN]! >= 0 && c[C_LAT_MAX]! < 1e9, `latency ${c[C_LAT_MIN]}..${c[C_LAT_MAX]} ns`);
      assert.equal(gcs, 0, `${gcs} garbage collections`);
      assert.ok(young < SETUP_BYTES, `${young} bytes allocated in 100,000 iterations`);
    } finally {
      l.close();
    }
  });

  test("pacing sleeps (0.1 ms between sends) and capture: no GC", async () => {
    const l = loopback({ pps: 200_000, burst: 32, loops: 8000, capture: true });
    try {
      const { gcs, young } = await measure(l);
      const c = l.st.c;
      assert.ok(c[C_CAP_PKTS]! > 0 && c[C_CAP_DROPPED]! > 0, `${c[C_CAP_PKTS]} captured, ${c[C_CAP_DROPPED]} dropped (capture buffer full)`);
      assert.equal(gcs, 0, `${gcs} garbage collections`);
      assert.ok(young < SETUP_BYTES, `${young} bytes allocated in 8,000 iterations`);
    } finally {
      l.close();
    }
  });

  test("buffers above 2 GiB: the loop sends, receives, parses tags and captures at offsets >= 2^31", () => {
    const bytes = 2.5 * 2 ** 30;
    const umem = Umem.fromShared({ buf: new SharedArrayBuffer(bytes), frames: bytes / 2048, frameSize: 2048, name: "big", mtype: "4KB" });
    // Every frame of the pool is above 2 GiB (handles from 2^20 + 100).
    const l = loopback({ pps: 0, burst: 32, loops: 2000, capture: true, umem, first: 2 ** 20 + 100 });
    l.run();
    const c = l.st.c;
    assert.ok(c[C_TX_PKTS]! > 10_000, `${c[C_TX_PKTS]} sent`);
    assert.ok(c[C_RX_PKTS]! > 10_000 && c[C_RX_TAGGED] === c[C_RX_PKTS], `${c[C_RX_TAGGED]} of ${c[C_RX_PKTS]} received frames read as tagged`);
    assert.equal(c[C_RX_REORDER], 0);
    const frames = readCapture(l.capture!);
    assert.ok(frames.length > 100);
    for (const f of frames.slice(0, 100)) assert.equal(verifyChecksums(f.data), null);
  });

  test("the probe fails on the same loop reading its time with performance.now()", async (t) => {
    // Where performance.now() returns unboxed doubles to optimized code, nothing here can collect.
    const sink = new Float64Array(1);
    const perfNowGcs = await gcsDuring(() => {
      for (let i = 0; i < 2_000_000; i++) sink[0] = performance.now();
    });
    if (perfNowGcs === 0) {
      t.skip(`performance.now() allocates nothing on Node ${process.version}`);
      return;
    }
    const l = loopback({ pps: 50e6, burst: 32, loops: 30_000, clk: new PerfNowClock() });
    try {
      // What the tests above require (no GC, nothing allocated beyond the setup) does not hold.
      const { gcs, young } = await measure(l);
      assert.ok(gcs > 0 || young >= SETUP_BYTES, `the loop with performance.now(): ${gcs} garbage collections, ${young} bytes`);
      assert.ok(young >= 30_000 * 16 || gcs > 0, `at least a heap number per iteration: ${young} bytes`);
    } finally {
      l.close();
    }
  });
});

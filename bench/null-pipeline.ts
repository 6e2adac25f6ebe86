/**
 * Null-port pipeline: RX from a null port (buffers from the mempool), MAC swap, TX to a null port
 * (buffers back to the mempool), on one core in a worker thread. Reports Mpps, ns per packet, and the
 * number of garbage collections during steady state (must be 0).
 *
 * {@link nullModes}: the CPU cost per packet of fwd's modes over one null port, lb beside l3fwd in the same
 * run (the veth layout 1 scenarios without veth: l3fwd with one default route back out of the port).
 */
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { Umem } from "../src/mem/umem.js";
import { Mempool } from "../src/mem/mempool.js";
import { NullPort } from "../src/pktdev/null.js";
import { startThreads, stopThreads } from "../src/runtime/threads.js";
import { M_LB, M_L3FWD } from "../src/apps/fwd/modes.js";
import { forward, type FwdThreadData } from "../src/apps/fwd/loop.js";
import { L3fwdRoutes } from "../src/apps/fwd/routes.js";
import { NH_MAC_STRIDE } from "../src/apps/fwd/next-hops.js";
import { MC_WORDS, MC_L3_FORWARDED } from "../src/apps/fwd/mode-counters.js";
import { parseFibRule } from "../src/lookup/fib/rules.js";
import { Qsbr } from "../src/lookup/qsbr.js";
import { ThreadControl } from "../src/runtime/control.js";
import { udpFrame, ipv4Checksum } from "../src/wire/udp-frame.js";
import { ST_IPACKETS, ST_OPACKETS } from "../src/xsk/stats.js";

export interface NullResult {
  mpps: number;
  nsPerPkt: number;
  steadyGcs: number;
  runs: number[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function nullPipeline(opts: { seconds?: number; runs?: number; burst?: number; cpu?: number } = {}): Promise<NullResult> {
  const seconds = opts.seconds ?? 2;
  const runs: number[] = [];
  let steadyGcs = 0;
  for (let r = 0; r < (opts.runs ?? 5); r++) {
    const umem = Umem.create({ frames: 16384 });
    const mp = Mempool.create({ umem, cacheSize: 256 });
    const port = NullPort.create({ name: "null0", pid: 0, mempool: mp, pktSize: 64 });
    const data = {
      name: "bench", mode: M_LB, burst: opts.burst ?? 64, ports: [port.toShared()], dests: [], inboxes: [],
      idleTimeoutMs: 0, intrTimeoutMs: 0, template: null, pktSize: 64, warmupMs: 1000,
    };
    const threads = await startThreads([{ name: "bench", cpus: [opts.cpu ?? 1], module: new URL("./null-worker.js", import.meta.url).href, data }]);
    await sleep(1000);
    const p0 = port.stats[ST_OPACKETS]!;
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const p1 = port.stats[ST_OPACKETS]!;
    const t1 = performance.now();
    await stopThreads(threads);
    const gc = threads[0]!.messages.find((m) => (m as { type?: string }).type === "gc") as { steadyGcs: number } | undefined;
    steadyGcs += gc?.steadyGcs ?? 0;
    if (process.env["XDPLANE_BENCH_DEBUG"]) console.error("gc", JSON.stringify(gc));
    runs.push((p1 - p0) / ((t1 - t0) / 1000) / 1e6);
    if (port.stats[ST_IPACKETS]! < port.stats[ST_OPACKETS]!) throw new Error("null pipeline sent more than it received");
    port.close();
    umem.close();
  }
  const sorted = [...runs].sort((a, b) => a - b);
  const mpps = sorted[Math.floor(sorted.length / 2)]!;
  return { mpps, nsPerPkt: 1000 / mpps, steadyGcs, runs };
}

export interface NullModesResult {
  /** CPU ns per packet, median of the runs, per mode. */
  lbNs: number;
  l3fwdNs: number;
  /** l3fwdNs / lbNs. */
  ratio: number;
  lbRuns: number[];
  l3fwdRuns: number[];
}

/**
 * lb and l3fwd over one null port, each in a fresh worker thread (its own JIT state, as a forwarder thread
 * running one mode), CPU time per packet (process.cpuUsage) around forward() only; see {@link nullMode}.
 */
export async function nullModes(opts: { runs?: number; loops?: number; burst?: number; frames?: number } = {}): Promise<NullModesResult> {
  const one = (mode: number): Promise<number[]> =>
    new Promise((resolve, reject) => {
      const w = new Worker(new URL(import.meta.url), { workerData: { mode, opts } });
      w.once("message", (m: number[]) => resolve(m));
      w.once("error", reject);
      w.once("exit", (code) => (code !== 0 ? reject(new Error(`null modes worker exited with ${code}`)) : undefined));
    });
  const lbRuns = await one(M_LB);
  const l3Runs = await one(M_L3FWD);
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const lbNs = med(lbRuns);
  const l3fwdNs = med(l3Runs);
  return { lbNs, l3fwdNs, ratio: l3fwdNs / lbNs, lbRuns, l3fwdRuns: l3Runs };
}

/**
 * One mode (M_LB or M_L3FWD) over one null port on this thread: CPU ns per packet of each run. `frames`
 * (default 4096) of 64-byte IPv4/UDP, TTL 255, cycled in order (a mempool without a cache), so a frame
 * comes round every frames / burst loops and keeps its TTL above 1 for 250 rounds (put back between runs,
 * untimed; a run is at most that long). l3fwd: the route 0.0.0.0/0 back to port 0, as the veth scenario.
 */
export function nullMode(mode: number, opts: { runs?: number; loops?: number; burst?: number; frames?: number } = {}): number[] {
  const burst = opts.burst ?? 64;
  const frames = opts.frames ?? 4096;
  const loops = Math.min(opts.loops ?? 100_000, Math.floor((250 * frames) / burst));
  const umem = Umem.create({ frames });
  try {
    const headroom = 256;
    for (let h = 0; h < umem.frames; h++) {
      const f = udpFrame({ dst: "02:00:00:00:00:01", src: "02:00:00:00:00:02", srcIp: "198.18.0.1", dstIp: `198.19.${(h >>> 8) & 255}.${h & 255}`, ttl: 255, seq: h, size: 64 });
      umem.u8.set(f, h * umem.frameSize + headroom);
    }
    const resetTtl = (): void => {
      for (let h = 0; h < umem.frames; h++) {
        const o = h * umem.frameSize + headroom + 14;
        umem.u8[o + 8] = 255;
        umem.u8[o + 10] = 0;
        umem.u8[o + 11] = 0;
        const c = ipv4Checksum(umem.u8, o);
        umem.u8[o + 10] = c >>> 8;
        umem.u8[o + 11] = c & 255;
      }
    };
    const mp = Mempool.create({ umem, cacheSize: 0 });
    const port = NullPort.create({ name: "null0", pid: 0, mempool: mp, pktSize: 64 });
    const qsbr = Qsbr.create(1);
    const routes = L3fwdRoutes.create({ ports: 1, qsbr });
    routes.add(parseFibRule("0.0.0.0/0,02:00:00:00:00:02,0"));
    const macs = new Uint8Array(new SharedArrayBuffer(NH_MAC_STRIDE));
    const mc = new Float64Array(new SharedArrayBuffer(MC_WORDS * 8));
    const base = { name: "bench", burst, ports: [], inboxes: [null], idleTimeoutMs: 0, intrTimeoutMs: 0, template: null, pktSize: 64, maxLoops: loops };
    const data: FwdThreadData = mode === M_L3FWD
      ? {
          ...base, mode, dests: [{ local: 0, inbox: null }], modeCounters: mc.buffer as SharedArrayBuffer,
          l3fwd: { routes: routes.shared(), portMacs: macs.buffer as SharedArrayBuffer, qsbr: qsbr.shared(), qsbrSlot: 0 },
        }
      : { ...base, mode, dests: [] };
    const time = (): number => {
      resetTtl();
      mc.fill(0);
      const ctl = new ThreadControl();
      const c0 = process.cpuUsage();
      forward(data, ctl, [port], mp, null);
      const c = process.cpuUsage(c0);
      if (mode === M_L3FWD && mc[MC_L3_FORWARDED] !== loops * burst) throw new Error(`null l3fwd: forwarded ${mc[MC_L3_FORWARDED]} of ${loops * burst}`);
      return ((c.user + c.system) * 1000) / (loops * burst);
    };
    const runs: number[] = [];
    for (let r = 0; r < 3; r++) time(); // warm-up: optimized code (the compiler's CPU time counts too)
    for (let r = 0; r < (opts.runs ?? 5); r++) runs.push(time());
    port.close();
    if (mp.available() !== umem.frames) throw new Error(`null modes: ${umem.frames - mp.available()} frames leaked`);
    return runs;
  } finally {
    umem.close();
  }
}

if (!isMainThread && (workerData as { mode?: number } | null)?.mode !== undefined) {
  const d = workerData as { mode: number; opts: { runs?: number; loops?: number; burst?: number; frames?: number } };
  parentPort!.postMessage(nullMode(d.mode, d.opts));
}

if (isMainThread && import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === "modes") {
    console.log(JSON.stringify(await nullModes({ runs: Number(process.argv[3] ?? 5) })));
  } else {
    const r = await nullPipeline({ runs: Number(process.argv[2] ?? 3) });
    console.log(JSON.stringify(r));
  }
}

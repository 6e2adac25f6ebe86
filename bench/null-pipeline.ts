/**
 * Null-port pipeline: RX from a null port (buffers from the mempool), MAC swap, TX to a null port
 * (buffers back to the mempool), on one core in a worker thread. Reports Mpps, ns per packet, and the
 * number of garbage collections during steady state (must be 0).
 */
import { Umem } from "../src/mem/umem.js";
import { Mempool } from "../src/mem/mempool.js";
import { NullPort } from "../src/pktdev/null.js";
import { startThreads, stopThreads } from "../src/runtime/threads.js";
import { M_LB } from "../src/apps/fwd/modes.js";
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

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await nullPipeline({ runs: Number(process.argv[2] ?? 3) });
  console.log(JSON.stringify(r));
}

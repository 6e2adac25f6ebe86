/**
 * Benchmark worker: the forwarder's loop over null ports, with a count of garbage collections that start
 * after the warm-up (observed through perf_hooks and read once the loop has stopped).
 */
import { PerformanceObserver, performance } from "node:perf_hooks";
import { openShared } from "../src/pktdev/registry.js";
import type { LportShared } from "../src/pktdev/lport.js";
import type { Mempool } from "../src/mem/mempool.js";
import type { ThreadControl } from "../src/runtime/control.js";
import { forward, type FwdThreadData } from "../src/apps/fwd/loop.js";

export async function run(data: FwdThreadData & { warmupMs: number }, control: ThreadControl, post: (m: unknown) => void): Promise<void> {
  const gcs: number[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push(e.startTime);
  });
  obs.observe({ entryTypes: ["gc"] });
  const pools = new Map<string, Mempool>();
  const ports = data.ports.map((s: LportShared) => openShared(s, pools));
  const start = performance.now();
  forward(data, control, ports, ports[0]!.pool, null);
  const end = performance.now();
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  post({ type: "gc", steadyGcs: gcs.filter((t) => t > start + data.warmupMs && t < end).length, allGcs: gcs.length, at: gcs.map((t) => Math.round(t - start)) });
}

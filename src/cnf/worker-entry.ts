/**
 * The framework's worker entry (run by runtime/worker-main.ts in each pinned thread): opens the thread's
 * ports from their shared form (claiming their rings: one owner per ring), imports the app's worker
 * module, runs it with a {@link WorkerContext}, then drains TX, releases the rings and flushes the pool
 * caches, also when the app's `run` throws.
 */
import { workerData } from "node:worker_threads";
import { openShared, builtinDrivers } from "../pktdev/registry.js";
import type { Lport } from "../pktdev/lport.js";
import type { Mempool } from "../mem/mempool.js";
import { IdleManager } from "../runtime/idle.js";
import {
  type ThreadControl, STATE_RUN, STATE_PAUSE, STATUS_RUNNING, STATUS_IDLE, CTL_STATE, CTL_HEARTBEAT,
  TC_LOOPS, TC_IDLE_ENTRIES, TC_IDLE_MS, TC_RX, TC_TX, TC_DROP,
} from "../runtime/control.js";
import type { CnfThreadData, WorkerContext, WorkerModule } from "./worker.js";

async function load(url: string): Promise<WorkerModule> {
  const mod = (await import(url)) as Partial<WorkerModule>;
  if (typeof mod.run !== "function") throw new TypeError(`Worker module ${url} exports no run(ctx) function`);
  return mod as WorkerModule;
}

// The app's module is loaded while this module loads, before the thread reports ready: a module that
// fails to load or has no run() fails Cnf.start, not the running app later.
const preload = (workerData as { data?: Partial<CnfThreadData> } | null)?.data?.module;
const preloaded = typeof preload === "string" ? await load(preload) : null;

/** Worker entry (runtime's module protocol). */
export async function run(data: CnfThreadData, control: ThreadControl, post: (m: unknown) => void): Promise<void> {
  const pools = new Map<string, Mempool>();
  const ports: Lport[] = [];
  try {
    const mod = preloaded ?? (await load(data.module));
    const drivers = builtinDrivers();
    for (const s of data.ports) ports.push(openShared(s, pools, drivers));
    const ctx = context(data, control, ports, pools, post);
    control.setStatus(STATUS_RUNNING);
    await mod.run(ctx);
  } finally {
    // Let the TX rings finish so frames and counters settle before the main thread closes the ports.
    const none = new Uint32Array(1);
    for (const p of ports) for (let i = 0; i < 4; i++) p.txBurst(none, 0);
    for (const p of ports) p.release();
    for (const mp of pools.values()) mp.flushCache();
  }
}

function context(data: CnfThreadData, control: ThreadControl, ports: Lport[], pools: Map<string, Mempool>, post: (m: unknown) => void): WorkerContext {
  const ctl = control.ctl;
  const tc = control.counters;
  const fds = ports.map((p) => p.pollFd()).filter((fd) => fd >= 0);
  const idle = new IdleManager(data.idleTimeoutMs, data.intrTimeoutMs, fds);
  let mempool: Mempool | null = ports.find((p) => p.pool !== null)?.pool ?? null;
  if (mempool === null) for (const mp of pools.values()) { mempool = mp; break; }
  let loops = 0;
  return {
    name: data.name,
    ports,
    mempool,
    burst: data.burst,
    data: data.data,
    control,
    running(): boolean {
      let state = Atomics.load(ctl, CTL_STATE);
      while (state === STATE_PAUSE) {
        Atomics.wait(ctl, CTL_STATE, STATE_PAUSE, 100);
        state = Atomics.load(ctl, CTL_STATE);
      }
      if ((++loops & 1023) === 0) {
        tc[TC_LOOPS] = loops;
        Atomics.add(ctl, CTL_HEARTBEAT, 1);
      }
      return state === STATE_RUN;
    },
    idle(received: number): void {
      if (idle.update(received)) {
        control.setStatus(STATUS_IDLE);
        tc[TC_IDLE_ENTRIES] = idle.entries;
        tc[TC_IDLE_MS] = idle.idleMs;
        control.setStatus(STATUS_RUNNING);
      }
    },
    count(rx: number, tx: number, drop: number): void {
      tc[TC_RX] = tc[TC_RX]! + rx;
      tc[TC_TX] = tc[TC_TX]! + tx;
      tc[TC_DROP] = tc[TC_DROP]! + drop;
    },
    post,
  };
}

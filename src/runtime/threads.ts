/**
 * Data-plane threads: one worker per configured thread, pinned to its lcore group's CPUs. The main thread
 * starts them, stops them through shared control words, and collects their results.
 */
import { Worker } from "node:worker_threads";
import { ThreadControl, STATE_STOP, STATE_RUN, STATE_PAUSE } from "./control.js";
import type { WorkerStart } from "./worker-main.js";

export interface ThreadSpec {
  name: string;
  cpus: number[];
  module: string;
  data: unknown;
}

export interface RunningThread {
  name: string;
  cpus: number[];
  control: ThreadControl;
  worker: Worker;
  /** Resolves when the worker has exited, rejects with its error. */
  done: Promise<void>;
  messages: unknown[];
}

/** Starts the threads and waits until every one has loaded its module (or one failed). */
export async function startThreads(specs: ThreadSpec[], onMessage?: (name: string, msg: unknown) => void): Promise<RunningThread[]> {
  const threads: RunningThread[] = [];
  const readies: Promise<void>[] = [];
  for (const s of specs) {
    const control = new ThreadControl();
    const start: WorkerStart = { name: s.name, cpus: s.cpus, module: s.module, data: s.data, control: control.toShared() };
    const worker = new Worker(new URL("./worker-main.js", import.meta.url), { workerData: start, name: s.name });
    const t: RunningThread = { name: s.name, cpus: s.cpus, control, worker, done: Promise.resolve(), messages: [] };
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    readies.push(new Promise<void>((res, rej) => { readyResolve = res; readyReject = rej; }));
    t.done = new Promise<void>((resolve, reject) => {
      let failed: Error | null = null;
      worker.on("message", (m: { type?: string; message?: string; stack?: string }) => {
        if (m?.type === "ready") readyResolve();
        else if (m?.type === "error") {
          failed = new Error(`thread '${s.name}': ${m.message}`);
          if (m.stack) failed.stack = m.stack;
          readyReject(failed);
        } else {
          t.messages.push(m);
          onMessage?.(s.name, m);
        }
      });
      worker.on("error", (e) => { failed = e; readyReject(e); });
      worker.on("exit", (code) => {
        if (failed) reject(failed);
        else if (code !== 0) reject(new Error(`thread '${s.name}' exited with code ${code}`));
        else resolve();
        readyReject(new Error(`thread '${s.name}' exited before it was ready`));
      });
    });
    t.done.catch(() => {});
    threads.push(t);
  }
  try {
    await Promise.all(readies);
  } catch (e) {
    await stopThreads(threads);
    throw e;
  }
  return threads;
}

/** Asks every thread to stop and waits for them (terminating any that do not stop within `ms`). */
export async function stopThreads(threads: RunningThread[], ms = 5000): Promise<Error[]> {
  for (const t of threads) t.control.setState(STATE_STOP);
  const errors: Error[] = [];
  await Promise.all(threads.map(async (t) => {
    const timer = setTimeout(() => void t.worker.terminate(), ms);
    try {
      await t.done;
    } catch (e) {
      errors.push(e as Error);
    } finally {
      clearTimeout(timer);
    }
  }));
  return errors;
}

/** Pauses (true) or resumes (false) a thread's loop: CNDP's /app/stop and /app/start. */
export function pauseThread(t: RunningThread, pause: boolean): void {
  t.control.setState(pause ? STATE_PAUSE : STATE_RUN);
}

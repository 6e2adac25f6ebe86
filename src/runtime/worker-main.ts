/**
 * Entry of every data-plane worker thread: pins itself to its CPUs, imports the app's loop module and
 * runs it with the shared data the main thread prepared. The loop returns when the control state says
 * stop; the worker then reports and exits.
 */
import { parentPort, workerData } from "node:worker_threads";
import { setAffinity } from "../sys/cpu.js";
import { ThreadControl, STATUS_EXITED, type ThreadControlShared } from "./control.js";

export interface WorkerStart {
  name: string;
  cpus: number[];
  /** URL of a module exporting `run(data, control): Promise<void> | void`. */
  module: string;
  data: unknown;
  control: ThreadControlShared;
}

const start = workerData as WorkerStart;
const control = new ThreadControl(start.control);
try {
  if (start.cpus.length > 0) setAffinity(start.cpus);
  const mod = (await import(start.module)) as { run(data: unknown, control: ThreadControl, post: (m: unknown) => void): unknown };
  parentPort?.postMessage({ type: "ready", name: start.name });
  await mod.run(start.data, control, (m) => parentPort?.postMessage(m));
  control.setStatus(STATUS_EXITED);
  parentPort?.postMessage({ type: "done", name: start.name });
} catch (e) {
  control.setStatus(STATUS_EXITED);
  const err = e as Error;
  parentPort?.postMessage({ type: "error", name: start.name, message: err.message, stack: err.stack });
}

/**
 * cnf: the pieces every CNF (a packet-processing microservice) needs. {@link Cnf.start} builds UMEMs,
 * mempools and ports from a CNDP jsonc (privileged, or through the device plugin with `uds_path` /
 * `xsk_pin_path`), starts one pinned worker per configured thread running the app's own module with its
 * ports ({@link WorkerContext}), opens the CNDP app socket with the app's commands (so `xdplane stats` and
 * the Prometheus exporter see it), stops cleanly on SIGTERM/SIGINT and reports every frame
 * ({@link StopReport}).
 *
 * @example
 * // main.ts
 * import { Cnf } from "xdplane/cnf";
 * const app = await Cnf.start({ config: "echo.jsonc", worker: new URL("./worker.js", import.meta.url) });
 * const report = await app.done; // after SIGTERM
 * process.exitCode = report.faults.length > 0 ? 1 : 0;
 *
 * @module
 */
export { Cnf, type CnfOptions, type CnfThreadStats } from "./cnf.js";
export type { WorkerContext, WorkerModule } from "./worker.js";
export {
  PortSet, poolsReport, mergeReports, txRejectedOf, type PortSetOptions, type PoolsReportOptions, type StopReport,
} from "./ports.js";
export { planThreads, type ThreadPlan } from "./plan.js";
export { cnfModel, linkUp } from "./model.js";

/**
 * The pieces every CNF needs, in one call: UMEMs, mempools and ports from a CNDP config (privileged or
 * through the device plugin), one pinned worker per configured thread running the app's own module with
 * its ports, the CNDP app socket with the app's commands (so `xdplane stats` and the Prometheus exporter
 * see it), SIGTERM/SIGINT to a clean stop, and the exact frame report at stop.
 */
import type { AppConfig } from "../config/types.js";
import { loadConfig } from "../config/parse.js";
import type { Lport } from "../pktdev/lport.js";
import type { Mempool } from "../mem/mempool.js";
import { TC_RX, TC_TX, TC_DROP, TC_IDLE_ENTRIES } from "../runtime/control.js";
import { startThreads, stopThreads, pauseThread, type RunningThread, type ThreadSpec } from "../runtime/threads.js";
import { AppSocket, type AppSocketOptions } from "../telemetry/app-socket.js";
import type { CommandHandler } from "../telemetry/commands.js";
import { createLogger } from "../telemetry/log.js";
import { PortSet, emptyReport, type StopReport } from "./ports.js";
import { planThreads, type ThreadPlan } from "./plan.js";
import { cnfModel } from "./model.js";
import type { CnfThreadData } from "./worker.js";

/** Options of {@link Cnf.start}. */
export interface CnfOptions {
  /** The parsed config, or the path of a CNDP jsonc to load (warnings go to the log). */
  config: AppConfig | string;
  /**
   * The app's worker module (`new URL("./worker.js", import.meta.url)`), exporting `run(ctx)` with a
   * {@link WorkerContext}. One runs per configured thread that lists lports, pinned to its lcores.
   */
  worker: URL | string;
  /** Per-thread data for the worker (`ctx.data`), structured-cloneable. Called once per thread. */
  threadData?: (thread: ThreadPlan, app: Cnf) => unknown;
  /**
   * A module speaking the runtime's own protocol instead (`run(data, control, post)`), for apps that open
   * their ports themselves; `threadData` then gives its whole `data` (`thread.ports[i].toShared()`).
   */
  raw?: boolean;
  /** The app's own commands on the app socket: `{ "/echo/stats": () => ({ ... }) }`. */
  commands?: Record<string, CommandHandler>;
  /**
   * The CNDP app socket (`<socketDir>/app_socket.<pid>`, default dir /var/run/cndp): on by default;
   * `false` opens none.
   */
  socket?: boolean | AppSocketOptions;
  /** SIGTERM and SIGINT stop the app (default true); the report goes to `onStop`. */
  signals?: boolean;
  /**
   * Called with the report when the app stops on a signal. Default: log every fault and set
   * `process.exitCode` to 1 when there is one.
   */
  onStop?: (report: StopReport) => void;
  /** Called after the threads stopped, before the ports close: return frames the app kept to their pools. */
  onThreadsStopped?: (app: Cnf) => void;
  /** Called with the plan after the ports are built, before any thread starts (checks, shared rings). */
  beforeStart?: (app: Cnf, plan: ThreadPlan[]) => void;
  /** Messages of workers (`ctx.post`). */
  onMessage?: (thread: string, msg: unknown) => void;
  /** Packets per burst, 1-256 (default: the config's `defaults.burst`). */
  burst?: number;
  /** Track frame ownership: the stop report then counts double frees, bad allocs, bad kernel returns. */
  debugFrames?: boolean;
  /** Network namespace (name under /run/netns or a path) in which the ports are opened. */
  netns?: string;
  /** The app's name for the socket and the exporter (default: the config's `application.name`). */
  name?: string;
  log?: (msg: string) => void;
}

/** A thread's figures: its counters as the worker left them (`ctx.count`, loops, idle). */
export interface CnfThreadStats {
  name: string;
  cpus: number[];
  rx: number;
  tx: number;
  drop: number;
  idleEntries: number;
  status: number;
}

/**
 * A running CNF: its ports and pools (on the main thread: counters, admin state), its threads, its app
 * socket. {@link Cnf.stop} ends it and reports every frame.
 *
 * @example
 * import { Cnf } from "xdplane/cnf";
 * const app = await Cnf.start({
 *   config: "echo.jsonc",
 *   worker: new URL("./worker.js", import.meta.url),
 *   commands: { "/echo/stats": () => ({ rx: app.ports[0]!.stats[0] }) },
 * });
 * const report = await app.done;     // SIGTERM or SIGINT, or app.stop() elsewhere
 * process.exitCode = report.faults.length > 0 ? 1 : 0;
 */
export class Cnf {
  readonly config: AppConfig;
  readonly name: string;
  /** The ports, the UMEMs' pools; built on this thread, served by the workers. */
  readonly portSet: PortSet;
  /** The running worker threads, in config order. */
  threads: RunningThread[] = [];
  /** The app socket, when one is open. */
  socket: AppSocket | null = null;
  /** Resolves with the stop report once the app has stopped (by a signal or {@link Cnf.stop}). */
  readonly done: Promise<StopReport>;
  private resolveDone!: (r: StopReport) => void;
  private stopping: Promise<StopReport> | null = null;
  private readonly opts: CnfOptions;
  private readonly onSignal: () => void;
  private signalled = false;

  private constructor(config: AppConfig, portSet: PortSet, o: CnfOptions) {
    this.config = config;
    this.portSet = portSet;
    this.opts = o;
    this.name = o.name ?? (config.application.name || "cnf");
    this.done = new Promise((r) => { this.resolveDone = r; });
    this.onSignal = () => {
      this.signalled = true;
      void this.stop();
    };
  }

  /** The ports in config order (each port's index is its `pid`). */
  get ports(): readonly Lport[] { return this.portSet.ports; }
  /** One pool per UMEM in use, by UMEM name. */
  get pools(): ReadonlyMap<string, Mempool> { return this.portSet.pools; }
  /** The namespace the ports were opened in, when not this thread's. */
  get netns(): string | undefined { return this.portSet.netns; }

  /**
   * Builds the ports, starts one worker per thread of the config that lists lports, opens the app socket
   * with the app's commands and installs the signal handlers. On failure releases everything and rethrows.
   *
   * @example
   * const app = await Cnf.start({ config, worker: new URL("./worker.js", import.meta.url), socket: false, signals: false });
   * const report = await app.stop();
   */
  static async start(o: CnfOptions): Promise<Cnf> {
    const log = o.log ?? defaultLog();
    let config: AppConfig;
    if (typeof o.config === "string") {
      const r = loadConfig(o.config);
      for (const w of r.warnings) log(`config: ${w.text}`);
      config = r.config;
    } else {
      config = o.config;
    }
    const burst = o.burst ?? config.defaults.burst;
    if (!Number.isInteger(burst) || burst < 1 || burst > 256) throw new RangeError(`Invalid burst ${burst}: 1 to 256`);
    const set = PortSet.build(config, {
      log, ...(o.debugFrames !== undefined ? { debugFrames: o.debugFrames } : {}), ...(o.netns !== undefined ? { netns: o.netns } : {}),
    });
    const app = new Cnf(config, set, o);
    try {
      const plan = planThreads(config, set.ports, log);
      o.beforeStart?.(app, plan);
      if (plan.length === 0) {
        const main = [...config.threads.values()].find((t) => t.type === "main" && t.lports.length > 0);
        throw new Error(main
          ? `No thread polls any lport: thread '${main.name}' names lports (${main.lports.join(", ")}), but a thread of type "main" is the app's own thread (CNDP's convention) and polls nothing; give them to a thread with another name (e.g. "worker:0")`
          : `No thread polls any lport: add "lports" to a thread in the config's "threads" section`);
      }
      const worker = typeof o.worker === "string" ? o.worker : o.worker.href;
      const specs: ThreadSpec[] = plan.map((t) => {
        const own = o.threadData?.(t, app);
        if (o.raw) return { name: t.name, cpus: t.cpus, module: worker, data: own };
        const data: CnfThreadData = {
          name: t.name, module: worker, ports: t.ports.map((p) => p.toShared()), burst,
          idleTimeoutMs: t.idleTimeout, intrTimeoutMs: t.intrTimeout, data: own,
        };
        return { name: t.name, cpus: t.cpus, module: new URL("./worker-entry.js", import.meta.url).href, data };
      });
      // One owner per ring: this thread's port objects give the data path to the workers.
      for (const p of set.ports) p.release();
      app.threads = await startThreads(specs, o.onMessage);
      if (o.socket !== false) {
        const so = typeof o.socket === "object" ? o.socket : {};
        app.socket = AppSocket.open(cnfModel(app), so);
        for (const [path, h] of Object.entries(o.commands ?? {})) app.socket.registerCommand(path, h);
      }
      if (o.signals !== false) {
        process.once("SIGTERM", app.onSignal);
        process.once("SIGINT", app.onSignal);
      }
      return app;
    } catch (e) {
      await app.stop();
      throw e;
    }
  }

  /** The port of that name or pid. */
  port(name: string | number): Lport {
    return this.portSet.port(name);
  }

  /**
   * Pauses (true) or resumes (false) threads by name, or "all" (CNDP's /app/stop and /app/start).
   * Returns how many threads matched.
   */
  pause(which: string, pause: boolean): number {
    let n = 0;
    for (const t of this.threads) if (which === "all" || t.name === which) { pauseThread(t, pause); n++; }
    return n;
  }

  /** Every thread's counters, read from shared memory. */
  threadStats(): CnfThreadStats[] {
    return this.threads.map((t) => {
      const c = t.control.counters;
      return { name: t.name, cpus: t.cpus, rx: c[TC_RX]!, tx: c[TC_TX]!, drop: c[TC_DROP]!, idleEntries: c[TC_IDLE_ENTRIES]!, status: t.control.status };
    });
  }

  /**
   * Stops: closes the socket, stops the threads (they drain TX and give the rings back), closes the
   * ports (sockets out of the XSKMAP, program detached with the last port on a netdev, device plugin
   * sessions ended), checks every frame, frees the UMEMs. Every later call returns the same report.
   */
  stop(): Promise<StopReport> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  /** A stop on a signal: the report goes to onStop, or to stderr and the exit code. */
  private reportStop(report: StopReport): void {
    if (this.opts.onStop) this.opts.onStop(report);
    else {
      for (const f of report.faults) process.stderr.write(`${this.name}: ${f}\n`);
      if (report.faults.length > 0) process.exitCode = 1;
    }
  }

  private async doStop(): Promise<StopReport> {
    process.off("SIGTERM", this.onSignal);
    process.off("SIGINT", this.onSignal);
    let report: StopReport = emptyReport();
    try {
      this.socket?.close();
      this.socket = null;
      const errs = await stopThreads(this.threads);
      try {
        this.opts.onThreadsStopped?.(this);
      } catch (e) {
        errs.push(e as Error);
      }
      report = this.portSet.close(errs);
      if (this.signalled) this.reportStop(report);
      return report;
    } finally {
      this.resolveDone(report);
    }
  }
}

function defaultLog(): (m: string) => void {
  const logger = createLogger({ name: "cnf" });
  return (m) => logger.log("info", m);
}

/**
 * The worker side of a CNF: what the app's own worker module receives. The framework opens the thread's
 * ports (claiming their rings), calls the module's `run(ctx)`, and when it returns drains the TX rings,
 * gives the rings back and flushes the pool caches. A worker module:
 *
 * ```ts
 * import type { WorkerContext } from "xdplane/cnf";
 * export function run(ctx: WorkerContext): void {
 *   const bufs = new Uint32Array(ctx.burst);
 *   while (ctx.running()) { ... ctx.idle(received); }
 * }
 * ```
 */
import type { Lport, LportShared } from "../pktdev/lport.js";
import type { Mempool } from "../mem/mempool.js";
import type { ThreadControl } from "../runtime/control.js";

/**
 * What a CNF worker's `run(ctx)` gets: its ports, opened on this thread and served by it alone, their
 * mempool, the thread's control words, and the calls of its loop. Nothing in it allocates per call.
 *
 * @example
 * // worker.ts: a MAC-swapping responder, built with `new URL("./worker.js", import.meta.url)`
 * import type { WorkerContext } from "xdplane/cnf";
 * export function run(ctx: WorkerContext): void {
 *   const bufs = new Uint32Array(ctx.burst);
 *   while (ctx.running()) {
 *     let received = 0;
 *     for (const port of ctx.ports) {
 *       const n = port.rxBurst(bufs, bufs.length);
 *       received += n;
 *       const sent = port.txBurst(bufs, n);
 *       if (sent < n) port.pool!.freeBulk(bufs, n - sent, sent);
 *       ctx.count(n, sent, n - sent);
 *     }
 *     ctx.idle(received);
 *   }
 * }
 */
export interface WorkerContext<D = unknown> {
  /** The thread's name in the config ("fwd:0"). */
  readonly name: string;
  /** The thread's ports in the order its config lists them; this thread alone drives their rings. */
  readonly ports: readonly Lport[];
  /** The pool of the first port with one (every port of one UMEM shares it); null for pool-less ports. */
  readonly mempool: Mempool | null;
  /** Packets per burst (the config's `defaults.burst`, or the app's `burst` option). */
  readonly burst: number;
  /** The app's own per-thread data (`threadData` of {@link CnfOptions}), structured-cloned. */
  readonly data: D;
  /** The shared control and counter words (`runtime/`): telemetry reads the counters without messages. */
  readonly control: ThreadControl;
  /**
   * Whether the loop should go on: false once the app stops. While the thread is paused (`/app/stop`)
   * it waits here. Counts loops and the heartbeat; call it once per loop.
   */
  running(): boolean;
  /**
   * Idle mode (the config's `idle_timeout`, `intr_timeout`): after `idle_timeout` ms without packets,
   * blocks in poll() on the ports' fds until traffic returns. Call once per loop with the packets received.
   */
  idle(received: number): void;
  /** Adds to the thread's rx/tx/drop counters (what `/app/threads` and the exporter show). */
  count(rx: number, tx: number, drop: number): void;
  /** Sends a message to the main thread (`onMessage` of {@link CnfOptions}); control path only. */
  post(msg: unknown): void;
}

/** A CNF worker module: exports `run`, which returns (or resolves) when `ctx.running()` is false. */
export interface WorkerModule<D = unknown> {
  run(ctx: WorkerContext<D>): void | Promise<void>;
}

/** What the main thread sends the framework's worker entry (internal). */
export interface CnfThreadData {
  name: string;
  /** URL of the app's worker module. */
  module: string;
  ports: LportShared[];
  burst: number;
  idleTimeoutMs: number;
  intrTimeoutMs: number;
  data: unknown;
}

/**
 * runtime: data-plane worker threads pinned to CPUs, shared control words, idle mode. `xdplane/cnf` uses
 * it to run an app's workers; use it directly to run threads of your own protocol.
 *
 * @module
 */
/**
 * Control words (state, status, heartbeat) and counter slots (TC_*) shared between the main thread and a
 * worker; STATE_* and STATUS_* values.
 *
 * @example
 * const rx = thread.control.counters[TC_RX];
 * thread.control.setState(STATE_STOP);
 */
export * from "./control.js";
/**
 * Idle mode as CNDP's idlemgr: after `idleTimeoutMs` without packets, block in poll() on the ports' fds.
 *
 * @example
 * const idle = new IdleManager(10, 100, ports.map((p) => p.pollFd()).filter((fd) => fd >= 0));
 * while (control.state === STATE_RUN) {
 *   let received = 0;
 *   for (const p of ports) received += p.rxBurst(bufs, bufs.length); // ... and handle them
 *   idle.update(received); // blocks in poll() after 10 ms without packets, up to 100 ms at a time
 * }
 */
export { IdleManager } from "./idle.js";
export type { ThreadSpec, RunningThread } from "./threads.js";
/**
 * Starts pinned workers, each importing `module` and calling its `run(data, control, post)`.
 *
 * @example
 * const threads = await startThreads([{ name: "w0", cpus: [1], module: new URL("./w.js", import.meta.url).href, data: {} }]);
 */
export { startThreads } from "./threads.js";
/**
 * Asks threads to stop and waits for them; returns their errors.
 *
 * @example
 * const errors = await stopThreads(threads);
 */
export { stopThreads } from "./threads.js";
/**
 * Pauses or resumes a thread's loop (CNDP's /app/stop and /app/start).
 *
 * @example
 * pauseThread(threads[0]!, true);
 */
export { pauseThread } from "./threads.js";

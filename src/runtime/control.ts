/**
 * Per-thread control and status words shared between the main thread and a data-plane worker
 * (an Int32Array and a Float64Array over SharedArrayBuffers). The worker reads `state` once per loop
 * iteration; the main thread writes it. No messages on the data path.
 */

/**
 * Index of the state word in {@link ThreadControl.ctl}: a STATE_* value the main thread writes
 * (`setState`) and the worker reads once per loop iteration.
 *
 * @example
 * if (Atomics.load(thread.control.ctl, CTL_STATE) === STATE_PAUSE) console.log(`${thread.name} paused`);
 */
export const CTL_STATE = 0;
/**
 * Index of the status word in {@link ThreadControl.ctl}, set by the worker: STATUS_RUNNING (1) while its
 * loop runs, STATUS_IDLE (2) while it blocks in poll, STATUS_EXITED (3) when it has exited.
 *
 * @example
 * const idle = Atomics.load(thread.control.ctl, CTL_STATUS) === STATUS_IDLE; // same as control.status
 */
export const CTL_STATUS = 1;
/**
 * Index of the heartbeat word in {@link ThreadControl.ctl}: loop iterations / 1024, to see that a
 * thread is alive.
 *
 * @example
 * const before = Atomics.load(thread.control.ctl, CTL_HEARTBEAT);
 * await new Promise((r) => setTimeout(r, 1000));
 * const stuck = Atomics.load(thread.control.ctl, CTL_HEARTBEAT) === before && thread.control.status === STATUS_RUNNING;
 */
export const CTL_HEARTBEAT = 2;
/**
 * Int32 words of {@link ThreadControl.ctl} (room for more than the CTL_* in use).
 *
 * @example
 * const ctl = new SharedArrayBuffer(CTL_WORDS * Int32Array.BYTES_PER_ELEMENT);
 */
export const CTL_WORDS = 8;

/**
 * State: run the loop (the initial state; `pauseThread(t, false)` writes it again).
 *
 * @example
 * thread.control.setState(STATE_RUN);
 */
export const STATE_RUN = 0;
/**
 * State: leave the loop and return (`stopThreads` writes it).
 *
 * @example
 * thread.control.setState(STATE_STOP);
 * await thread.done;
 */
export const STATE_STOP = 1;
/**
 * State: wait without polling the ports until the state changes (`pauseThread(t, true)`; CNDP's /app/stop).
 *
 * @example
 * // In a worker's loop: sleep while paused (setState notifies the word).
 * while (control.state === STATE_PAUSE) Atomics.wait(control.ctl, CTL_STATE, STATE_PAUSE, 100);
 */
export const STATE_PAUSE = 2;

/**
 * Status: the worker has not started its loop yet.
 *
 * @example
 * if (thread.control.status === STATUS_STARTING) console.log(`${thread.name} is starting`);
 */
export const STATUS_STARTING = 0;
/**
 * Status: the worker's loop runs.
 *
 * @example
 * control.setStatus(STATUS_RUNNING); // in the worker, before its loop
 */
export const STATUS_RUNNING = 1;
/**
 * Status: the worker is blocked in poll (idle mode, see {@link IdleManager}).
 *
 * @example
 * control.setStatus(STATUS_IDLE); // in the worker, before it blocks in poll
 */
export const STATUS_IDLE = 2;
/**
 * Status: the worker has returned from its loop (or failed).
 *
 * @example
 * const alive = threads.filter((t) => t.control.status !== STATUS_EXITED);
 */
export const STATUS_EXITED = 3;

/**
 * Counter slot of {@link ThreadControl.counters} (Float64): loop iterations (updated every 1024).
 *
 * @example
 * const loops = thread.control.counters[TC_LOOPS]!;
 */
export const TC_LOOPS = 0;
/**
 * Counter slot: times the thread went idle (blocked in poll).
 *
 * @example
 * const idleEntries = thread.control.counters[TC_IDLE_ENTRIES]!;
 */
export const TC_IDLE_ENTRIES = 1;
/**
 * Counter slot: milliseconds the thread spent blocked in poll.
 *
 * @example
 * const idleMs = thread.control.counters[TC_IDLE_MS]!;
 */
export const TC_IDLE_MS = 2;
/**
 * Counter slot: packets received.
 *
 * @example
 * const rx = thread.control.counters[TC_RX]!;
 */
export const TC_RX = 3;
/**
 * Counter slot: packets sent.
 *
 * @example
 * control.counters[TC_TX]! += port.txBurst(bufs, n);
 */
export const TC_TX = 4;
/**
 * Counter slot: packets dropped by the app.
 *
 * @example
 * const { counters } = thread.control;
 * console.log(`rx ${counters[TC_RX]} tx ${counters[TC_TX]} drop ${counters[TC_DROP]}`);
 */
export const TC_DROP = 5;
/**
 * Counter slot: frames handed to another thread's port (fwd mode's inboxes).
 *
 * @example
 * const handedOff = thread.control.counters[TC_HANDOFF]!;
 */
export const TC_HANDOFF = 6;
/**
 * Float64 slots of {@link ThreadControl.counters} (room for an app's own counters after TC_HANDOFF).
 *
 * @example
 * const counters = new SharedArrayBuffer(TC_WORDS * Float64Array.BYTES_PER_ELEMENT);
 */
export const TC_WORDS = 16;

export interface ThreadControlShared {
  ctl: SharedArrayBuffer;
  counters: SharedArrayBuffer;
}

/**
 * A thread's control words (`ctl`: CTL_* indices) and counters (`counters`: TC_* slots) over
 * SharedArrayBuffers; `toShared()` gives the buffers to a worker, `new ThreadControl(shared)` views them
 * there. {@link startThreads} makes one per thread and passes it to the worker's `run`.
 *
 * @example
 * // w.ts, started by startThreads: run until the state word says stop, counting in the shared slots.
 * export function run(data: unknown, control: ThreadControl): void {
 *   while (control.state !== STATE_STOP) {
 *     const n = port.rxBurst(bufs, bufs.length);
 *     const sent = port.txBurst(bufs, n);
 *     if (sent < n) port.pool!.freeBulk(bufs, n - sent, sent);
 *     control.counters[TC_RX]! += n;
 *     control.counters[TC_TX]! += sent;
 *   }
 * }
 * // main thread
 * const [w] = await startThreads([{ name: "w0", cpus: [1], module: new URL("./w.js", import.meta.url).href, data: {} }]);
 * console.log(w!.control.counters[TC_RX]);
 */
export class ThreadControl {
  readonly ctl: Int32Array;
  readonly counters: Float64Array;

  constructor(s?: ThreadControlShared) {
    this.ctl = new Int32Array(s?.ctl ?? new SharedArrayBuffer(CTL_WORDS * 4));
    this.counters = new Float64Array(s?.counters ?? new SharedArrayBuffer(TC_WORDS * 8));
  }

  toShared(): ThreadControlShared {
    return { ctl: this.ctl.buffer as SharedArrayBuffer, counters: this.counters.buffer as SharedArrayBuffer };
  }

  get state(): number { return Atomics.load(this.ctl, CTL_STATE); }
  get status(): number { return Atomics.load(this.ctl, CTL_STATUS); }

  setState(s: number): void {
    Atomics.store(this.ctl, CTL_STATE, s);
    Atomics.notify(this.ctl, CTL_STATE);
  }

  setStatus(s: number): void {
    Atomics.store(this.ctl, CTL_STATUS, s);
  }
}

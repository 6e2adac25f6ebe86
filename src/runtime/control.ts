/**
 * Per-thread control and status words shared between the main thread and a data-plane worker
 * (an Int32Array and a Float64Array over SharedArrayBuffers). The worker reads `state` once per loop
 * iteration; the main thread writes it. No messages on the data path.
 */
export const CTL_STATE = 0;
/** Set by the worker when its loop runs (1), is idle in poll (2), or has exited (3). */
export const CTL_STATUS = 1;
/** Loop iterations / 1024, to see that a thread is alive. */
export const CTL_HEARTBEAT = 2;
export const CTL_WORDS = 8;

export const STATE_RUN = 0;
export const STATE_STOP = 1;
export const STATE_PAUSE = 2;

export const STATUS_STARTING = 0;
export const STATUS_RUNNING = 1;
export const STATUS_IDLE = 2;
export const STATUS_EXITED = 3;

/** Thread counters (Float64): loops, idle entries, packets handled by the app's mode. */
export const TC_LOOPS = 0;
export const TC_IDLE_ENTRIES = 1;
export const TC_IDLE_MS = 2;
export const TC_RX = 3;
export const TC_TX = 4;
export const TC_DROP = 5;
/** Frames handed to another thread's port (fwd mode's inboxes). */
export const TC_HANDOFF = 6;
export const TC_WORDS = 16;

export interface ThreadControlShared {
  ctl: SharedArrayBuffer;
  counters: SharedArrayBuffer;
}

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

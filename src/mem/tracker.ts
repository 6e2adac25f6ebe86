/**
 * Frame ownership tracking for debug mode: every frame is FREE (in a mempool), APP (held by the
 * application), or KERNEL (given to an AF_XDP fill or TX ring), with the owner word in the mbuf table.
 * Transitions that do not fit (freeing a frame twice, receiving a frame the kernel did not have) are
 * counted and the first few are recorded with the handle, so tests and `--debug-frames` can report
 * double frees and leaks. Off by default: the data path checks one flag per burst.
 *
 * Chains and clones (chain.ts): every segment of a chain is a frame with its own owner word, so freeing a
 * segment twice is caught like any double free. A frame that gets a second reference (a clone attached
 * to it, or refcntUpdate) becomes SHARED until its last reference is released: while SHARED, frees and
 * kernel returns count down its reference count instead of moving the owner word (several holders, the
 * application and sockets, may have it at once); releasing it once more than it has references is a
 * double free. A clone's own handle is an ordinary APP frame. {@link frameReport} tells frames held only
 * by live clones apart from the application's own.
 */
import type { MbufTable } from "./mbuf.js";

export const FRAME_FREE = 0;
export const FRAME_APP = 1;
/** A frame with (or that had, since its allocation) more than one reference: see the module comment. */
export const FRAME_SHARED = 2;
/** KERNEL states are FRAME_KERNEL + socket id, so a closing socket can take back its own frames. */
export const FRAME_KERNEL = 16;

/** Error counters shared by every thread: [0] double frees, [1] bad allocs, [2] bad kernel returns. */
export interface TrackerShared {
  buf: SharedArrayBuffer;
}

export class FrameTracker {
  readonly counters: Int32Array;
  /** The first 16 offending handles, for messages. */
  readonly samples: Int32Array;

  private constructor(buf: SharedArrayBuffer) {
    this.counters = new Int32Array(buf, 0, 4);
    this.samples = new Int32Array(buf, 16, 17);
  }

  static create(): FrameTracker {
    return new FrameTracker(new SharedArrayBuffer(16 + 17 * 4));
  }

  static fromShared(s: TrackerShared): FrameTracker {
    return new FrameTracker(s.buf);
  }

  toShared(): TrackerShared {
    return { buf: this.counters.buffer as SharedArrayBuffer };
  }

  /** Records an offending handle for kind 0 (double free), 1 (bad alloc) or 2 (bad kernel return). */
  report(kind: number, h: number): void {
    Atomics.add(this.counters, kind, 1);
    const i = Atomics.add(this.samples, 0, 1);
    if (i < 16) this.samples[1 + i] = h;
  }

  get doubleFrees(): number { return Atomics.load(this.counters, 0); }
  get badAllocs(): number { return Atomics.load(this.counters, 1); }
  get badKernelReturns(): number { return Atomics.load(this.counters, 2); }

  sampleHandles(): number[] {
    return Array.from(this.samples.subarray(1, 1 + Math.min(16, this.samples[0]!)));
  }
}

/**
 * Counts frames by state in an owner array: {free, app, kernel}. SHARED frames (referenced by clones or
 * refcntUpdate) count as the application's: see {@link frameReport} for the detail.
 */
export function countStates(owner: Int32Array, first = 0, count = owner.length): { free: number; app: number; kernel: number } {
  let free = 0, app = 0, kernel = 0;
  for (let h = first; h < first + count; h++) {
    const s = owner[h]!;
    if (s === FRAME_FREE) free++;
    else if (s === FRAME_APP || s === FRAME_SHARED) app++;
    else kernel++;
  }
  return { free, app, kernel };
}

/** Who holds the frames of a tracked pool (see {@link frameReport}). */
export interface FrameReport {
  free: number;
  /** Handles the application holds (APP): direct frames and clones' own handles. */
  app: number[];
  /** Frames given to a socket (KERNEL states). */
  kernel: number;
  /**
   * SHARED frames whose every reference is a live clone's (the original handle was freed): held by
   * those clones, not leaked; they return to the pool with the last clone.
   */
  heldByClones: number[];
  /** Other SHARED frames: references held by original handles, extra references or sockets. */
  shared: number[];
}

/**
 * The holders of frames [first, first + count) of a tracked pool, from the owner words, reference
 * counts and clones' `direct` words (control path: scans the table). A frame kept alive only by clones
 * the application still holds is in `heldByClones`, not in `app`: a leak check counts `app` (and
 * `shared`) while those clones live.
 *
 * @example
 * const pm = new MbufChain(pool);
 * const c = pm.clone(h);      // h's frame gets a second reference
 * pool.free(h);               // the original handle goes; the clone keeps the frame
 * const r = frameReport(pool.mbufs, pool.first, pool.count); // r.app: [c], r.heldByClones: [h]
 */
export function frameReport(mbufs: MbufTable, first = 0, count = mbufs.count): FrameReport {
  const { owner, direct, refcnt } = mbufs;
  const clones = new Map<number, number>();
  for (let h = 0; h < mbufs.count; h++) {
    const d = direct[h]!;
    if (d >= 0 && owner[h] !== FRAME_FREE) clones.set(d, (clones.get(d) ?? 0) + 1);
  }
  const r: FrameReport = { free: 0, app: [], kernel: 0, heldByClones: [], shared: [] };
  for (let h = first; h < first + count; h++) {
    const s = owner[h]!;
    if (s === FRAME_FREE) r.free++;
    else if (s === FRAME_APP) r.app.push(h);
    else if (s === FRAME_SHARED) (clones.get(h) === refcnt[h] ? r.heldByClones : r.shared).push(h);
    else r.kernel++;
  }
  return r;
}

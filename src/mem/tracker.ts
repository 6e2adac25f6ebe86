/**
 * Frame ownership tracking for debug mode: every frame is FREE (in a mempool), APP (held by the
 * application), or KERNEL (given to an AF_XDP fill or TX ring), with the owner word in the mbuf table.
 * Transitions that do not fit (freeing a frame twice, receiving a frame the kernel did not have) are
 * counted and the first few are recorded with the handle, so tests and `--debug-frames` can report
 * double frees and leaks. Off by default: the data path checks one flag per burst.
 */
export const FRAME_FREE = 0;
export const FRAME_APP = 1;
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

/** Counts frames by state in an owner array: {free, app, kernel}. */
export function countStates(owner: Int32Array, first = 0, count = owner.length): { free: number; app: number; kernel: number } {
  let free = 0, app = 0, kernel = 0;
  for (let h = first; h < first + count; h++) {
    const s = owner[h]!;
    if (s === FRAME_FREE) free++;
    else if (s === FRAME_APP) app++;
    else kernel++;
  }
  return { free, app, kernel };
}

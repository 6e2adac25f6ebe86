/**
 * Clocks for the data path: clock_gettime(2) into a preallocated Float64Array, with no allocation on the
 * JavaScript heap. `performance.now()` returns a fresh heap number on every call (about one minor GC per
 * second at one read per burst); {@link Clock} does not.
 *
 * @example
 * const clk = new MonoClock();        // one per thread, made once
 * const t = clk.nowNs();              // CLOCK_MONOTONIC in ns: what bpf_ktime_get_ns() and uv_hrtime read
 *
 * Values are doubles: nanoseconds are exact while the clock is below 2^53 ns (about 104 days; beyond that
 * CLOCK_MONOTONIC's resolution in a double becomes 2 ns, 4 ns, ...). In practice the `now*()` results
 * get boxed (a heap number per call) whenever V8 does not inline the method into its caller, which
 * large data-path loops often prevent (txgen measured 16 bytes per iteration with `nowNs()`). On a path
 * that must not allocate, call {@link Clock.read} and compute from {@link Clock.ts} in place:
 * `clk.read(); const ns = clk.ts[0]! * 1e9 + clk.ts[1]!`.
 */
import { sys } from "./native.js";
import { check } from "./errno.js";

// Clock ids: include/uapi/linux/time.h.
/** Wall-clock time (settable, jumps). */
export const CLOCK_REALTIME = 0;
/** Time since boot, not counting suspend; never jumps. bpf_ktime_get_ns(), uv_hrtime(), performance.now(). */
export const CLOCK_MONOTONIC = 1;
/** Like CLOCK_MONOTONIC, counting suspend. bpf_ktime_get_boot_ns(). */
export const CLOCK_BOOTTIME = 7;
/** International Atomic Time: CLOCK_REALTIME + the TAI offset the system was told (0 when never set). */
export const CLOCK_TAI = 11;

const clockGettime = sys.clockGettime;

/** Reads one clock into a preallocated array; allocates nothing per read. Not shared between threads. */
export class Clock {
  /** The clock id (CLOCK_*). */
  readonly id: number;
  /** The last reading: ts[0] = seconds, ts[1] = nanoseconds (both exact integers). */
  readonly ts: Float64Array;

  /** Throws a SysError (EINVAL) when the kernel does not know the clock. */
  constructor(id: number) {
    this.id = id;
    // Over an ArrayBuffer of its own: the array never moves and the shim never has to materialize it.
    this.ts = new Float64Array(new ArrayBuffer(16));
    check(clockGettime(id, this.ts), () => `clock_gettime(clock=${id})`);
  }

  /** Reads the clock into {@link ts}. */
  read(): void {
    clockGettime(this.id, this.ts);
  }

  /** Reads the clock: nanoseconds (exact below 2^53). */
  nowNs(): number {
    const ts = this.ts;
    clockGettime(this.id, ts);
    return ts[0]! * 1e9 + ts[1]!;
  }

  /** Reads the clock: microseconds, with the nanoseconds as a fraction. */
  nowUs(): number {
    const ts = this.ts;
    clockGettime(this.id, ts);
    return ts[0]! * 1e6 + ts[1]! / 1e3;
  }

  /**
   * Reads the clock: milliseconds, with a fraction. For {@link MonoClock} this is `performance.now()`
   * plus a constant (performance.now() counts from the process's time origin on the same clock).
   */
  nowMs(): number {
    const ts = this.ts;
    clockGettime(this.id, ts);
    return ts[0]! * 1e3 + ts[1]! / 1e6;
  }
}

/** CLOCK_MONOTONIC: the clock for latency, rates and timeouts; the one bpf_ktime_get_ns() reads. */
export class MonoClock extends Clock {
  constructor() {
    super(CLOCK_MONOTONIC);
  }
}

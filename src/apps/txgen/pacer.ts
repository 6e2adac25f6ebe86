/**
 * The AF_XDP engine's pacing: a token bucket filled at `pps` from the moment sending starts, empty at
 * the start. A frame goes only on a whole token, so by any time t after the start at most
 * pps * (t - start) frames have been released, whatever the load (the bound the tests check).
 *
 * Sends are grouped: the sender waits until `minSend` tokens are due (a slice of the burst, about every
 * 100 us at most), and {@link waitMs} says exactly how long that is, so a sender that sleeps what it is
 * told never falls behind the schedule by more than that slice. A thread that lost the CPU catches up
 * with bursts back to back, up to `cap` tokens (50 ms of backlog, at least two bursts); tokens beyond the
 * cap are dropped and counted in {@link lost}.
 *
 * Times are milliseconds on a monotonic clock the pacer reads itself (the worker's MonoClock; tests pass
 * their own), through `read()` and its `ts` array: a time passed in or returned as a number is boxed (a
 * heap allocation) by every call that the JIT does not inline.
 */
import type { Clock } from "../../sys/clock.js";

/** A clock as the pacer reads it: `read()` puts seconds and nanoseconds in `ts`. */
export type ClockSource = Pick<Clock, "read" | "ts">;

export class Pacer {
  /** Frames per second (0: unpaced, every grant is the whole budget). */
  pps = 0;
  /** Smallest send when paced. */
  minSend = 1;
  /** Most tokens held. */
  cap = 0;
  tokens = 0;
  /** The clock at the last grant. */
  last = 0;
  /** After a grant of 0: milliseconds until `minSend` tokens are due. */
  waitMs = 0;
  /** Tokens dropped at the cap since {@link set} (frames the schedule gave up after a stall). */
  lost = 0;

  /** A new rate (burst: the most frames per send). Starts with {@link start}. */
  set(pps: number, burst: number): void {
    if (!(pps >= 0) || !Number.isFinite(pps)) throw new RangeError(`Invalid rate ${pps} pps`);
    if (!Number.isInteger(burst) || burst < 1) throw new RangeError(`Invalid burst ${burst}`);
    this.pps = pps;
    this.minSend = pps > 0 ? Math.max(1, Math.min(burst, Math.floor(pps / 10000))) : 1;
    this.cap = Math.max(burst * 2, pps * 0.05);
    this.tokens = 0;
    this.waitMs = 0;
    this.lost = 0;
  }

  /** Sending starts now: an empty bucket. */
  start(clk: ClockSource): void {
    clk.read();
    this.tokens = 0;
    this.last = clk.ts[0]! * 1e3 + clk.ts[1]! / 1e6;
    this.waitMs = 0;
  }

  /** How many frames may go now, at most `budget`; 0 with {@link waitMs} set when too few are due. */
  grant(clk: ClockSource, budget: number): number {
    this.waitMs = 0;
    const pps = this.pps;
    if (pps === 0) return budget;
    clk.read();
    const now = clk.ts[0]! * 1e3 + clk.ts[1]! / 1e6;
    let tokens = this.tokens + ((now - this.last) * pps) / 1000;
    this.last = now;
    if (tokens > this.cap) {
      this.lost += tokens - this.cap;
      tokens = this.cap;
    }
    this.tokens = tokens;
    if (tokens < this.minSend) {
      // Plus 1 ns: a sender that sleeps exactly this long finds minSend due despite rounding.
      this.waitMs = ((this.minSend - tokens) * 1000) / pps + 1e-6;
      return 0;
    }
    const whole = Math.floor(tokens);
    return whole < budget ? whole : budget;
  }

  /** `k` frames of a grant went out. */
  took(k: number): void {
    if (this.pps > 0) this.tokens -= k;
  }
}

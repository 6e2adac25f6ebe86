/**
 * The ICMP error rate limit: one token bucket per stack, like Linux's global `icmp_msgs_per_sec` /
 * `icmp_msgs_burst` (net/ipv4/icmp.c, icmp_global_allow): `perSec` tokens a second up to `burst`; an
 * error takes one. Integer arithmetic on the stack's millisecond clock (thousandths of a token), so a
 * check allocates nothing. Echo replies are not limited (Linux's icmp_ratemask covers errors only).
 *
 * @example
 * const rl = new IcmpRateLimit({ perSec: 1000, burst: 50 });
 * if (rl.allow(ctx.clock[0]!)) console.log("send the error");
 */

/** Options of {@link IcmpRateLimit}. */
export interface IcmpRateOptions {
  /** Tokens added a second (default 1000, Linux's icmp_msgs_per_sec); 0 sends no errors at all. */
  perSec?: number;
  /** Most tokens held (default 50, Linux's icmp_msgs_burst). */
  burst?: number;
}

/**
 * A token bucket over a millisecond clock. See the module comment.
 *
 * @example
 * const rl = new IcmpRateLimit({ perSec: 10, burst: 2 });
 * rl.allow(0); rl.allow(0); // true, true
 * rl.allow(0);              // false: empty until 100 ms later
 */
export class IcmpRateLimit {
  declare readonly perSec: number;
  declare readonly burst: number;
  /** Thousandths of a token. */
  declare private milli: number;
  declare private last: number;
  declare private readonly cap: number;

  constructor(o: IcmpRateOptions = {}) {
    const perSec = o.perSec ?? 1000;
    const burst = o.burst ?? 50;
    if (!Number.isInteger(perSec) || perSec < 0 || perSec > 1_000_000) throw new RangeError(`icmp rate limit: perSec ${perSec} is not an integer 0 to 1000000`);
    if (!Number.isInteger(burst) || burst < 1 || burst > 1_000_000) throw new RangeError(`icmp rate limit: burst ${burst} is not an integer 1 to 1000000`);
    this.perSec = perSec;
    this.burst = burst;
    this.cap = burst * 1000;
    this.milli = this.cap;
    this.last = -1;
  }

  /**
   * Whether an error may go out at time `nowMs` (takes a token when it may).
   *
   * @example
   * const ok = new IcmpRateLimit().allow(Date.now());
   */
  allow(nowMs: number): boolean {
    if (this.last < 0) this.last = nowMs;
    const el = nowMs - this.last;
    if (el > 0) {
      const m = this.milli + el * this.perSec;
      this.milli = m > this.cap ? this.cap : m;
      this.last = nowMs;
    }
    if (this.milli < 1000) return false;
    this.milli -= 1000;
    return true;
  }
}

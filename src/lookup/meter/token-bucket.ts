/**
 * How a token bucket is refilled from a clock: DPDK's rte_meter_get_tb_params (CNDP's cne_meter the
 * same). A bucket gains `bytesPerPeriod` tokens every `period` clock ticks, whole periods only (the rest
 * of the elapsed time is carried to the next update). With `hz` ticks per second and a rate in bytes per
 * second, a period is hz / rate ticks per byte, truncated to an integer, when that is at least
 * MIN_PERIOD (100) ticks; otherwise several bytes are added per period, ceil(100 / (hz / rate)), and the
 * period is floor(hz * bytes / rate). Refilling whole periods keeps the arithmetic exact in integers.
 *
 * @example
 * const tb = tokenBucketParams(2.45e9, 125e6); // 1 Gbit/s against a 2.45 GHz cycle counter
 * console.log(tb.period, tb.bytesPerPeriod); // 117 6
 */

/** The shortest refill period in ticks (DPDK's RTE_METER_TB_PERIOD_MIN). */
export const MIN_PERIOD = 100;

/** A bucket's refill: `bytesPerPeriod` tokens every `period` ticks. */
export interface TokenBucketParams {
  readonly period: number;
  readonly bytesPerPeriod: number;
}

/**
 * The refill of a bucket with `rate` bytes per second on a clock of `hz` ticks per second. A rate of 0
 * never refills.
 *
 * @example
 * const { period, bytesPerPeriod } = tokenBucketParams(1e9, 1000); // ns clock, 1000 B/s: 1 byte per 1 ms
 */
export function tokenBucketParams(hz: number, rate: number): TokenBucketParams {
  if (rate === 0) return { period: MIN_PERIOD, bytesPerPeriod: 0 };
  const period = hz / rate;
  if (period >= MIN_PERIOD) return { period: Math.floor(period), bytesPerPeriod: 1 };
  const bytesPerPeriod = Math.ceil(MIN_PERIOD / period);
  const num = hz * bytesPerPeriod;
  if (num > Number.MAX_SAFE_INTEGER) throw new RangeError(`Invalid meter rate ${rate} bytes/s: too high for a clock of ${hz} ticks/s`);
  // rte_meter divides in uint64: floor exactly (a double quotient can round up to the next integer).
  let q = Math.floor(num / rate);
  if (q * rate > num) q--;
  return { period: q, bytesPerPeriod };
}

/**
 * Checks one meter parameter: an integer `min` to 2^48 (bytes, bytes per second, ticks per second);
 * throws a RangeError naming the meter, the parameter and the value.
 *
 * @example
 * const cir = checkMeterParam("srTCM", "cir", 125_000_000, 1);
 */
export function checkMeterParam(what: string, name: string, v: unknown, min = 0): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > 2 ** 48) {
    throw new RangeError(`Invalid ${what} ${name} ${String(v)}: an integer ${min} to 2^48`);
  }
  return v;
}

/**
 * The checked clock rate, flow count and start time of a meter table, and its zeroed shared state of
 * `stride` words per flow (what SrTcm.create and TrTcm.create share). Throws a RangeError naming the value.
 *
 * @example
 * const t = meterTable("srTCM", { hz: 1e9, now: 0, flows: 4 }, 3);
 * console.log(t.flows, t.state.length); // 4 12
 */
export function meterTable(what: string, opts: { hz: number; now: number; flows?: number }, stride: number): { hz: number; flows: number; now: number; state: Float64Array } {
  const hz = checkMeterParam(what, "hz", opts.hz, 1);
  const flows = opts.flows ?? 1;
  if (!Number.isInteger(flows) || flows < 1 || flows > 2 ** 24) throw new RangeError(`Invalid ${what} flow count ${String(flows)}: 1 to 2^24`);
  if (typeof opts.now !== "number" || !Number.isFinite(opts.now)) throw new RangeError(`Invalid ${what} start time ${String(opts.now)}: a finite number of ticks`);
  return { hz, flows, now: opts.now, state: new Float64Array(new SharedArrayBuffer(8 * stride * flows)) };
}

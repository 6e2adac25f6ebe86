import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MIN_PERIOD, tokenBucketParams } from "./token-bucket.js";

/** rte_meter_get_tb_params with uint64 arithmetic (BigInt) where DPDK uses integers. */
function dpdkParams(hz: number, rate: number): [number, number] {
  if (rate === 0) return [100, 0];
  const period = hz / rate;
  if (period >= 100) return [Math.trunc(period), 1];
  const bpp = Math.ceil(100 / period);
  return [Number((BigInt(hz) * BigInt(bpp)) / BigInt(rate)), bpp];
}

describe("lookup/meter: token bucket refill (rte_meter_get_tb_params)", () => {
  it("worked values", () => {
    const cases: [number, number, number, number][] = [
      // hz, rate (B/s), period (ticks), bytes per period
      [1e9, 1000, 1_000_000, 1], // ns clock, 1000 B/s: a byte every ms
      [1e9, 10_000_000, 100, 1], // exactly MIN_PERIOD ticks per byte
      [1e9, 10_000_001, 199, 2], // just below: 2 bytes per 199.99999 -> 199 ticks
      [2.45e9, 125e6, 117, 6], // 1 Gbit/s on a 2.45 GHz cycle counter: 19.6 cycles a byte
      [2.45e9, 3e6, 816, 1], // 816.67 cycles a byte, truncated
      [1e9, 1.25e10, 100, 1250], // 100 Gbit/s on a ns clock
      [1000, 1, 1000, 1],
      [1e9, 0, MIN_PERIOD, 0], // rate 0 never refills
    ];
    for (const [hz, rate, period, bpp] of cases) {
      assert.deepEqual(tokenBucketParams(hz, rate), { period, bytesPerPeriod: bpp }, `hz ${hz} rate ${rate}`);
    }
  });

  it("matches DPDK's arithmetic over random clocks and rates", () => {
    let seed = 12345;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let i = 0; i < 20_000; i++) {
      const hz = [1000, 1e6, 1e9, 2.45e9, 3.7e9, 1e10][i % 6]!;
      const rate = 1 + Math.floor(rnd() * 10 ** (1 + Math.floor(rnd() * 10)));
      const { period, bytesPerPeriod } = tokenBucketParams(hz, rate);
      assert.deepEqual([period, bytesPerPeriod], dpdkParams(hz, rate), `hz ${hz} rate ${rate}`);
    }
  });

  it("refuses a rate the clock cannot express exactly", () => {
    assert.throws(() => tokenBucketParams(2 ** 40, 2 ** 48), /Invalid meter rate 281474976710656 bytes\/s: too high for a clock of 1099511627776 ticks\/s/);
  });
});

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { sys } from "./native.js";
import { SysError } from "./errno.js";
import { Clock, MonoClock, CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_TAI, CLOCK_BOOTTIME } from "./clock.js";
import { gcsDuring } from "../testing/gc-probe.js";

const EINVAL = 22;
const N = 1_000_000;

describe("clockGettime", () => {
  test("writes exact seconds and nanoseconds; agrees with process.hrtime (the same CLOCK_MONOTONIC)", () => {
    const ts = new Float64Array(2);
    for (let i = 0; i < 100; i++) {
      const h0 = process.hrtime.bigint();
      assert.equal(sys.clockGettime(CLOCK_MONOTONIC, ts), 0);
      const h1 = process.hrtime.bigint();
      assert.ok(Number.isInteger(ts[0]) && Number.isInteger(ts[1]));
      assert.ok(ts[1]! >= 0 && ts[1]! < 1e9);
      const ns = BigInt(ts[0]!) * 1_000_000_000n + BigInt(ts[1]!);
      assert.ok(ns >= h0 - 1_000_000n && ns <= h1 + 1_000_000n, `${ns} not within [${h0}, ${h1}] +- 1 ms`);
    }
  });

  test("CLOCK_REALTIME agrees with Date.now(); TAI and BOOTTIME read", () => {
    const clk = new Clock(CLOCK_REALTIME);
    const d0 = Date.now();
    const ms = clk.nowMs();
    const d1 = Date.now();
    assert.ok(ms >= d0 - 5 && ms <= d1 + 5, `${ms} not within [${d0}, ${d1}] +- 5 ms`);
    const tai = new Clock(CLOCK_TAI).nowMs();
    assert.ok(tai - ms >= 0 && tai - ms < 100_000, `TAI - UTC = ${tai - ms} ms`); // 0 when never set, 37 s when set
    assert.ok(new Clock(CLOCK_BOOTTIME).nowNs() >= new MonoClock().nowNs() - 1e6);
  });

  test("an unknown clock answers -EINVAL; Clock throws a SysError naming it", () => {
    const ts = new Float64Array([1, 2]);
    assert.equal(sys.clockGettime(999, ts), -EINVAL);
    assert.deepEqual([...ts], [1, 2]);
    assert.throws(() => new Clock(999), (e: unknown) => e instanceof SysError && /clock_gettime\(clock=999\): EINVAL/.test(e.message));
  });

  test("wrong arguments are TypeErrors", () => {
    assert.throws(() => sys.clockGettime(CLOCK_MONOTONIC, new Float64Array(1)), TypeError);
    assert.throws(() => sys.clockGettime(CLOCK_MONOTONIC, new Uint32Array(4) as unknown as Float64Array), TypeError);
    assert.throws(() => sys.clockGettime(CLOCK_MONOTONIC, [0, 0] as unknown as Float64Array), TypeError);
    assert.throws(() => sys.clockGettime("x" as unknown as number, new Float64Array(2)), TypeError);
    assert.throws(() => (sys.clockGettime as (id: number) => number)(CLOCK_MONOTONIC), TypeError);
  });

  test("MonoClock: monotonic; ns, us and ms agree; ns relates to performance.now() by a constant", () => {
    const clk = new MonoClock();
    let prev = clk.nowNs();
    for (let i = 0; i < 100_000; i++) {
      const t = clk.nowNs();
      assert.ok(t >= prev);
      prev = t;
    }
    const ns = clk.nowNs();
    const us = clk.nowUs();
    const ms = clk.nowMs();
    // Later readings, converted: equal or later, within rounding of the division (a VM clock may not
    // advance between two reads).
    assert.ok(us * 1e3 >= ns - 1 && us * 1e3 - ns < 1e6, `us ${us} after ns ${ns}`);
    assert.ok(ms * 1e6 >= ns - 1 && ms * 1e6 - ns < 1e6, `ms ${ms} after ns ${ns}`);
    clk.read();
    assert.ok(clk.ts[0]! * 1e9 + clk.ts[1]! >= ns);
    // performance.now() = CLOCK_MONOTONIC - timeOrigin: every bracket [p0, p1] around a reading c gives
    // c - p1 <= offset <= c - p0, and all brackets agree on one offset (GC pauses only widen them).
    let lo = -Infinity, hi = Infinity;
    for (let i = 0; i < 50; i++) {
      const p0 = performance.now();
      const c = clk.nowMs();
      const p1 = performance.now();
      lo = Math.max(lo, c - p1);
      hi = Math.min(hi, c - p0);
    }
    assert.ok(lo <= hi + 0.001, `no common offset: [${lo}, ${hi}]`);
  });
});

describe("allocation (GCs over 1,000,000 reads)", () => {
  // Each loop is its own function, run a few times to warm up (until then the interpreter boxes every
  // double, and one OSR'd call still leaves the next call to start unoptimized), then measured.
  const warm = (f: () => void): void => {
    for (let i = 0; i < 3; i++) f();
  };
  function perfNowBoxed(n: number, sink: unknown[]): void {
    for (let i = 0; i < n; i++) sink[i & 1023] = performance.now();
  }
  function rawShim(n: number, ts: Float64Array, out: Float64Array): void {
    let acc = 0;
    for (let i = 0; i < n; i++) acc += sys.clockGettime(CLOCK_MONOTONIC, ts) + ts[1]!;
    out[0] = acc;
  }
  function monoNs(n: number, clk: MonoClock, out: Float64Array): void {
    let prev = clk.nowNs();
    for (let i = 0; i < n; i++) {
      const t = clk.nowNs();
      out[i & 1023] = t - prev;
      prev = t;
    }
  }
  function monoRead(n: number, clk: MonoClock, out: Float64Array): void {
    const ts = clk.ts;
    for (let i = 0; i < n; i++) {
      clk.read();
      out[i & 1023] = ts[0]! * 1e9 + ts[1]!;
    }
  }
  function monoUs(n: number, clk: MonoClock, out: Float64Array): void {
    for (let i = 0; i < n; i++) out[i & 1023] = clk.nowUs();
  }

  test("the counter sees GCs: performance.now() stored as a boxed double collects", async () => {
    const sink: unknown[] = new Array<unknown>(1024).fill(null);
    warm(() => perfNowBoxed(100_000, sink));
    const gcs = await gcsDuring(() => perfNowBoxed(N, sink));
    assert.ok(gcs > 0, `expected GCs from ${N} heap numbers, saw ${gcs}`);
  });

  test("sys.clockGettime itself allocates nothing (its result is a Smi)", async () => {
    const ts = new Float64Array(2);
    const out = new Float64Array(1);
    warm(() => rawShim(100_000, ts, out));
    assert.equal(await gcsDuring(() => rawShim(N, ts, out)), 0);
  });

  test("MonoClock.nowNs / read / nowUs allocate nothing in optimized code", async () => {
    const clk = new MonoClock();
    const out = new Float64Array(1024);
    warm(() => monoNs(100_000, clk, out));
    warm(() => monoRead(100_000, clk, out));
    warm(() => monoUs(100_000, clk, out));
    assert.equal(await gcsDuring(() => monoNs(N, clk, out)), 0, "nowNs");
    assert.equal(await gcsDuring(() => monoRead(N, clk, out)), 0, "read");
    assert.equal(await gcsDuring(() => monoUs(N, clk, out)), 0, "nowUs");
  });
});

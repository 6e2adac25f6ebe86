/**
 * The AF_XDP engine's pacer on an injected clock: the schedule it releases frames on, the bound it keeps
 * whatever the clock does (stalls, bursts of calls), and that a sender doing what it says is never late.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Pacer, type ClockSource } from "./pacer.js";

/** A clock that reads `t` ms. */
const at = (t: number): ClockSource => ({ ts: Float64Array.of(0, t * 1e6), read: () => {} });

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

test("a sender that sleeps what it is told releases floor(rate x t), less than one send slice late", () => {
  for (const [pps, burst] of [[100_000, 64], [1000, 64], [7, 1], [3_000_000, 256], [250_000, 16]] as const) {
    const p = new Pacer();
    p.set(pps, burst);
    const t0 = 123456.789; // an arbitrary clock origin (ms)
    p.start(at(t0));
    let now = t0;
    let released = 0;
    let sleeps = 0;
    let lateWakes = 0;
    while (now < t0 + 1000) {
      const g = p.grant(at(now), burst);
      const due = ((now - t0) * pps) / 1000;
      assert.ok(released + g <= due + 1e-6, `${pps} pps: ${released + g} released by ${now - t0} ms, ${due} due`);
      if (g > 0) {
        assert.ok(g >= Math.min(p.minSend, burst));
        p.took(g);
        released += g;
        continue; // send again at once: whatever is due goes in back-to-back bursts
      }
      // Waiting only when less than one send slice is due, and exactly until it is.
      assert.ok(due - released < p.minSend, `${pps} pps: waits with ${due - released} due`);
      assert.ok(p.waitMs > 0 && p.waitMs <= (p.minSend * 1000) / pps + 1e-5, `${pps} pps: waits ${p.waitMs} ms`);
      now += p.waitMs;
      sleeps++;
      if (p.grant(at(now), burst) === 0) lateWakes++; // (granting twice at one time is the same grant)
    }
    const due = ((now - t0) * pps) / 1000;
    assert.ok(released > due - p.minSend - 1, `${pps} pps: ${released} released, ${due} due`);
    assert.equal(lateWakes, 0, `${pps} pps: woke with nothing to send`);
    assert.ok(sleeps > 0);
    assert.equal(p.lost, 0);
  }
});

test("however the clock jumps, frames released by t never exceed rate x t; stalls beyond the cap are counted lost", () => {
  const pps = 100_000;
  const burst = 64;
  const r = rng(42);
  const p = new Pacer();
  p.set(pps, burst);
  assert.equal(p.cap, 5000); // 50 ms of backlog
  p.start(at(0));
  let now = 0;
  let released = 0;
  const history: [number, number][] = [];
  for (let i = 0; i < 200_000; i++) {
    // Mostly short gaps, some stalls of a few ms, a few of 100+ ms (a thread off the CPU).
    const x = r();
    now += x < 0.9 ? r() * 0.05 : x < 0.999 ? r() * 5 : 100 + r() * 200;
    const g = p.grant(at(now), 1 + Math.floor(r() * burst));
    const k = Math.floor(r() * (g + 1)); // the TX ring may take fewer
    p.took(k);
    released += k;
    assert.ok(released <= (now * pps) / 1000 + 1e-6, `${released} released by ${now} ms`);
    // Accounting: everything due was released, is held, or was given up at the cap.
    assert.ok(Math.abs((now * pps) / 1000 - (released + p.tokens + p.lost)) < 1e-3 * (1 + p.lost));
    assert.ok(p.tokens <= p.cap);
    if ((i & 63) === 0) history.push([now, released]);
  }
  assert.ok(p.lost > 0, "some stalls were longer than the backlog");
  // Over any window, at most rate x window plus the backlog.
  for (let a = 0; a < history.length; a += 97) {
    for (let b = a + 1; b < history.length; b += 13) {
      const [ta, ra] = history[a]!;
      const [tb, rb] = history[b]!;
      assert.ok(rb - ra <= ((tb - ta) * pps) / 1000 + p.cap + burst, `window ${ta}..${tb} ms: ${rb - ra}`);
    }
  }
});

test("after a stall shorter than the backlog, the sender catches up at once without waiting", () => {
  const p = new Pacer();
  p.set(100_000, 64);
  p.start(at(0));
  // 30 ms without running: 3000 frames due, under the 5000 cap.
  let released = 0;
  let calls = 0;
  for (;;) {
    const g = p.grant(at(30), 64);
    if (g === 0) break;
    p.took(g);
    released += g;
    calls++;
  }
  assert.equal(released, 3000);
  assert.equal(calls, Math.ceil(3000 / 64));
  assert.equal(p.lost, 0);
  // 200 ms: the backlog stops at 50 ms worth; the rest is counted lost.
  p.start(at(0));
  p.tokens = 0;
  assert.equal(p.grant(at(200), 64), 64);
  assert.equal(p.tokens, 5000);
  assert.equal(p.lost, 15000);
});

test("unpaced grants the whole budget; the send slice follows the rate", () => {
  const p = new Pacer();
  p.set(0, 32);
  p.start(at(5));
  assert.equal(p.grant(at(5), 32), 32);
  assert.equal(p.grant(at(5), 7), 7);
  p.set(1_000_000, 64);
  assert.equal(p.minSend, 64); // 100 us at 1 Mpps is 100 frames: one burst
  p.set(200_000, 64);
  assert.equal(p.minSend, 20);
  p.set(5000, 64);
  assert.equal(p.minSend, 1);
  p.start(at(0));
  assert.equal(p.grant(at(0), 64), 0);
  assert.ok(Math.abs(p.waitMs - 0.2) < 1e-5);
  assert.throws(() => p.set(-1, 64), /Invalid rate -1 pps/);
  assert.throws(() => p.set(100, 0), /Invalid burst 0/);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { Deque } from "./deque.js";

test("Deque: FIFO across growth and wrap-around", () => {
  const d = new Deque<number>(2);
  const ref: number[] = [];
  let next = 0;
  for (let round = 0; round < 200; round++) {
    const pushes = (round * 7) % 13;
    for (let i = 0; i < pushes; i++) {
      d.push(next);
      ref.push(next++);
    }
    const shifts = (round * 5) % 11;
    for (let i = 0; i < shifts; i++) assert.equal(d.shift(), ref.shift());
    assert.equal(d.length, ref.length);
    assert.equal(d.peek(), ref[0]);
  }
  assert.deepEqual(d.drain(), ref);
  assert.equal(d.length, 0);
  assert.equal(d.shift(), undefined);
});

test("Deque: a million items in and out stays fast (O(1) shift)", () => {
  const d = new Deque<{ i: number }>();
  const t0 = performance.now();
  for (let i = 0; i < 1_000_000; i++) d.push({ i });
  for (let i = 0; i < 1_000_000; i++) assert.equal(d.shift()!.i, i);
  assert.ok(performance.now() - t0 < 2000);
});

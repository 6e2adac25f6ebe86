import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { Ring } from "./ring.js";

test("burst and bulk enqueue/dequeue, wrap-around", () => {
  const r = Ring.create({ size: 8 });
  const src = Uint32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const dst = new Uint32Array(16);
  assert.equal(r.enqueueBurst(src, 10), 8, "burst takes what fits");
  assert.equal(r.enqueueBulk(src, 1), 0, "bulk takes nothing when full");
  assert.equal(r.count(), 8);
  assert.equal(r.dequeueBulk(dst, 9), 0, "bulk takes nothing when short");
  assert.equal(r.dequeueBurst(dst, 5), 5);
  assert.deepEqual([...dst.subarray(0, 5)], [1, 2, 3, 4, 5]);
  for (let round = 0; round < 1000; round++) {
    assert.equal(r.enqueueBulk(src, 5, 2), 5);
    assert.equal(r.dequeueBurst(dst, 5, 3), 5);
  }
  assert.equal(r.count(), 3);
  assert.equal(r.dequeue1(), 5, "FIFO: the last round left 5, 6, 7");
  assert.ok(r.enqueue1(42));
});

test("invalid sizes are rejected with the value named", () => {
  assert.throws(() => Ring.create({ size: 6, name: "x" }), /Invalid ring size 6 for ring 'x'/);
});

test("multi-producer/multi-consumer across worker threads loses and duplicates nothing", async () => {
  const r = Ring.create({ size: 1024, multiProducer: true, multiConsumer: true });
  const per = 200_000;
  const producers = 2;
  const code = `
    const { workerData, parentPort } = require("node:worker_threads");
    import(workerData.url).then(({ Ring }) => {
      const r = Ring.fromShared(workerData.ring);
      const b = new Uint32Array(32);
      if (workerData.role === "p") {
        let next = workerData.base, end = workerData.base + workerData.n;
        while (next < end) {
          const k = Math.min(32, end - next);
          for (let i = 0; i < k; i++) b[i] = next + i;
          next += r.enqueueBurst(b, k);
        }
        parentPort.postMessage(0);
      } else {
        let got = 0, sum = 0;
        while (got < workerData.n) { const k = r.dequeueBurst(b, 32); for (let i = 0; i < k; i++) sum += b[i]; got += k; }
        parentPort.postMessage(sum);
      }
    });`;
  const url = new URL("./ring.js", import.meta.url).href;
  const run = (data: object) => new Promise<number>((res, rej) => {
    const w = new Worker(code, { eval: true, workerData: { ...data, url, ring: r.toShared() } });
    w.once("message", res);
    w.once("error", rej);
  });
  const total = per * producers;
  const results = await Promise.all([
    run({ role: "p", base: 0, n: per }),
    run({ role: "p", base: per, n: per }),
    run({ role: "c", n: total / 2 }),
    run({ role: "c", n: total / 2 }),
  ]);
  const sum = results[2]! + results[3]!;
  assert.equal(sum, (total * (total - 1)) / 2, "every value arrives exactly once");
  assert.equal(r.count(), 0);
});

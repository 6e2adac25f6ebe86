import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { Qsbr } from "./qsbr.js";

describe("lookup: qsbr", () => {
  it("a token passes only when every online reader has reported since", () => {
    const q = Qsbr.create(3);
    assert.equal(q.check(q.start()), true, "all offline");
    q.online(0);
    q.online(2);
    const t = q.start();
    assert.equal(q.check(t), false);
    q.quiescent(0);
    assert.equal(q.check(t), false, "reader 2 has not reported");
    q.quiescent(2);
    assert.equal(q.check(t), true);
    const t2 = q.start();
    q.offline(2);
    assert.equal(q.check(t2), false, "reader 0 still online");
    q.quiescent(0);
    assert.equal(q.check(t2), true);
    assert.throws(() => q.online(3), /Invalid QSBR reader slot 3: 0 to 2/);
    assert.throws(() => Qsbr.create(0), /Invalid QSBR reader count 0/);
  });

  it("wraps the 32-bit token safely", () => {
    const q = Qsbr.create(1);
    (q as unknown as { w: Int32Array }).w[0] = 0x7ffffffe;
    q.online(0);
    const t = q.start(); // 0x7fffffff
    const t2 = q.start(); // wraps negative
    assert.equal(q.check(t), false);
    q.quiescent(0);
    assert.equal(q.check(t), true);
    assert.equal(q.check(t2), true);
    for (let i = 0; i < 5; i++) q.start();
    assert.equal(q.check(q.start()), false);
  });

  it("synchronize waits for a reader on another thread, and times out on a stuck one", async () => {
    const q = Qsbr.create(1);
    q.online(0);
    assert.equal(await q.synchronize(q.start(), 20), false);
    const src = `const { workerData } = require("node:worker_threads");
      const w = new Int32Array(workerData.words);
      const stop = new Int32Array(workerData.stop);
      while (Atomics.load(stop, 0) === 0) { Atomics.store(w, 1, Atomics.load(w, 0)); }
      Atomics.store(w, 1, 0);`;
    const stop = new SharedArrayBuffer(4);
    const worker = new Worker(src, { eval: true, workerData: { words: q.shared().words, stop } });
    try {
      for (let i = 0; i < 50; i++) assert.equal(await q.synchronize(q.start(), 5000), true);
    } finally {
      Atomics.store(new Int32Array(stop), 0, 1);
      await new Promise((r) => worker.once("exit", r));
    }
  });
});

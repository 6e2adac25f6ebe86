import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BroadcastChannel, Worker } from "node:worker_threads";
import { SharedSlot, type SharedSlotShared } from "./shared-slot.js";
import { gcsDuring, sleep } from "../testing/gc-probe.js";

interface Box {
  readonly id: number;
  readonly sab: SharedArrayBuffer;
}

const box = (id: number): Box => {
  const sab = new SharedArrayBuffer(4);
  new Int32Array(sab)[0] = id;
  return { id, sab };
};

/**
 * A worker in a busy loop that never yields: it polls the slot; every value it gets, it acknowledges by
 * storing the value's id (read from the value's SharedArrayBuffer: proves the buffer is shared) in ctl[1].
 * ctl[2] counts "late" polls: the version word had changed but poll() returned null. ctl[0] = 1 stops it.
 */
const BUSY_WORKER = `
  const { workerData, parentPort } = require("node:worker_threads");
  import(workerData.url).then(({ SharedSlot }) => {
    const ctl = new Int32Array(workerData.ctl);
    const slot = SharedSlot.fromShared(workerData.slot);
    const word = new Int32Array(workerData.slot.words);
    Atomics.store(ctl, 1, new Int32Array(slot.current.sab)[0]);
    parentPort.postMessage("ready");
    let polls = 0;
    while (Atomics.load(ctl, 0) === 0) {
      const changed = Atomics.load(word, 0) !== slot.version;
      const v = slot.poll();
      polls++;
      if (v === null) { if (changed && workerData.countLate) Atomics.add(ctl, 2, 1); continue; }
      if (v !== slot.current) throw new Error("poll() and current disagree");
      Atomics.store(ctl, 1, new Int32Array(v.sab)[0]);
    }
    slot.close();
    parentPort.postMessage({ polls, version: slot.version });
  });`;

interface BusyWorker {
  worker: Worker;
  /** The worker's next message (rejects if it fails or exits first). */
  next(): Promise<unknown>;
}

/**
 * One 'message' listener for the worker's whole life, queueing what arrives: with a `once` listener per
 * reply, a reply posted right before the worker exits was seen lost on a loaded machine (Node 20 and 24).
 */
function startWorker(slot: SharedSlotShared<Box>, ctl: SharedArrayBuffer, countLate: boolean): BusyWorker {
  const url = new URL("./shared-slot.js", import.meta.url).href;
  const worker = new Worker(BUSY_WORKER, { eval: true, workerData: { url, slot, ctl, countLate } });
  const queue: unknown[] = [];
  const waiting: { resolve: (m: unknown) => void; reject: (e: Error) => void }[] = [];
  let ended: Error | null = null;
  worker.on("message", (m) => {
    const w = waiting.shift();
    if (w) w.resolve(m);
    else queue.push(m);
  });
  const end = (e: Error): void => {
    ended = e;
    for (const w of waiting.splice(0)) w.reject(e);
  };
  worker.on("error", end);
  worker.on("exit", (code) => end(new Error(`worker exited (code ${code}) without a reply`)));
  return {
    worker,
    next: () =>
      new Promise((resolve, reject) => {
        if (queue.length > 0) resolve(queue.shift());
        else if (ended) reject(ended);
        else waiting.push({ resolve, reject });
      }),
  };
}

async function stopWorker(w: BusyWorker, ctl: Int32Array): Promise<{ polls: number; version: number }> {
  const exited = new Promise((r) => w.worker.once("exit", r));
  Atomics.store(ctl, 0, 1);
  const r = (await w.next()) as { polls: number; version: number };
  await exited;
  return r;
}

describe("lookup: shared slot", () => {
  it("a busy-looping worker sees every publish at the first poll after the version changes", async () => {
    const slot = SharedSlot.create(box(1));
    const ctlBuf = new SharedArrayBuffer(12);
    const ctl = new Int32Array(ctlBuf);
    const w = startWorker(slot.shared(), ctlBuf, true);
    try {
      assert.equal(await w.next(), "ready");
      assert.equal(Atomics.load(ctl, 1), 1);
      for (let id = 2; id <= 2001; id++) {
        slot.publish(box(id));
        // Spin without yielding (the worker does not need our event loop).
        const end = Date.now() + 10_000;
        while (Atomics.load(ctl, 1) !== id) if (Date.now() > end) assert.fail(`worker never saw value ${id}`);
      }
      assert.equal(Atomics.load(ctl, 2), 0, "polls that saw a new version but no message");
    } finally {
      const r = await stopWorker(w, ctl);
      assert.equal(r.version, 2001);
      slot.close();
    }
  });

  it("a value published between shared() and fromShared() reaches the worker (resend request)", async () => {
    const slot = SharedSlot.create(box(1));
    const s = slot.shared();
    slot.publish(box(2));
    slot.publish(box(3));
    const ctlBuf = new SharedArrayBuffer(12);
    const ctl = new Int32Array(ctlBuf);
    const w = startWorker(s, ctlBuf, false);
    try {
      assert.equal(await w.next(), "ready");
      // The worker cannot have received the posts (its channel did not exist): it asks, we answer from
      // our event loop.
      const end = Date.now() + 10_000;
      while (Atomics.load(ctl, 1) !== 3) {
        if (Date.now() > end) assert.fail(`worker stuck at ${Atomics.load(ctl, 1)}`);
        await sleep(1);
      }
      slot.publish(box(4));
      while (Atomics.load(ctl, 1) !== 4) {
        if (Date.now() > end) assert.fail(`worker stuck at ${Atomics.load(ctl, 1)}`);
        await sleep(1);
      }
    } finally {
      const r = await stopWorker(w, ctl);
      assert.equal(r.version, 4);
      slot.close();
    }
  });

  it("a late message: poll() keeps the old value until it arrives, then takes the newest", () => {
    const slot = SharedSlot.create(box(1));
    const reader = SharedSlot.fromShared<Box>(slot.shared());
    const fake = new BroadcastChannel(slot.shared().channel);
    try {
      const word = new Int32Array(slot.shared().words);
      Atomics.store(word, 0, 3); // the version word ran ahead of the messages
      assert.equal(reader.poll(), null);
      assert.equal(reader.current.id, 1);
      assert.equal(reader.version, 1);
      fake.postMessage({ slotVersion: 2, value: box(2) });
      const v2 = reader.poll();
      assert.equal(v2?.id, 2, "a newer message is taken even if not the newest yet");
      assert.equal(reader.poll(), null, "still behind the word: no message yet");
      fake.postMessage({ slotVersion: 3, value: box(3) });
      fake.postMessage({ slotVersion: 2, value: box(22) }); // stale duplicate (a resend) is ignored
      assert.equal(reader.poll()?.id, 3);
      assert.equal(reader.version, 3);
      assert.equal(reader.poll(), null);
      fake.postMessage({ slotVersion: 3, value: box(33) });
      Atomics.store(word, 0, 4);
      assert.equal(reader.poll(), null, "a repeated version is not a new value");
      assert.equal(reader.current.id, 3);
    } finally {
      fake.close();
      reader.close();
      slot.close();
    }
  });

  it("messages dispatched by a worker's event loop are not lost", async () => {
    const slot = SharedSlot.create(box(1));
    const reader = SharedSlot.fromShared<Box>(slot.shared());
    try {
      slot.publish(box(2));
      slot.publish(box(3));
      await sleep(50); // our event loop runs and dispatches the reader's queued messages
      assert.equal(reader.poll()?.id, 3);
      assert.equal(reader.poll(), null);
    } finally {
      reader.close();
      slot.close();
    }
  });

  it("the version wraps around 2^31 and skips 0", () => {
    const slot = SharedSlot.create(box(1));
    (slot as unknown as { ver: number }).ver = 0x7fffffff;
    const reader = SharedSlot.fromShared<Box>({ ...slot.shared(), version: 0x7fffffff });
    try {
      Atomics.store(new Int32Array(slot.shared().words), 0, 0x7fffffff);
      slot.publish(box(2));
      assert.equal(slot.version, -0x80000000);
      assert.equal(reader.poll()?.id, 2);
      (slot as unknown as { ver: number }).ver = -1;
      (reader as unknown as { ver: number }).ver = -1;
      slot.publish(box(3));
      assert.equal(slot.version, 1, "0 is skipped");
      assert.equal(reader.poll()?.id, 3);
    } finally {
      reader.close();
      slot.close();
    }
  });

  it("poll() allocates nothing when nothing changed", async () => {
    const slot = SharedSlot.create(box(1));
    const reader = SharedSlot.fromShared<Box>(slot.shared());
    try {
      let nulls = 0;
      const gcs = await gcsDuring(() => {
        for (let i = 0; i < 5_000_000; i++) if (reader.poll() === null) nulls++;
      });
      assert.equal(nulls, 5_000_000);
      assert.equal(gcs, 0);
    } finally {
      reader.close();
      slot.close();
    }
  });

  it("errors: publish on a worker's view, after close, null values, uncloneable values change nothing", () => {
    assert.throws(() => SharedSlot.create(null), /SharedSlot value must not be null/);
    const slot = SharedSlot.create<unknown>({ a: 1 });
    const reader = SharedSlot.fromShared<unknown>(slot.shared());
    assert.throws(() => reader.publish({ a: 2 }), /only the thread that created the slot publishes/);
    assert.throws(() => slot.publish(undefined), /must not be undefined/);
    assert.throws(() => slot.publish({ f: () => 1 }), /could not be cloned/);
    assert.equal(slot.version, 1);
    assert.deepEqual(slot.current, { a: 1 });
    assert.equal(reader.poll(), null);
    reader.close();
    slot.close();
    slot.close();
    assert.throws(() => slot.publish({ a: 3 }), /the slot is closed/);
  });
});

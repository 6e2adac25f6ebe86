import { test } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { NullPort } from "./null.js";
import { RingPort } from "./ring-port.js";
import { openShared } from "./registry.js";

test("null port: rx fabricates, tx frees, stats count both, admin down stops both", () => {
  const u = Umem.create({ frames: 512 });
  try {
    const mp = Mempool.create({ umem: u, cacheSize: 16 });
    const p = NullPort.create({ name: "null0", pid: 3, mempool: mp, pktSize: 128 });
    const b = new Uint32Array(64);
    assert.equal(p.rxBurst(b, 64), 64);
    assert.equal(mp.mbufs.dataLen[b[0]!], 128);
    assert.equal(mp.mbufs.port[b[0]!], 3);
    assert.equal(p.txBurst(b, 64), 64);
    assert.deepEqual([p.stats[0], p.stats[1], p.stats[2], p.stats[3]], [64, 64 * 128, 64, 64 * 128]);
    p.setAdmin(false);
    assert.equal(p.isUp(), false);
    assert.equal(p.rxBurst(b, 64), 0);
    p.setAdmin(true);
    // The shared form opens the same port (same counters) as another thread would.
    const q = openShared(p.toShared());
    assert.equal(q.rxBurst(b, 8), 8);
    assert.equal(p.stats[0], 72);
    q.txBurst(b, 8);
    p.close();
    (q as NullPort).close();
    assert.equal(mp.available(), 512);
  } finally {
    u.close();
  }
});

test("ring ports wired back to back pass handles and count drops when full", () => {
  const u = Umem.create({ frames: 64 });
  try {
    const mp = Mempool.create({ umem: u, cacheSize: 0 });
    const [a, b] = RingPort.pair({ names: ["ra", "rb"], pids: [0, 1], mbufs: mp.mbufs, size: 16 });
    const bufs = new Uint32Array(32);
    const n = mp.allocBulk(bufs, 32);
    for (let i = 0; i < n; i++) mp.mbufs.dataLen[bufs[i]!] = 60;
    assert.equal(a.txBurst(bufs, 32), 16, "the ring takes what fits");
    assert.equal(a.stats[6], 16, "odropped counts the rest");
    mp.freeBulk(bufs, 16, 16);
    const got = new Uint32Array(32);
    assert.equal(b.rxBurst(got, 32), 16);
    assert.deepEqual([...got.subarray(0, 16)], [...bufs.subarray(0, 16)]);
    assert.equal(mp.mbufs.port[got[0]!], 1, "port id set on receive");
    assert.equal(b.stats[1], 16 * 60);
    assert.equal(a.rxBurst(got, 32), 0);
    mp.freeBulk(got, 16);
    assert.equal(mp.available(), 64);
  } finally {
    u.close();
  }
});

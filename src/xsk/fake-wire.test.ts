/**
 * The fake wire (src/testing/fake-xsk.ts): a thread playing the kernel for several fake sockets moves
 * frames from one socket's TX ring to another's RX ring, as veths in copy mode. No root needed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { FakeKernel, startFakeWire } from "../testing/fake-xsk.js";

const payload = (seq: number, size: number): Uint8Array => {
  const f = new Uint8Array(size);
  for (let i = 0; i < size; i++) f[i] = (seq + i * 13) & 0xff;
  new DataView(f.buffer).setUint32(0, seq);
  return f;
};

test("fake wire: frames sent on one fake socket arrive byte for byte on the one it is wired to, and back", async () => {
  const umem = Umem.create({ frames: 2048 });
  const mp = Mempool.create({ umem, debug: true });
  const a = FakeKernel.create({ mempool: mp, name: "wireA", rxSize: 256, txSize: 256, fillSize: 512, compSize: 512, fillLevel: 256 });
  const b = FakeKernel.create({ mempool: mp, name: "wireB", rxSize: 256, txSize: 256, fillSize: 512, compSize: 512, fillLevel: 256 });
  const wire = startFakeWire([a.toShared(), b.toShared()], [1, 0]);
  try {
    await wire.ready;
    const N = 2000;
    // At most WINDOW frames in flight: no ring (256 entries, fill level 256) can overflow, so nothing drops.
    const WINDOW = 128;
    const bufs = new Uint32Array(64);
    const rx = new Uint32Array(64);
    const got: number[] = [];
    let sent = 0;
    let echoed = 0;
    const t0 = Date.now();
    // A sends, B receives and echoes, A receives the echo.
    while (got.length < N && Date.now() - t0 < 20000) {
      const want = Math.min(32, N - sent, WINDOW - (sent - got.length));
      if (want > 0) {
        const n = mp.allocBulk(bufs, want);
        for (let i = 0; i < n; i++) {
          const size = 60 + ((sent + i) % 900);
          umem.u8.set(payload(sent + i, size), bufs[i]! * 2048 + 256);
          mp.mbufs.dataLen[bufs[i]!] = size;
        }
        assert.equal(a.xsk.txBurst(bufs, n), n, "A's TX ring has room");
        sent += n;
      }
      const m = b.xsk.rxBurst(rx, 64);
      if (m > 0) {
        assert.equal(b.xsk.txBurst(rx, m), m, "B's TX ring has room");
        echoed += m;
      }
      const r = a.xsk.rxBurst(rx, 64);
      for (let i = 0; i < r; i++) {
        const h = rx[i]!;
        const at = h * 2048 + mp.mbufs.dataOff[h]!;
        const seq = new DataView(umem.buf, at, 4).getUint32(0);
        assert.deepEqual(umem.u8.slice(at, at + mp.mbufs.dataLen[h]!), payload(seq, 60 + (seq % 900)), `frame ${seq}`);
        got.push(seq);
      }
      mp.freeBulk(rx, r);
      if (r === 0 && m === 0) await new Promise((res) => setImmediate(res));
    }
    const c = await wire.stop();
    assert.deepEqual(got, Array.from({ length: N }, (_, i) => i), "every frame made the round trip, in order");
    assert.equal(echoed, N);
    assert.deepEqual({ ...c, kicks: 0 }, {
      moved: 2 * N, droppedNoFill: 0, droppedRxFull: 0, droppedTooLong: 0, sunk: 0, txInvalid: 0, kicks: 0,
      sent: [N, N], received: [N, N],
    });
    // Everything back after the sockets reclaim the last completions and close.
    a.xsk.service();
    b.xsk.service();
  } finally {
    await wire.stop();
    a.xsk.close();
    b.xsk.close();
    a.close();
    b.close();
  }
  assert.equal(mp.available(), 2048);
  const t = mp.tracker!;
  assert.equal(t.doubleFrees + t.badAllocs + t.badKernelReturns, 0);
  umem.close();
});

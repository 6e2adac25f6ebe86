/**
 * UMEMs from 2 to 4 GiB: handles from 2^20 (2048-byte frames) start above 2^31, where `h << shift` turns
 * negative. Every handle-to-offset conversion must be unsigned. Only the touched pages become resident.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "../../mem/umem.js";
import { Mempool } from "../../mem/mempool.js";
import { Pktmbuf } from "../../mem/pktmbuf.js";
import { macSwap, fillTemplate, fwdPort, txTemplate } from "./modes.js";

test("a 3 GiB UMEM: pktmbuf, MAC swap, tx-only template and fwd's port lookup work on frames above 2 GiB", () => {
  const frames = (3 * 2 ** 30) / 2048;
  const u = Umem.create({ frames, name: "big" });
  try {
    const first = frames - 1024; // the pool's frames all lie above 2^31 bytes
    const mp = Mempool.create({ umem: u, first, count: 1024, cacheSize: 0 });
    const pm = new Pktmbuf(u, mp.mbufs);
    const h = mp.alloc();
    assert.ok(h >= 2 ** 20 && h * 2048 >= 2 ** 31, `handle ${h} is a high one`);
    assert.equal(pm.mtod(h), h * 2048 + 256, "mtod is the exact unsigned offset");
    const frame = Uint8Array.from({ length: 64 }, (_, i) => i);
    frame[5] = 3; // fwd: destination port 3
    pm.write(h, frame);
    assert.deepEqual([...u.u8.subarray(h * 2048 + 256, h * 2048 + 256 + 64)], [...frame], "bytes land at h * 2048 + 256");
    assert.equal(fwdPort(u.u8, mp.mbufs.dataOff, u.shift, h), 3);
    const bufs = Uint32Array.of(h);
    macSwap(u.u8, u.u16, mp.mbufs.dataOff, u.shift, bufs, 1);
    assert.deepEqual([...pm.bytes(h).subarray(0, 12)], [6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 3]);
    const tpl = txTemplate({ size: 64 });
    fillTemplate(u.u8, u.u32, mp.mbufs.dataOff, mp.mbufs.dataLen, u.shift, tpl, new Uint8Array(tpl.buffer), 64, bufs, 1);
    assert.deepEqual([...pm.bytes(h)], [...new Uint8Array(tpl.buffer, 0, 64)], "template written at the high frame");
    mp.free(h);
  } finally {
    u.close();
  }
});

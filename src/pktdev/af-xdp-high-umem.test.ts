/**
 * A 2 GiB + 8 MiB UMEM on a real AF_XDP socket whose pool holds only frames above 2 GiB: the fill ring, RX and
 * TX descriptors carry addresses from 2^31 up, and lb returns every frame byte for byte (before the fix,
 * `h << shift` turned negative from handle 2^20 and the kernel got garbage addresses).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createVethPair, canUseNetns } from "../testing/netns.js";
import { PacketSocket, udpFrame } from "../testing/packet-socket.js";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { countStates } from "../mem/tracker.js";
import { AfXdpPort } from "./af-xdp.js";

/** Swaps the MACs of `n` frames in place (the test's own, at exact unsigned offsets). */
function macSwap(u8: Uint8Array, dataOff: Uint16Array, bufs: Uint32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const o = bufs[i]! * 2048 + dataOff[bufs[i]!]!;
    for (let j = 0; j < 6; j++) {
      const t = u8[o + j]!;
      u8[o + j] = u8[o + 6 + j]!;
      u8[o + 6 + j] = t;
    }
  }
}

const skip = canUseNetns() ? false : "needs root (namespaces, veth, XDP)";

test("lb over a UMEM above 2 GiB with every frame above 2 GiB: every frame back, byte for byte, none leaked", { skip }, async () => {
  const v = createVethPair();
  const frames = 2 ** 20 + 4096; // 2 GiB + 8 MiB
  const umem = Umem.create({ frames, name: "big" });
  let port: AfXdpPort | null = null;
  let ps: PacketSocket | null = null;
  try {
    const first = frames - 4096;
    const mp = Mempool.create({ umem, first, count: 4096, cacheSize: 64, debug: true });
    port = AfXdpPort.create({ name: `${v.a}:0`, pid: 0, ifname: v.a, qid: 0, mempool: mp, rxSize: 512, txSize: 512, log: () => {} });
    ps = PacketSocket.open(v.b, v.ns);
    const sent = Array.from({ length: 500 }, (_, i) => udpFrame({ dst: v.macA, src: v.macB, seq: i, size: 60 + (i % 7) * 200 }));
    const bufs = new Uint32Array(64);
    const back = new Map<number, Uint8Array>();
    let s = 0;
    let lowest = Infinity;
    const t0 = Date.now();
    while (back.size < sent.length && Date.now() - t0 < 10000) {
      for (let k = 0; k < 16 && s < sent.length; k++) if (ps.send(sent[s]!)) s++;
      const n: number = port.rxBurst(bufs, 64);
      for (let i = 0; i < n; i++) lowest = Math.min(lowest, bufs[i]!);
      macSwap(umem.u8, mp.mbufs.dataOff, bufs, n);
      const k: number = port.txBurst(bufs, n);
      assert.equal(k, n, "the TX ring took the burst");
      let f;
      while ((f = ps.recv()) !== null) {
        if (f[0] !== parseInt(v.macB.slice(0, 2), 16) || f.length < 46) continue;
        back.set(new DataView(f.buffer, f.byteOffset).getUint32(42), f);
      }
      if (n === 0) await new Promise((r) => setImmediate(r));
    }
    assert.ok(lowest >= 2 ** 20, `received in frames from handle ${lowest} (offset ${lowest * 2048}) up`);
    assert.equal(back.size, sent.length, "every frame came back");
    for (let i = 0; i < sent.length; i++) {
      const want = Uint8Array.from(sent[i]!);
      want.set(sent[i]!.subarray(6, 12), 0);
      want.set(sent[i]!.subarray(0, 6), 6);
      assert.deepEqual(back.get(i), want, `frame ${i} MAC-swapped, the rest unchanged`);
    }
    port.close();
    port = null;
    mp.flushCache();
    assert.equal(mp.available(), 4096, "every frame back in the pool");
    assert.equal(mp.tracker!.doubleFrees + mp.tracker!.badAllocs + mp.tracker!.badKernelReturns, 0);
    assert.deepEqual(countStates(mp.mbufs.owner, first, 4096), { free: 4096, app: 0, kernel: 0 });
  } finally {
    ps?.close();
    port?.close();
    umem.close();
    v.destroy();
  }
});

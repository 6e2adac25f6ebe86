import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createVethPair, canUseNetns } from "../testing/netns.js";
import { PacketSocket, udpFrame } from "../testing/packet-socket.js";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { Pktmbuf } from "../mem/pktmbuf.js";
import { XskSocket } from "./socket.js";
import { sys } from "../sys/native.js";
import { SOL_SOCKET, SO_BUSY_POLL, SO_PREFER_BUSY_POLL } from "../sys/consts.js";

const skip = canUseNetns() ? false : "needs root (namespaces, veth, AF_XDP)";

describe("xsk socket on a veth", { skip }, () => {
  test("TX: frames reach the peer byte for byte; completions return every frame; veth falls back to copy mode", async () => {
    const v = createVethPair();
    const umem = Umem.create({ frames: 4096 });
    const logs: string[] = [];
    try {
      const mp = Mempool.create({ umem, debug: true });
      const xsk = XskSocket.create({ ifname: v.a, qid: 0, mempool: mp, log: (m) => logs.push(m) });
      assert.equal(xsk.zeroCopy, false);
      assert.match(logs.join("\n"), /does not support AF_XDP zero-copy \(EOPNOTSUPP\); using copy mode/);
      const ps = PacketSocket.open(v.b, v.ns);
      const pm = new Pktmbuf(umem, mp.mbufs);
      const frames = Array.from({ length: 500 }, (_, i) => udpFrame({ dst: v.macB, src: v.macA, seq: i, size: 60 + i }));
      const bufs = new Uint32Array(64);
      let sent = 0;
      while (sent < frames.length) {
        const n = mp.allocBulk(bufs, Math.min(64, frames.length - sent));
        for (let i = 0; i < n; i++) pm.write(bufs[i]!, frames[sent + i]!);
        const k = xsk.txBurst(bufs, n);
        if (k < n) mp.freeBulk(bufs, n - k, k);
        sent += k;
      }
      const got: Uint8Array[] = [];
      const t0 = Date.now();
      while (got.length < frames.length && Date.now() - t0 < 3000) {
        let f;
        while ((f = ps.recv()) !== null) got.push(f);
        xsk.reclaim();
        ps.wait(10);
      }
      assert.equal(got.length, frames.length);
      for (let i = 0; i < frames.length; i++) assert.deepEqual(got[i], frames[i], `frame ${i}`);
      const st = xsk.readStats();
      assert.equal(st["opackets"], 500);
      // Copy mode sends 32 frames per kick unless XDP_MAX_TX_SKB_BUDGET (6.17+) raised it; past the
      // budget the kernel answers EAGAIN and the kick loop goes on.
      assert.ok(xsk.txBudget === 32 || xsk.txBudget === 256, `tx budget ${xsk.txBudget}`);
      if (xsk.txBudget === 32) assert.ok(st["tx_kick_again"]! > 0, "copy mode answered EAGAIN past 32 frames per kick");
      ps.close();
      xsk.close();
      assert.equal(mp.available(), 4096, "every frame back in the pool");
      assert.equal(mp.tracker!.doubleFrees + mp.tracker!.badKernelReturns + mp.tracker!.badAllocs, 0);
    } finally {
      umem.close();
      v.destroy();
    }
  });

  test("busy poll options are set on the socket", () => {
    const v = createVethPair();
    const umem = Umem.create({ frames: 4096 });
    try {
      const mp = Mempool.create({ umem });
      const xsk = XskSocket.create({ ifname: v.a, qid: 0, mempool: mp, busyPoll: { timeoutUs: 20, budget: 64 } });
      const out = new Int32Array(1);
      sys.getsockopt(xsk.fd, SOL_SOCKET, SO_BUSY_POLL, out);
      assert.equal(out[0], 20);
      sys.getsockopt(xsk.fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, out);
      assert.equal(out[0], 1);
      xsk.close();
    } finally {
      umem.close();
      v.destroy();
    }
  });

  test("errors name the call, the netdev and the queue, and release everything", () => {
    const v = createVethPair();
    const umem = Umem.create({ frames: 4096 });
    try {
      const mp = Mempool.create({ umem, debug: true });
      assert.throws(() => XskSocket.create({ ifname: v.a, qid: 3, mempool: mp }),
        (e: Error & { code?: string }) => /^bind\(xsk xdpa-\S+ ifindex=\d+ queue=3 copy\): (EINVAL|ENXIO)/.test(e.message) && /queue 3/.test(e.message));
      assert.equal(mp.available(), 4096, "no frame kept by the failed socket");
      assert.throws(() => XskSocket.create({ ifname: "nosuchdev0", qid: 0, mempool: mp }), /netdev 'nosuchdev0' not found/);
      assert.throws(() => XskSocket.create({ ifname: v.a, qid: 0, mempool: mp, rxSize: 1000 }), /Invalid xdpa-\S+:0 rx ring size 1000/);
    } finally {
      umem.close();
      v.destroy();
    }
  });
});

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createVethPair, canUseNetns } from "../testing/netns.js";
import { PacketSocket, udpFrame } from "../testing/packet-socket.js";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { Pktmbuf } from "../mem/pktmbuf.js";
import { XskSocket } from "./socket.js";
import * as X from "./if-xdp.js";
import { sys } from "../sys/native.js";
import { AF_XDP, SOCK_RAW, SOCK_CLOEXEC, SOL_SOCKET, SO_BUSY_POLL, SO_PREFER_BUSY_POLL } from "../sys/consts.js";
import { loadXskRedirect } from "../bpf/xsk-redirect.js";
import { XdpLink } from "../bpf/link.js";

const skip = canUseNetns() ? false : "needs root (namespaces, veth, AF_XDP)";

/** What setsockopt(XDP_MAX_TX_SKB_BUDGET, min(txSize, 256)) answers on a fresh socket with a TX ring. */
function txBudgetRc(txSize: number): number {
  const fd = sys.socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  assert.ok(fd >= 0, `socket(AF_XDP): ${fd}`);
  try {
    assert.equal(sys.setsockopt(fd, X.SOL_XDP, X.XDP_TX_RING, new Uint32Array([txSize])), 0);
    return sys.setsockopt(fd, X.SOL_XDP, X.XDP_MAX_TX_SKB_BUDGET, new Uint32Array([Math.min(txSize, 256)]));
  } finally {
    sys.close(fd);
  }
}

/** Entries on a socket's RX ring not read yet. */
function rxQueued(xsk: XskSocket): number {
  const r = xsk.toShared().rings.rx;
  return (Atomics.load(r.u32, r.prod) - Atomics.load(r.u32, r.cons)) >>> 0;
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

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
      // Copy mode sends 32 frames per kick unless XDP_MAX_TX_SKB_BUDGET (6.17+) raises it to min(tx ring,
      // 256): the socket sets it where the kernel takes it (the test asks the kernel itself).
      const rc = txBudgetRc(2048);
      assert.equal(xsk.txBudget, rc === 0 ? 256 : 32, `setsockopt(XDP_MAX_TX_SKB_BUDGET) answered ${rc}`);
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
      // Linux 6.13+ gives only zero-copy sockets a NAPI id at bind: a copy-mode (veth) socket has none, so
      // its data path does not busy-poll (the options stay set for a kernel that would use them).
      assert.equal(xsk.zeroCopy, false);
      assert.equal(xsk.napiId, 0);
      assert.equal(xsk.busyPoll, false);
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
  test("the TX budget is the TX ring size up to 256 where the kernel takes XDP_MAX_TX_SKB_BUDGET", () => {
    // One queue per socket: the kernel frees a closed socket's queue later (deferred work), so the same
    // queue may still answer EBUSY right after close().
    const v = createVethPair({ queues: 2 });
    const umem = Umem.create({ frames: 1024 });
    try {
      const mp = Mempool.create({ umem });
      for (const [qid, txSize] of [[0, 64], [1, 512]] as const) {
        const rc = txBudgetRc(txSize);
        const xsk = XskSocket.create({ ifname: v.a, qid, mempool: mp, txSize, rxSize: 64, copyMode: "copy" });
        try {
          assert.equal(xsk.txBudget, rc === 0 ? Math.min(txSize, 256) : 32, `tx ring ${txSize}: setsockopt answered ${rc}`);
        } finally {
          xsk.close();
        }
      }
    } finally {
      umem.close();
      v.destroy();
    }
  });

  test("the kernel's ring layout is the one fake rings use (KERNEL_RING_OFFSETS)", () => {
    const v = createVethPair();
    const umem = Umem.create({ frames: 1024 });
    try {
      const xsk = XskSocket.create({ ifname: v.a, qid: 0, mempool: Mempool.create({ umem }), rxSize: 64, txSize: 64 });
      try {
        const ob = new Uint8Array(X.MMAP_OFFSETS_SIZE);
        assert.ok(sys.getsockopt(xsk.fd, X.SOL_XDP, X.XDP_MMAP_OFFSETS, ob) > 0);
        const off = X.parseMmapOffsets(ob);
        for (const r of [off.rx, off.tx, off.fr, off.cr]) assert.deepEqual(r, X.KERNEL_RING_OFFSETS);
      } finally {
        xsk.close();
      }
    } finally {
      umem.close();
      v.destroy();
    }
  });

  test("shared UMEM: on the same queue the second socket uses the first one's fill and completion rings; on another queue its own", async () => {
    const v = createVethPair({ queues: 2 });
    const umem = Umem.create({ frames: 4096 });
    const redirect = loadXskRedirect();
    let link: XdpLink | null = null;
    const socks: XskSocket[] = [];
    const ps = PacketSocket.open(v.b, v.ns);
    try {
      const mp = Mempool.create({ umem, debug: true });
      const owner = XskSocket.create({ ifname: v.a, qid: 0, mempool: mp, needWakeup: false, copyMode: "copy", name: "owner" });
      socks.push(owner);
      assert.throws(() => XskSocket.create({ ifname: v.a, qid: 0, mempool: mp, shareUmemWith: owner, needWakeup: true }),
        /needWakeup true differs from owner's \(false\)/);
      const same = XskSocket.create({ ifname: v.a, qid: 0, mempool: mp, shareUmemWith: owner, name: "same" });
      socks.push(same);
      const other = XskSocket.create({ ifname: v.a, qid: 1, mempool: mp, shareUmemWith: owner, name: "other" });
      socks.push(other);
      assert.equal(same.needWakeup, false, "inherited");
      assert.equal(other.needWakeup, false, "inherited");
      assert.equal(same.toShared().rings.fill, null);
      assert.equal(same.toShared().rings.comp, null);
      assert.equal(same.fillLevel, 0);
      assert.notEqual(other.toShared().rings.fill, null);

      link = XdpLink.attach(redirect.prog, v.a, { mode: "drv" });
      redirect.map.updateU32(0, same.fd);
      redirect.map.updateU32(1, other.fd);
      const N = 200;
      for (let i = 0; i < N; i++) {
        assert.ok(ps.send(udpFrame({ dst: v.macA, src: v.macB, seq: i, size: 80, sport: 1000 + i })));
      }
      const bufs = new Uint32Array(64);
      const got = new Map<string, number[]>([["same", []], ["other", []]]);
      const pm = new Pktmbuf(umem, mp.mbufs);
      let echoed = 0;
      const take = (x: XskSocket, echo: boolean) => {
        const n = x.rxBurst(bufs, 64);
        for (let i = 0; i < n; i++) got.get(x.name)!.push(umem.view.getUint32(pm.mtod(bufs[i]!) + 42));
        if (echo && n > 0) {
          assert.equal(x.txBurst(bufs, n), n);
          echoed += n;
        } else {
          mp.freeBulk(bufs, n);
        }
        return n;
      };
      assert.ok(await until(() => {
        take(same, true);
        take(other, false);
        owner.service();
        return got.get("same")!.length + got.get("other")!.length >= N;
      }, 5000), `received ${got.get("same")!.length} + ${got.get("other")!.length} of ${N}`);
      assert.ok(got.get("same")!.length > 0 && got.get("other")!.length > 0, "both queues received");
      assert.deepEqual([...got.get("same")!, ...got.get("other")!].sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i));
      assert.equal(owner.rxBurst(bufs, 64), 0, "the queue's packets go to the socket in the XSKMAP");
      // The echoes reach the peer; their completions come back on the owner's completion ring.
      const echoes: Uint8Array[] = [];
      assert.ok(await until(() => {
        let f;
        while ((f = ps.recv()) !== null) echoes.push(f);
        return echoes.filter((e) => e.length === 80 && e[12] === 0x08).length >= echoed;
      }, 3000), `peer got the ${echoed} echoes`);
      assert.equal(same.reclaim(), 0, "nothing to reclaim on a socket without a completion ring");
      assert.ok(await until(() => (owner.reclaim(), owner.pendingTx === 0), 2000), `owner pendingTx ${owner.pendingTx}`);
      assert.equal(same.pendingTx, 0);
      assert.equal(owner.readStats()["tx_completed"], echoed);

      assert.throws(() => owner.close(), /xsk owner: cannot close: 1 socket\(s\) bound to \S+ queue 0 with its UMEM use its fill and completion rings; close them first/);
      link.close();
      link = null;
      same.close();
      other.close();
      owner.close();
      assert.equal(mp.available(), 4096, "every frame back in the pool");
      const t = mp.tracker!;
      assert.equal(t.doubleFrees + t.badKernelReturns + t.badAllocs, 0, `tracker samples ${t.sampleHandles()}`);
    } finally {
      ps.close();
      link?.close();
      for (const x of socks.reverse()) {
        try { x.close(); } catch { /* closed above */ }
      }
      redirect.close();
      umem.close();
      v.destroy();
    }
  });

  async function closeWithRxUnread(debug: boolean): Promise<number> {
    const v = createVethPair();
    const umem = Umem.create({ frames: 1024 });
    const redirect = loadXskRedirect();
    let link: XdpLink | null = null;
    const ps = PacketSocket.open(v.b, v.ns);
    let xsk: XskSocket | null = null;
    try {
      const mp = Mempool.create({ umem, debug });
      xsk = XskSocket.create({ ifname: v.a, qid: 0, mempool: mp, rxSize: 256, txSize: 64 });
      link = XdpLink.attach(redirect.prog, v.a, { mode: "drv" });
      redirect.map.updateU32(0, xsk.fd);
      for (let i = 0; i < 40; i++) assert.ok(ps.send(udpFrame({ dst: v.macA, src: v.macB, seq: i })));
      assert.ok(await until(() => rxQueued(xsk!) >= 40, 3000), `RX ring has ${rxQueued(xsk)} of 40`);
      const bufs = new Uint32Array(16);
      assert.equal(xsk.rxBurst(bufs, 10), 10);
      assert.equal(xsk.txBurst(bufs, 10), 10, "sent back");
      link.close();
      link = null;
      xsk.close();
      if (debug) assert.equal(mp.tracker!.doubleFrees + mp.tracker!.badKernelReturns + mp.tracker!.badAllocs, 0);
      return mp.available();
    } finally {
      ps.close();
      link?.close();
      if (xsk && !xsk.isClosed) xsk.close();
      redirect.close();
      umem.close();
      v.destroy();
    }
  }

  test("close returns the RX frames not read, with and without the frame tracker", async () => {
    assert.equal(await closeWithRxUnread(false), 1024);
    assert.equal(await closeWithRxUnread(true), 1024);
  });

  test("TX frames the kernel would reject are not posted: counted in tx_invalid, the kernel sees none", async () => {
    const v = createVethPair();
    const umem = Umem.create({ frames: 1024 });
    const ps = PacketSocket.open(v.b, v.ns);
    try {
      const mp = Mempool.create({ umem, debug: true });
      const xsk = XskSocket.create({ ifname: v.a, qid: 0, mempool: mp, txSize: 64 });
      const pm = new Pktmbuf(umem, mp.mbufs);
      const bufs = new Uint32Array(4);
      assert.equal(mp.allocBulk(bufs, 4), 4);
      const good = udpFrame({ dst: v.macB, src: v.macA, seq: 7 });
      pm.write(bufs[0]!, good);
      pm.write(bufs[3]!, good);
      mp.mbufs.dataLen[bufs[1]!] = 0;
      mp.mbufs.dataLen[bufs[2]!] = 2048 - 256 + 1;
      assert.equal(xsk.txBurst(bufs, 4), 4, "all taken");
      const got: Uint8Array[] = [];
      assert.ok(await until(() => {
        let f;
        while ((f = ps.recv()) !== null) if (f.length === good.length) got.push(f);
        xsk.reclaim();
        return got.length >= 2 && xsk.pendingTx === 0;
      }, 3000), `peer got ${got.length}, pending ${xsk.pendingTx}`);
      const st = xsk.readStats();
      assert.equal(st["tx_invalid_descs"], 0, "the kernel saw no invalid descriptor");
      assert.equal(st["tx_invalid"], 2);
      assert.equal(st["opackets"], 2);
      xsk.close();
      assert.equal(mp.available(), 1024);
      assert.equal(mp.tracker!.doubleFrees + mp.tracker!.badKernelReturns + mp.tracker!.badAllocs, 0);
    } finally {
      ps.close();
      umem.close();
      v.destroy();
    }
  });
});

/**
 * net_af_packet against the kernel on a veth pair (the peer end in its own namespace): VLAN tags the
 * kernel takes off come back, two queues share a PACKET_FANOUT group (flow hash, round-robin), what the
 * ring cannot hold is counted in imissed, frames that cannot be carried are counted, and the data path
 * allocates nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { AfPacketPort } from "./af-packet.js";
import { canUseNetns, createVethPair, type VethPair } from "../testing/netns.js";
import { PacketSocket, udpFrame } from "../testing/packet-socket.js";
import { receive, bytesOf, framesInPool, sendAll, assertAllReturned, testFrame } from "../testing/port-conformance.js";
import { gcsDuring } from "../testing/gc-probe.js";

const skip = canUseNetns() ? false : "needs root (namespaces, veth)";

async function withVeth(fn: (v: VethPair, pool: Mempool, peer: PacketSocket) => Promise<void>, o: { mtu?: number; frames?: number } = {}): Promise<void> {
  const v = createVethPair(o.mtu ? { mtu: o.mtu } : {});
  const umem = Umem.create({ frames: o.frames ?? 4096 });
  let peer: PacketSocket | null = null;
  try {
    const pool = Mempool.create({ umem, cacheSize: 32, debug: true });
    peer = PacketSocket.open(v.b, v.ns);
    await fn(v, pool, peer);
    assertAllReturned(pool);
  } finally {
    peer?.close();
    v.destroy();
    umem.close();
  }
}

/** Frames of the tests' kind (IPv4 UDP, or EtherType 0x88b5) seen by the peer, until `count` or 3 s. */
async function collect(ps: PacketSocket, count: number, ms = 3000): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  const end = Date.now() + ms;
  while (out.length < count && Date.now() < end) {
    let f;
    while ((f = ps.recv()) !== null) out.push(f);
    if (out.length < count) {
      ps.wait(10);
      await new Promise((r) => setImmediate(r));
    }
  }
  return out;
}

const hex = (f: Uint8Array) => Buffer.from(f).toString("hex");

test("VLAN-tagged frames from the peer arrive byte for byte (the tag the kernel took off is put back)", { skip }, async () => {
  await withVeth(async (v, pool, peer) => {
    const port = AfPacketPort.create({ name: `${v.a}:0`, pid: 3, ifname: v.a, mempool: pool });
    try {
      const plain = udpFrame({ dst: v.macA, src: v.macB, seq: 1 });
      const tag = (tpid: number, tci: number, inner: Uint8Array) => {
        const f = new Uint8Array(inner.length + 4);
        f.set(inner.subarray(0, 12), 0);
        f.set([tpid >> 8, tpid & 0xff, tci >> 8, tci & 0xff], 12);
        f.set(inner.subarray(12), 16);
        return f;
      };
      const frames = [plain, tag(0x8100, 0x2064, udpFrame({ dst: v.macA, src: v.macB, seq: 2 })), tag(0x88a8, 0x0123, tag(0x8100, 0x0456, udpFrame({ dst: v.macA, src: v.macB, seq: 3 })))];
      for (const f of frames) assert.ok(peer.send(f));
      const got = await receive(port, frames.length);
      assert.deepEqual(got.map((h) => hex(bytesOf(pool, h))), frames.map(hex));
      assert.deepEqual(got.map((h) => pool.mbufs.port[h]), [3, 3, 3]);
      assert.equal(port.stats[1], frames.reduce((a, f) => a + f.length, 0), "ibytes count the tags");
      pool.freeBulk(Uint32Array.from(got), got.length);
    } finally {
      port.close();
    }
  });
});

test("two queues in a fanout group (hash): every frame arrives once, each flow on one queue, both queues used", { skip }, async () => {
  await withVeth(async (v, pool, peer) => {
    const q0 = AfPacketPort.create({ name: `${v.a}:0`, pid: 0, ifname: v.a, qid: 0, mempool: pool });
    const q1 = AfPacketPort.create({ name: `${v.a}:1`, pid: 1, ifname: v.a, qid: 1, mempool: pool });
    try {
      assert.equal(q0.fanoutGroup, q1.fanoutGroup, "one group per netdev");
      const flows = 64;
      const per = 4;
      const frames: Uint8Array[] = [];
      for (let k = 0; k < per; k++) for (let fl = 0; fl < flows; fl++) frames.push(udpFrame({ dst: v.macA, src: v.macB, seq: k * flows + fl, sport: 1000 + fl, dport: 53 }));
      let sent = 0;
      const got: [number, string][] = [];
      const bufs = new Uint32Array(64);
      const end = Date.now() + 5000;
      while (got.length < frames.length && Date.now() < end) {
        while (sent < frames.length && sent - got.length < 256 && peer.send(frames[sent]!)) sent++;
        for (const [qi, q] of [[0, q0], [1, q1]] as const) {
          const n = q.rxBurst(bufs, 64);
          for (let i = 0; i < n; i++) got.push([qi, hex(bytesOf(pool, bufs[i]!))]);
          pool.freeBulk(bufs, n);
        }
        await new Promise((r) => setImmediate(r));
      }
      assert.deepEqual(got.map((g) => g[1]).sort(), frames.map(hex).sort(), "every frame exactly once");
      const queueOfFlow = new Map<number, Set<number>>();
      for (const [qi, h] of got) {
        const sport = parseInt(h.slice(68, 72), 16);
        const s = queueOfFlow.get(sport) ?? new Set<number>();
        s.add(qi);
        queueOfFlow.set(sport, s);
      }
      assert.equal(queueOfFlow.size, flows);
      for (const [sport, qs] of queueOfFlow) assert.equal(qs.size, 1, `flow ${sport} stays on one queue`);
      const on0 = got.filter((g) => g[0] === 0).length;
      assert.ok(on0 > 0 && on0 < frames.length, `both queues receive (${on0} of ${frames.length} on queue 0)`);
      assert.equal(q0.stats[0]! + q1.stats[0]!, frames.length);
    } finally {
      q1.close();
      q0.close();
    }
  });
});

test("two queues in a fanout group (lb): frames are dealt round-robin, exactly half each", { skip }, async () => {
  await withVeth(async (v, pool, peer) => {
    const q0 = AfPacketPort.create({ name: `${v.a}:0`, pid: 0, ifname: v.a, qid: 0, mempool: pool, fanout: "lb", fanoutGroup: 4242 });
    const q1 = AfPacketPort.create({ name: `${v.a}:1`, pid: 1, ifname: v.a, qid: 1, mempool: pool, fanout: "lb", fanoutGroup: 4242 });
    try {
      const frames = Array.from({ length: 100 }, (_, i) => testFrame(i, 64));
      for (const f of frames) assert.ok(peer.send(f));
      const a = await receive(q0, 50);
      const b = await receive(q1, 50);
      assert.equal(a.length, 50);
      assert.equal(b.length, 50);
      const all = [...a, ...b].map((h) => hex(bytesOf(pool, h))).sort();
      assert.deepEqual(all, frames.map(hex).sort());
      pool.freeBulk(Uint32Array.from([...a, ...b]), 100);
      assert.equal((await receive(q0, 1, 50)).length + (await receive(q1, 1, 50)).length, 0, "nothing more");
    } finally {
      q1.close();
      q0.close();
    }
  });
});

test("what a full RX ring cannot hold is counted in imissed: received + imissed = sent, exactly", { skip }, async () => {
  await withVeth(async (v, pool, peer) => {
    // Two 4 KiB blocks: room for a few dozen small frames.
    const port = AfPacketPort.create({ name: `${v.a}:0`, pid: 0, ifname: v.a, mempool: pool, rxSize: 1, blockSize: 4096 });
    try {
      const sent = 400;
      for (let i = 0; i < sent; i++) assert.ok(peer.send(testFrame(i, 60)));
      await new Promise((r) => setTimeout(r, 100));
      const got = await receive(port, sent, 500);
      const bytes = got.map((h) => hex(bytesOf(pool, h)));
      pool.freeBulk(Uint32Array.from(got), got.length);
      const s = port.readStats();
      assert.ok(got.length > 0 && got.length < sent, `the ring held some (${got.length})`);
      assert.equal(s["ipackets"], got.length);
      assert.equal(s["imissed"]! + s["ipackets"]!, sent, `received ${s["ipackets"]} + missed ${s["imissed"]}`);
      // The frames that made it are the first ones, in order (the ring filled up, the rest was dropped).
      assert.deepEqual(bytes, Array.from({ length: got.length }, (_, i) => hex(testFrame(i, 60))));
    } finally {
      port.close();
    }
  });
});

test("a dry pool leaves frames in the ring (rx_nombuf) and loses none; frames too long for a buffer are ierrors", { skip }, async () => {
  await withVeth(async (v, pool, peer) => {
    const port = AfPacketPort.create({ name: `${v.a}:0`, pid: 0, ifname: v.a, mempool: pool });
    try {
      // Hold all but 16 buffers: 40 frames come, 16 fit.
      const held = new Uint32Array(pool.count - 16);
      assert.equal(pool.allocBulk(held, held.length), held.length);
      const frames = Array.from({ length: 40 }, (_, i) => testFrame(i, 200));
      for (const f of frames) assert.ok(peer.send(f));
      const first = await receive(port, 16);
      assert.equal(first.length, 16);
      assert.equal(port.rxBurst(new Uint32Array(64), 64), 0, "no buffer, no frame");
      assert.ok(port.readStats()["rx_nombuf"]! > 0, "rx_nombuf counts the frames left waiting");
      pool.freeBulk(held, held.length);
      const rest = await receive(port, 24);
      assert.deepEqual([...first, ...rest].map((h) => hex(bytesOf(pool, h))), frames.map(hex), "none lost, in order");
      pool.freeBulk(Uint32Array.from([...first, ...rest]), 40);
      assert.equal(port.readStats()["imissed"], 0);
    } finally {
      port.close();
    }
  });
  await withVeth(async (v, pool, peer) => {
    const port = AfPacketPort.create({ name: `${v.a}:0`, pid: 0, ifname: v.a, mempool: pool });
    try {
      // MTU 4000: a 3000-byte frame crosses the veth but not a 2048-byte buffer (1792 bytes of room).
      assert.ok(peer.send(testFrame(1, 3000)));
      assert.ok(peer.send(testFrame(2, 1500)));
      const got = await receive(port, 1);
      assert.deepEqual(got.map((h) => hex(bytesOf(pool, h))), [hex(testFrame(2, 1500))]);
      pool.freeBulk(Uint32Array.from(got), 1);
      assert.equal(port.stats[5], 1, "ierrors");
      assert.equal(port.stats[0], 1, "ipackets");
    } finally {
      port.close();
    }
  }, { mtu: 4000 });
});

test("TX: frames longer than the MTU allows are refused (tx_invalid) and freed; the others reach the peer", { skip }, async () => {
  await withVeth(async (v, pool, peer) => {
    const port = AfPacketPort.create({ name: `${v.a}:0`, pid: 0, ifname: v.a, mempool: pool });
    try {
      assert.equal(port.info()["txMaxLen"], 1514);
      const tagged = testFrame(3, 1518);
      tagged.set([0x81, 0x00, 0x00, 0x05, 0x88, 0xb5], 12);
      const frames = [testFrame(1, 1514), testFrame(2, 1515), tagged, testFrame(4, 60)];
      await sendAll(port, framesInPool(pool, frames));
      const seen = await collect(peer, 3);
      // The peer's plain packet socket gets the 802.1Q tag as metadata (the kernel takes it off on receive).
      const untagged = new Uint8Array(tagged.length - 4);
      untagged.set(tagged.subarray(0, 12), 0);
      untagged.set(tagged.subarray(16), 12);
      assert.deepEqual(seen.map(hex), [frames[0]!, untagged, frames[3]!].map(hex));
      const s = port.readStats();
      assert.deepEqual([s["opackets"], s["obytes"], s["tx_invalid"], s["oerrors"]], [3, 1514 + 1518 + 60, 1, 0]);
    } finally {
      port.close();
    }
  });
});

test("TX wraps the ring many times: every frame reaches the peer, in order", { skip }, async () => {
  await withVeth(async (v, pool, peer) => {
    const port = AfPacketPort.create({ name: `${v.a}:0`, pid: 0, ifname: v.a, mempool: pool, txSize: 64 });
    try {
      const total = 1000;
      const seen: Uint8Array[] = [];
      for (let i = 0; i < total; i += 50) {
        await sendAll(port, framesInPool(pool, Array.from({ length: 50 }, (_, k) => testFrame(i + k, 60 + ((i + k) % 200)))));
        seen.push(...(await collect(peer, 50, 2000)));
      }
      assert.equal(seen.length, total);
      seen.forEach((f, i) => assert.equal(hex(f), hex(testFrame(i, 60 + (i % 200))), `frame ${i}`));
      assert.equal(port.stats[2], total);
    } finally {
      port.close();
    }
  });
});

test("the data path allocates nothing: a million bursts of TX and empty RX", { skip }, async () => {
  await withVeth(async (v, pool) => {
    const port = AfPacketPort.create({ name: `${v.a}:0`, pid: 0, ifname: v.a, mempool: pool });
    try {
      const bufs = new Uint32Array(8);
      const loop = (count: number) => {
        for (let i = 0; i < count; i++) {
          port.rxBurst(bufs, 8);
          const n = pool.allocBulk(bufs, 1);
          pool.mbufs.dataLen[bufs[0]!] = 60;
          const k = port.txBurst(bufs, n);
          if (k < n) pool.freeBulk(bufs, n - k, k);
        }
      };
      loop(20000);
      const gcs = await gcsDuring(() => loop(200000));
      assert.equal(gcs, 0, "no garbage collection during 200000 rx+tx bursts");
    } finally {
      port.close();
    }
  });
});

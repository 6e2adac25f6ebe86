/**
 * The standard nodes over ring ports (no root): pktdev_rx classifies, pkt_cls sends IPv4 on and the rest
 * to pkt_drop (or a chosen node), ip4_rewrite decrements the TTL with a valid checksum, rewrites the MACs
 * and drops expired TTLs and unset next hops, pktdev_tx hands what the port refuses to pkt_drop; every
 * frame comes back to the pool and the node stats add up to what the ports counted.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "../../mem/umem.js";
import { Mempool } from "../../mem/mempool.js";
import { RingPort } from "../../pktdev/ring-port.js";
import { udpFrame, ipv4Checksum } from "../../wire/udp-frame.js";
import { Graph } from "../graph.js";
import type { NodeSpec } from "../node.js";
import { pktdevRxNode } from "./pktdev-rx.js";
import { pktClsNode } from "./pkt-cls.js";
import { pktDropNode } from "./pkt-drop.js";
import { pktdevTxNode } from "./pktdev-tx.js";
import { ip4RewriteNode } from "./ip4-rewrite.js";
import { RewriteTable } from "./rewrite-table.js";

/** Writes `frames` into fresh buffers of `mp`; returns their handles. */
function load(mp: Mempool, frames: Uint8Array[]): Uint32Array {
  const hs = new Uint32Array(frames.length);
  assert.equal(mp.allocBulk(hs, frames.length), frames.length);
  frames.forEach((f, i) => {
    const h = hs[i]!;
    mp.umem.u8.set(f, h * mp.umem.frameSize + mp.mbufs.dataOff[h]!);
    mp.mbufs.dataLen[h] = f.length;
  });
  return hs;
}

/** The bytes of frame `h`. */
function bytes(mp: Mempool, h: number): Uint8Array {
  const o = h * mp.umem.frameSize + mp.mbufs.dataOff[h]!;
  return mp.umem.u8.slice(o, o + mp.mbufs.dataLen[h]!);
}

function recorder(name: string, got: number[]): NodeSpec {
  return { name, next: [], process: (_g, _n, objs, n) => { for (let i = 0; i < n; i++) got.push(objs[i]!); return n; } };
}

const MAC_A = "02:00:00:00:00:0a";
const MAC_B = "02:00:00:00:00:0b";

describe("standard nodes", () => {
  test("pktdev_rx + pkt_cls: IPv4 (with or without options) to ip4_lookup, everything else to pkt_drop, freed", () => {
    const u = Umem.create({ frames: 1024 });
    try {
      const mp = Mempool.create({ umem: u, cacheSize: 0 });
      const [a, b] = RingPort.pair({ names: ["a", "b"], pids: [0, 1], mbufs: mp.mbufs });
      const v4 = udpFrame({ dst: MAC_A, src: MAC_B, seq: 1 });
      const opts = udpFrame({ dst: MAC_A, src: MAC_B, seq: 2, size: 68 });
      opts[14] = 0x46; // IHL 6: one option word (the classifier only looks at the type)
      const arp = udpFrame({ dst: MAC_A, src: MAC_B, seq: 3 });
      arp[12] = 0x08; arp[13] = 0x06;
      const v6 = udpFrame({ dst: MAC_A, src: MAC_B, seq: 4, size: 80 });
      v6[12] = 0x86; v6[13] = 0xdd; v6[14] = 0x60;
      const vlan = new Uint8Array(68);
      vlan.set(v4.subarray(0, 12));
      vlan[12] = 0x81; vlan[13] = 0x00; vlan[14] = 0; vlan[15] = 5;
      vlan.set(v4.subarray(12), 16);
      const runt = v4.slice(0, 10);
      const frames = [v4, opts, arp, v6, vlan, runt, v4];
      const hs = load(mp, frames);
      assert.equal(b!.txBurst(hs, hs.length), hs.length);
      const toIp4: number[] = [];
      const g = Graph.create({
        name: "cls",
        nodes: [pktdevRxNode({ port: a!, burst: 32, mempool: mp }), pktClsNode({ mempool: mp }), recorder("ip4_lookup", toIp4), pktDropNode({ mempool: mp })],
      });
      assert.equal(g.walk(), 7);
      assert.deepEqual(toIp4, [hs[0], hs[1], hs[6]]);
      const s = new Map(g.stats.read().nodes.map((n) => [n.name, n]));
      assert.deepEqual(s.get("pkt_cls")!.next, { pkt_drop: 4, ip4_lookup: 3 });
      assert.equal(s.get("pkt_drop")!.objs, 4);
      assert.equal(s.get("pktdev_rx-0")!.objs, a!.stats[0], "rx objects = what the port received");
      mp.freeBulk(Uint32Array.from(toIp4), toIp4.length);
      assert.equal(mp.available(), 1024, "every frame back in the pool");
    } finally {
      u.close();
    }
  });

  test("pkt_cls sends non-IPv4 to a chosen node instead", () => {
    const u = Umem.create({ frames: 64 });
    try {
      const mp = Mempool.create({ umem: u, cacheSize: 0 });
      const [a, b] = RingPort.pair({ names: ["a", "b"], pids: [0, 1], mbufs: mp.mbufs });
      const arp = udpFrame({ dst: MAC_A, src: MAC_B, seq: 3 });
      arp[12] = 0x08; arp[13] = 0x06;
      const hs = load(mp, [arp, udpFrame({ dst: MAC_A, src: MAC_B, seq: 1 })]);
      b!.txBurst(hs, 2);
      const other: number[] = [];
      const ip4: number[] = [];
      const cls = pktClsNode({ mempool: mp, other: "slow_path" });
      assert.deepEqual(cls.next, ["pkt_drop", "ip4_lookup", "slow_path"]);
      const g = Graph.create({
        name: "cls2",
        nodes: [pktdevRxNode({ port: a!, burst: 32, mempool: mp }), cls, recorder("ip4_lookup", ip4), recorder("slow_path", other), pktDropNode({ mempool: mp })],
      });
      g.walk();
      assert.deepEqual(other, [hs[0]]);
      assert.deepEqual(ip4, [hs[1]]);
      mp.freeBulk(hs, 2);
    } finally {
      u.close();
    }
  });

  test("ip4_rewrite: TTL - 1 with a valid checksum, next hop's MAC as destination, tx port's MAC as source; TTL <= 1 and unset next hops dropped", () => {
    const u = Umem.create({ frames: 256 });
    try {
      const mp = Mempool.create({ umem: u, cacheSize: 0 });
      const [p0, far0] = RingPort.pair({ names: ["p0", "far0"], pids: [0, 10], mbufs: mp.mbufs });
      const [p1, far1] = RingPort.pair({ names: ["p1", "far1"], pids: [1, 11], mbufs: mp.mbufs });
      const nh = RewriteTable.create(8);
      nh.set(0, new Uint8Array([2, 0, 0, 0, 0xee, 0]), 0);
      nh.set(1, new Uint8Array([2, 0, 0, 0, 0xee, 1]), 1);
      nh.set(2, new Uint8Array([2, 0, 0, 0, 0xee, 2]), 7); // lport 7: not a port of this graph
      // frame i: (ttl, next hop)
      const cases: [number, number][] = [[64, 0], [2, 1], [1, 0], [0, 1], [255, 1], [64, 3], [64, 2], [64, 100], [128, 0]];
      const frames = cases.map(([ttl], i) => udpFrame({ dst: MAC_A, src: MAC_B, seq: i, ttl, size: 64 + i }));
      const hs = load(mp, frames);
      cases.forEach(([, n], i) => (mp.mbufs.udata[hs[i]!] = n));
      let fed = false;
      const g = Graph.create({
        name: "rw",
        nodes: [
          { name: "src", source: true, next: ["ip4_rewrite"], process: (gr, node) => { if (fed) return 0; fed = true; gr.enqueue(node, 0, hs, 0, hs.length); return hs.length; } },
          ip4RewriteNode({ mempool: mp, nextHops: nh, ports: [{ pid: 0, mac: new Uint8Array([2, 0, 0, 0, 0xa0, 0]) }, { pid: 1, mac: new Uint8Array([2, 0, 0, 0, 0xa1, 1]) }] }),
          pktdevTxNode({ pid: 0, port: p0! }),
          pktdevTxNode({ pid: 1, port: p1! }),
          pktDropNode({ mempool: mp }),
        ],
      });
      g.walk();
      const out = new Uint32Array(64);
      const got0 = Array.from(out.subarray(0, far0!.rxBurst(out, 64)));
      const got1 = Array.from(out.subarray(0, far1!.rxBurst(out, 64)));
      assert.deepEqual(got0, [hs[0], hs[8]]);
      assert.deepEqual(got1, [hs[1], hs[4]]);
      for (const [i, port] of [[0, 0], [8, 0], [1, 1], [4, 1]] as const) {
        const f = bytes(mp, hs[i]!);
        const want = Uint8Array.from(frames[i]!);
        want.set([2, 0, 0, 0, 0xee, cases[i]![1]], 0);
        want.set([2, 0, 0, 0, port === 0 ? 0xa0 : 0xa1, port], 6);
        want[22] = cases[i]![0] - 1;
        assert.equal(ipv4Checksum(f, 14), 0, `frame ${i}: the header checksum is valid`);
        want[24] = f[24]!; want[25] = f[25]!;
        assert.deepEqual(f, want, `frame ${i}: MACs and TTL rewritten, nothing else`);
        // The incremental update equals a full recomputation.
        const z = Uint8Array.from(f);
        z[24] = 0; z[25] = 0;
        const full = ipv4Checksum(z, 14);
        assert.equal((f[24]! << 8) | f[25]!, full, `frame ${i}: checksum as computed from scratch`);
      }
      const s = g.stats.read().nodes.find((n) => n.name === "ip4_rewrite")!;
      assert.deepEqual(s.counters, { ttl_expired: 2, no_next_hop: 3 });
      assert.deepEqual(s.next, { pkt_drop: 5, "pktdev_tx-0": 2, "pktdev_tx-1": 2 });
      assert.equal(p0!.stats[2], 2, "port 0 sent 2");
      assert.equal(p1!.stats[2], 2, "port 1 sent 2");
      mp.freeBulk(Uint32Array.from([...got0, ...got1]), 4);
      assert.equal(mp.available(), 256);
    } finally {
      u.close();
    }
  });

  test("pktdev_tx hands the frames the port refuses to pkt_drop; objects in = sent + dropped", () => {
    const u = Umem.create({ frames: 256 });
    try {
      const mp = Mempool.create({ umem: u, cacheSize: 0 });
      const port = RingPort.create({ name: "small", pid: 0, mbufs: mp.mbufs, size: 8 });
      const hs = load(mp, Array.from({ length: 20 }, (_, i) => udpFrame({ seq: i })));
      let fed = false;
      const g = Graph.create({
        name: "tx",
        nodes: [
          { name: "src", source: true, next: ["pktdev_tx-0"], process: (gr, node) => { if (fed) return 0; fed = true; gr.enqueue(node, 0, hs, 0, 20); return 20; } },
          pktdevTxNode({ pid: 0, port }),
          pktDropNode({ mempool: mp }),
        ],
      });
      g.walk();
      const s = new Map(g.stats.read().nodes.map((n) => [n.name, n]));
      assert.equal(s.get("pktdev_tx-0")!.objs, 20);
      assert.equal(s.get("pktdev_tx-0")!.next["pkt_drop"], 12);
      assert.equal(port.stats[2], 8, "the port took 8 (its ring)");
      assert.equal(s.get("pkt_drop")!.objs, 12);
      const out = new Uint32Array(8);
      assert.equal(port.tx.dequeueBurst(out, 8), 8);
      assert.deepEqual([...out], [...hs.subarray(0, 8)], "the first 8, in order");
      mp.freeBulk(out, 8);
      assert.equal(mp.available(), 256);
      assert.throws(() => pktdevTxNode({ pid: 1, port }), /pktdev_tx-1: port 'small' is lport 0/);
      assert.throws(() => pktdevTxNode({ pid: 1 }), /give exactly one of port and inbox/);
    } finally {
      u.close();
    }
  });

  test("rewrite table: set, get, clear; bad values refused", () => {
    const t = RewriteTable.create(4);
    assert.equal(t.get(0), null);
    t.set(0, new Uint8Array([2, 0, 0, 0, 0, 1]), 3);
    assert.deepEqual(t.get(0), { mac: "02:00:00:00:00:01", port: 3 });
    const w = RewriteTable.fromShared(t.shared());
    assert.equal(w.port[0], 3);
    t.clear(0);
    assert.equal(w.port[0], -1);
    assert.throws(() => t.set(4, new Uint8Array(6), 0), /Invalid next-hop index 4: 0 to 3/);
    assert.throws(() => t.set(0, new Uint8Array(5), 0), /5 bytes, 6 expected/);
    assert.throws(() => t.set(0, new Uint8Array(6), 70000), /Invalid tx lport 70000/);
    assert.throws(() => RewriteTable.create(0), /capacity 0/);
  });
});

/**
 * The l3fwd graph over ring ports (no root), against a naive oracle: random routes in a real Fib4, random
 * frames (routed, unrouted, TTL 0/1/2..255, bad checksums, truncated, non-IPv4); every frame leaves on the
 * port of its longest matching route rewritten exactly (MACs, TTL - 1, checksum as computed from scratch)
 * or is dropped and counted where the oracle says; the node stats add up to what the ports counted; every
 * frame returns to the pool. Also across two graphs (threads) through an inbox.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { RingPort } from "../pktdev/ring-port.js";
import { Ring } from "../ring/ring.js";
import { udpFrame, ipv4Checksum } from "../wire/udp-frame.js";
import { Fib4 } from "../lookup/fib/fib4.js";
import { formatIp4 } from "../lookup/addr.js";
import { Graph } from "./graph.js";
import { l3fwdNodes, l3fwdTopology, type L3fwdGraphDesc } from "./l3fwd.js";
import { RewriteTable } from "./nodes/rewrite-table.js";
import { toDot } from "./dot.js";
import type { GraphStatsSnapshot } from "./stats.js";

interface Route { ip: number; depth: number; nh: number }
interface Case { frame: Uint8Array; expect: { kind: "tx"; port: number; nh: number } | { kind: "drop"; why: string } }

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

const mask = (d: number) => (d === 0 ? 0 : (0xffffffff << (32 - d)) >>> 0);

/** Longest-prefix match by linear scan: the oracle. */
function naiveLpm(routes: Route[], ip: number): number {
  let best = -1;
  let nh = -1;
  for (const r of routes) if (((ip & mask(r.depth)) >>> 0) === r.ip && r.depth > best) { best = r.depth; nh = r.nh; }
  return nh;
}

const PORT_MAC = [new Uint8Array([2, 0, 0, 0, 0xa0, 0]), new Uint8Array([2, 0, 0, 0, 0xa1, 1])];
const nhMac = (nh: number) => new Uint8Array([2, 0, 0, 0xee, nh >> 8, nh & 0xff]);

/** Random routes (next hop i -> port i % 2) and frames with their fate. */
function scenario(seed: number, nroutes: number, nframes: number): { routes: Route[]; cases: Case[] } {
  const r = rng(seed);
  const routes: Route[] = [];
  const seen = new Set<string>();
  while (routes.length < nroutes) {
    const depth = [8, 16, 20, 24, 25, 28, 32][r() % 7]!;
    const ip = ((0x0a000000 | (r() & 0x00ffffff)) & mask(depth)) >>> 0; // inside 10/8 so lookups hit
    const k = `${ip}/${depth}`;
    if (seen.has(k)) continue;
    seen.add(k);
    routes.push({ ip, depth, nh: routes.length });
  }
  const cases: Case[] = [];
  for (let i = 0; i < nframes; i++) {
    const pick = r() % 100;
    // A destination inside a route (random host bits), or anywhere in 10/8, or outside it.
    const rt = routes[r() % routes.length]!;
    const dst = pick < 60 ? ((rt.ip | (r() & ~mask(rt.depth))) >>> 0) : pick < 80 ? ((0x0a000000 | (r() & 0xffffff)) >>> 0) : ((0xc0a80000 | (r() & 0xffff)) >>> 0);
    const ttl = [0, 1, 2, 64, 255, 128, 64, 64][r() % 8]!;
    const f = udpFrame({ dst: "02:00:00:00:00:0a", src: "02:00:00:00:00:0b", dstIp: formatIp4(dst), seq: i, ttl, size: 64 + (r() % 200) });
    let expect: Case["expect"];
    const corrupt = r() % 20;
    if (corrupt === 0) {
      f[24] = f[24]! ^ 0x5a; // bad header checksum
      expect = { kind: "drop", why: "bad_header" };
    } else if (corrupt === 1) {
      f[12] = 0x86; f[13] = 0xdd; // not IPv4
      expect = { kind: "drop", why: "pkt_cls" };
    } else if (corrupt === 2) {
      f[16] = 0x40; // total length 16384 > the frame: bad header
      const z = Uint8Array.from(f); z[24] = 0; z[25] = 0;
      const c = ipv4Checksum(z, 14); f[24] = c >> 8; f[25] = c & 0xff;
      expect = { kind: "drop", why: "bad_header" };
    } else {
      const nh = naiveLpm(routes, dst);
      if (nh < 0) expect = { kind: "drop", why: "no_route" };
      else if (ttl <= 1) expect = { kind: "drop", why: "ttl_expired" };
      else expect = { kind: "tx", port: nh % 2, nh };
    }
    cases.push({ frame: f, expect });
  }
  return { routes, cases };
}

/** What the rewritten frame must be. */
function rewritten(c: Case & { expect: { kind: "tx" } }): Uint8Array {
  const w = Uint8Array.from(c.frame);
  w.set(nhMac(c.expect.nh), 0);
  w.set(PORT_MAC[c.expect.port]!, 6);
  w[22] = w[22]! - 1;
  w[24] = 0; w[25] = 0;
  const s = ipv4Checksum(w, 14);
  w[24] = s >> 8; w[25] = s & 0xff;
  return w;
}

function seqOf(mp: Mempool, h: number): number {
  const o = h * mp.umem.frameSize + mp.mbufs.dataOff[h]!;
  return new DataView(mp.umem.buf, o + 42, 4).getUint32(0);
}

function frameOf(mp: Mempool, h: number): Uint8Array {
  const o = h * mp.umem.frameSize + mp.mbufs.dataOff[h]!;
  return mp.umem.u8.slice(o, o + mp.mbufs.dataLen[h]!);
}

function setup(routes: Route[]) {
  const fib = Fib4.create({ maxTbl8Groups: 1024 });
  const nh = RewriteTable.create(routes.length);
  for (const r of routes) {
    fib.add(r.ip, r.depth, r.nh);
    nh.set(r.nh, nhMac(r.nh), r.nh % 2);
  }
  return { fib, nh };
}

function nodesOf(s: GraphStatsSnapshot) {
  return new Map(s.nodes.map((n) => [n.name, n]));
}

describe("l3fwd graph over ring ports", () => {
  test("routes, rewrites and drops every frame as the naive oracle says; stats add up to the ports' counts", () => {
    const { routes, cases } = scenario(7, 300, 3000);
    const u = Umem.create({ frames: 8192 });
    try {
      const mp = Mempool.create({ umem: u, cacheSize: 256 });
      const [p0, far0] = RingPort.pair({ names: ["p0", "far0"], pids: [0, 10], mbufs: mp.mbufs, size: 4096 });
      const [p1, far1] = RingPort.pair({ names: ["p1", "far1"], pids: [1, 11], mbufs: mp.mbufs, size: 4096 });
      const { fib, nh } = setup(routes);
      const desc: L3fwdGraphDesc = { name: "w0", rx: [0, 1], tx: [0, 1], inbox: [] };
      const graph = Graph.create({
        name: desc.name,
        nodes: l3fwdNodes(desc, { ports: [p0!, p1!], mempool: mp, burst: 32, fib: Fib4.fromShared(fib.shared()), nextHops: RewriteTable.fromShared(nh.shared()), macs: new Map([[0, PORT_MAC[0]!], [1, PORT_MAC[1]!]]), outboxes: new Map(), inboxes: new Map() }),
        onOverflow: (o, k, off) => mp.freeBulk(o, k, off),
      });
      assert.equal(graph.dot(), toDot(l3fwdTopology(desc)));
      // Inject: even frames on port 0, odd on port 1.
      const hs = new Uint32Array(cases.length);
      assert.equal(mp.allocBulk(hs, cases.length), cases.length);
      cases.forEach((c, i) => {
        const h = hs[i]!;
        u.u8.set(c.frame, h * u.frameSize + mp.mbufs.dataOff[h]!);
        mp.mbufs.dataLen[h] = c.frame.length;
        assert.equal((i % 2 === 0 ? far0 : far1)!.txBurst(hs.subarray(i, i + 1), 1), 1);
      });
      let walks = 0;
      while (p0!.rx.count() + p1!.rx.count() > 0) { graph.walk(); walks++; }
      assert.ok(walks >= cases.length / 64);
      // Collect what left each port.
      const out = new Uint32Array(4096);
      const left = new Map<number, { port: number; bytes: Uint8Array }>();
      for (const [port, far] of [[0, far0!], [1, far1!]] as const) {
        for (let k; (k = far.rxBurst(out, 4096)) > 0;) {
          for (let i = 0; i < k; i++) left.set(seqOf(mp, out[i]!), { port, bytes: frameOf(mp, out[i]!) });
          mp.freeBulk(out, k);
        }
      }
      const want = { bad_header: 0, pkt_cls: 0, no_route: 0, ttl_expired: 0 } as Record<string, number>;
      let tx = 0;
      cases.forEach((c, i) => {
        const got = left.get(i);
        if (c.expect.kind === "drop") {
          assert.equal(got, undefined, `frame ${i} dropped (${c.expect.why})`);
          want[c.expect.why]!++;
          return;
        }
        tx++;
        assert.ok(got, `frame ${i} forwarded`);
        assert.equal(got.port, c.expect.port, `frame ${i} left on port ${c.expect.port}`);
        assert.deepEqual(got.bytes, rewritten(c as Case & { expect: { kind: "tx" } }), `frame ${i}: rewritten exactly`);
        assert.equal(ipv4Checksum(got.bytes, 14), 0, `frame ${i}: valid checksum`);
      });
      assert.equal(left.size, tx);
      assert.ok(tx > 1000 && want["no_route"]! > 100 && want["ttl_expired"]! > 100 && want["bad_header"]! > 50 && want["pkt_cls"]! > 50, JSON.stringify(want));
      const s = nodesOf(graph.stats.read());
      assert.equal(s.get("pktdev_rx-0")!.objs, p0!.stats[0]);
      assert.equal(s.get("pktdev_rx-1")!.objs, p1!.stats[0]);
      assert.equal(s.get("pktdev_rx-0")!.objs + s.get("pktdev_rx-1")!.objs, cases.length);
      assert.deepEqual(s.get("pkt_cls")!.next, { pkt_drop: want["pkt_cls"], ip4_lookup: cases.length - want["pkt_cls"]! });
      assert.deepEqual(s.get("ip4_lookup")!.counters, { bad_header: want["bad_header"], no_route: want["no_route"] });
      assert.deepEqual(s.get("ip4_rewrite")!.counters, { ttl_expired: want["ttl_expired"], no_next_hop: 0 });
      assert.equal(s.get("pktdev_tx-0")!.objs, p0!.stats[2], "tx objects = what port 0 sent");
      assert.equal(s.get("pktdev_tx-1")!.objs, p1!.stats[2]);
      assert.equal(s.get("pktdev_tx-0")!.next["pkt_drop"], 0);
      assert.equal(s.get("pkt_drop")!.objs, cases.length - tx, "drops = what was not sent");
      assert.equal(s.get("pktdev_tx-0")!.objs + s.get("pktdev_tx-1")!.objs + s.get("pkt_drop")!.objs, cases.length, "objects in = out + drops");
      for (const n of s.values()) {
        if (n.source || n.name.startsWith("pktdev_tx") || n.name === "pkt_drop") continue;
        const out = Object.values(n.next).reduce((a, b) => a + b, 0);
        assert.equal(out, n.objs, `${n.name}: objects in = objects sent on`);
      }
      mp.flushCache();
      assert.equal(mp.available(), 8192, "every frame back in the pool");
    } finally {
      u.close();
    }
  });

  test("two graphs (two threads' worth): frames for the other graph's port go through its inbox", () => {
    const { routes, cases } = scenario(99, 50, 1000);
    const u = Umem.create({ frames: 4096 });
    try {
      const mp = Mempool.create({ umem: u, cacheSize: 0 });
      const [p0, far0] = RingPort.pair({ names: ["p0", "far0"], pids: [0, 10], mbufs: mp.mbufs, size: 2048 });
      const [p1, far1] = RingPort.pair({ names: ["p1", "far1"], pids: [1, 11], mbufs: mp.mbufs, size: 2048 });
      const { fib, nh } = setup(routes);
      const inbox = [Ring.create({ size: 2048, multiProducer: true }), Ring.create({ size: 2048, multiProducer: true })];
      const macs = new Map([[0, PORT_MAC[0]!], [1, PORT_MAC[1]!]]);
      const mk = (me: 0 | 1, port: RingPort) => {
        const other = (1 - me) as 0 | 1;
        const desc: L3fwdGraphDesc = { name: `w${me}`, rx: [me], tx: [0, 1], inbox: [me] };
        return Graph.create({
          name: desc.name,
          nodes: l3fwdNodes(desc, { ports: [port], mempool: mp, burst: 32, fib, nextHops: nh, macs, outboxes: new Map([[other, inbox[other]!]]), inboxes: new Map([[me, inbox[me]!]]) }),
        });
      };
      const g0 = mk(0, p0!);
      const g1 = mk(1, p1!);
      assert.match(g0.dot(), /"inbox-0" -> "pktdev_tx-0" \[color=blue\];/);
      const hs = new Uint32Array(cases.length);
      assert.equal(mp.allocBulk(hs, cases.length), cases.length);
      cases.forEach((c, i) => {
        const h = hs[i]!;
        u.u8.set(c.frame, h * u.frameSize + mp.mbufs.dataOff[h]!);
        mp.mbufs.dataLen[h] = c.frame.length;
        (i % 2 === 0 ? far0 : far1)!.txBurst(hs.subarray(i, i + 1), 1);
      });
      while (p0!.rx.count() + p1!.rx.count() + inbox[0]!.count() + inbox[1]!.count() > 0) { g0.walk(); g1.walk(); }
      const out = new Uint32Array(2048);
      const left = new Map<number, number>();
      for (const [port, far] of [[0, far0!], [1, far1!]] as const) {
        const k = far.rxBurst(out, 2048);
        for (let i = 0; i < k; i++) left.set(seqOf(mp, out[i]!), port);
        mp.freeBulk(out, k);
      }
      let tx = 0;
      cases.forEach((c, i) => {
        if (c.expect.kind === "tx") { tx++; assert.equal(left.get(i), c.expect.port, `frame ${i}`); } else assert.equal(left.get(i), undefined);
      });
      assert.equal(left.size, tx);
      const s0 = nodesOf(g0.stats.read());
      const s1 = nodesOf(g1.stats.read());
      // g0 hands over to port 1 through pktdev_tx-1 (its inbox); g1 drains it in inbox-1 and sends.
      assert.equal(s0.get("pktdev_tx-1")!.objs, s1.get("inbox-1")!.objs);
      assert.equal(s1.get("pktdev_tx-0")!.objs, s0.get("inbox-0")!.objs);
      assert.ok(s0.get("pktdev_tx-1")!.objs > 0 && s1.get("pktdev_tx-0")!.objs > 0, "both handed over");
      assert.equal(s0.get("pktdev_tx-0")!.objs, p0!.stats[2]);
      assert.equal(s1.get("pktdev_tx-1")!.objs, p1!.stats[2]);
      assert.equal(s0.get("pkt_drop")!.objs + s1.get("pkt_drop")!.objs, cases.length - tx);
      assert.equal(mp.available(), 4096);
    } finally {
      u.close();
    }
  });
});

/**
 * A graph walk allocates nothing: the l3fwd graph (every standard node, with time collected through the
 * clock shim) over ring ports with frames circulating, routed, dropped for TTL, unrouted and bad headers,
 * runs a million walks with no garbage collection and no heap growth. GCs are counted (perf_hooks 'gc'
 * entries after a forced full collection), not timed. The first test proves the probe catches a graph
 * whose node allocates.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { RingPort } from "../pktdev/ring-port.js";
import { udpFrame } from "../wire/udp-frame.js";
import { copyTemplate } from "../wire/frame-template.js";
import { Fib4 } from "../lookup/fib/fib4.js";
import { Qsbr } from "../lookup/qsbr.js";
import { gc, gcsDuring } from "../testing/gc-probe.js";
import { Graph } from "./graph.js";
import { l3fwdNodes } from "./l3fwd.js";
import { RewriteTable } from "./nodes/rewrite-table.js";

const N = 1_000_000;

/** GCs and heap growth while `fn` runs, after a warm-up call that lets the JIT settle. */
async function probe(warm: () => void, fn: () => void): Promise<{ gcs: number; growth: number }> {
  warm();
  warm();
  let growth = 0;
  const gcs = await gcsDuring(() => {
    const h0 = process.memoryUsage().heapUsed;
    fn();
    growth = process.memoryUsage().heapUsed - h0;
  });
  gc();
  return { gcs, growth };
}

describe("graph walks allocate nothing", () => {
  test("the probe catches a node that allocates (it can fail)", async () => {
    const keep: object[] = [];
    const g = Graph.create({
      name: "leaky",
      nodes: [{ name: "src", source: true, next: [], process: () => { keep.push({ a: 1 }); if (keep.length > 100) keep.length = 0; return 1; } }],
    });
    const r = await probe(() => { for (let i = 0; i < 1000; i++) g.walk(); }, () => { for (let i = 0; i < N; i++) g.walk(); });
    assert.ok(r.gcs > 0, `an object per walk caused ${r.gcs} GCs`);
  });

  /** An l3fwd graph over two ring ports wired back to back, and a loop feeding it frames of every fate. */
  function rig(collect: "all" | "counts") {
    const u = Umem.create({ frames: 8192 });
    const mp = Mempool.create({ umem: u, cacheSize: 256 });
    // p0 and p1 are wired back to back: what one sends, the other receives and routes again.
    const [p0, p1] = RingPort.pair({ names: ["p0", "p1"], pids: [0, 1], mbufs: mp.mbufs, size: 1024 });
    const fib = Fib4.create({ maxTbl8Groups: 16 });
    const nh = RewriteTable.create(4);
    fib.add(0x0a000000, 8, 0); // 10/8 -> port 1
    fib.add(0x0a010000, 16, 1); // 10.1/16 -> port 0
    fib.add(0x0a020300, 28, 2); // a tbl8 route -> port 1
    nh.set(0, new Uint8Array([2, 0, 0, 0, 0, 1]), 1);
    nh.set(1, new Uint8Array([2, 0, 0, 0, 0, 2]), 0);
    nh.set(2, new Uint8Array([2, 0, 0, 0, 0, 3]), 1);
    const qsbr = Qsbr.create(1);
    const graph = Graph.create({
      name: "w0", collect, qsbr: { qsbr, slot: 0 },
      nodes: l3fwdNodes({ name: "w0", rx: [0, 1], tx: [0, 1], inbox: [] }, {
        ports: [p0!, p1!], mempool: mp, burst: 32, fib: Fib4.fromShared(fib.shared()), nextHops: nh,
        macs: new Map([[0, new Uint8Array([2, 0, 0, 0, 0xa, 0])], [1, new Uint8Array([2, 0, 0, 0, 0xa, 1])]]),
        outboxes: new Map(), inboxes: new Map(),
      }),
      onOverflow: (o, k, off) => mp.freeBulk(o, k, off),
    });
    // Templates: routed with a few hops to live (both ways, and through a tbl8), unrouted, bad checksum.
    const tpls = [
      udpFrame({ dstIp: "10.0.0.1", ttl: 4 }), udpFrame({ dstIp: "10.1.2.3", ttl: 3 }), udpFrame({ dstIp: "10.2.3.4", ttl: 5 }),
      udpFrame({ dstIp: "192.168.0.1", ttl: 64 }), udpFrame({ dstIp: "10.0.0.2", ttl: 64 }),
    ];
    tpls[4]![24] = tpls[4]![24]! ^ 0xff;
    const t32 = tpls.map((t) => new Uint32Array(t.buffer));
    const bufs = new Uint32Array(4);
    const u8 = u.u8;
    const u32 = u.u32;
    const dataOff = mp.mbufs.dataOff;
    const dataLen = mp.mbufs.dataLen;
    let k = 0;
    const run = (walks: number) => {
      for (let i = 0; i < walks; i++) {
        if ((i & 3) === 0) {
          const got = mp.allocBulk(bufs, 4);
          for (let j = 0; j < got; j++) {
            const h = bufs[j]!;
            const t = k++ % 5;
            copyTemplate(u8, u32, h * 2048 + dataOff[h]!, t32[t]!, tpls[t]!, 64);
            dataLen[h] = 64;
          }
          const sent = p1!.txBurst(bufs, got);
          if (sent < got) mp.freeBulk(bufs, got - sent, sent);
        }
        graph.walk();
      }
    };
    /** Checks the paths were all taken, drains what is in flight, and checks every frame is back. */
    const finish = () => {
      const s = new Map(graph.stats.read().nodes.map((n) => [n.name, n]));
      if (collect === "all") assert.ok(s.get("ip4_rewrite")!.timeNs > 0);
      assert.ok(s.get("ip4_lookup")!.counters["no_route"]! > 0 && s.get("ip4_lookup")!.counters["bad_header"]! > 0);
      assert.ok(s.get("ip4_rewrite")!.counters["ttl_expired"]! > 0);
      while (p0!.rx.count() + p1!.rx.count() > 0) graph.walk();
      mp.flushCache();
      assert.equal(mp.available(), 8192, "every frame back in the pool");
    };
    return { graph, run, finish, close: () => u.close() };
  }

  test("a million walks of the l3fwd graph over ring ports, with time collected and without", async () => {
    const rigs = [rig("all"), rig("counts")];
    try {
      // Both modes share the walk's code: warm both up before measuring either, so the JIT has seen both.
      for (let round = 0; round < 2; round++) for (const r of rigs) r.run(300_000);
      for (const [i, r] of rigs.entries()) {
        const p = await probe(() => r.run(1000), () => r.run(N));
        assert.equal(p.gcs, 0, `${i === 0 ? "all" : "counts"}: ${p.gcs} garbage collections during a million walks (heap grew ${p.growth} bytes): it allocates`);
        assert.ok(p.growth < 1024 * 1024, `the heap grew by ${p.growth} bytes`);
      }
      assert.equal(rigs[0]!.graph.stats.read().walks, 2 * 300_000 + 2 * 1000 + N);
      for (const r of rigs) r.finish();
    } finally {
      for (const r of rigs) r.close();
    }
  });
});

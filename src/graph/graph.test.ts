/**
 * The graph core without ports: enqueue semantics against a naive oracle, walk order, stream growth and
 * its limit, exact stats, topology errors, the dot text, shared stats, QSBR.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Graph, type GraphOptions } from "./graph.js";
import type { NodeSpec } from "./node.js";
import { cloneNode } from "./node.js";
import { GraphStats, sumGraphStats } from "./stats.js";
import { checkTopology } from "./topology.js";
import { toDot } from "./dot.js";
import { Qsbr } from "../lookup/qsbr.js";

/** A source handing out the next `per` integers of `queue` each walk (enqueued, not moved). */
function feeder(name: string, queue: number[], per: number, next = "a"): NodeSpec {
  const buf = new Uint32Array(1024);
  return {
    name, source: true, next: [next],
    process: (g, node) => {
      const k = Math.min(per, queue.length);
      for (let i = 0; i < k; i++) buf[i] = queue.shift()!;
      g.enqueue(node, 0, buf, 0, k);
      return k;
    },
  };
}

/** A sink recording what it got, per call. */
function sink(name: string, got: number[][]): NodeSpec {
  return { name, next: [], process: (_g, _n, objs, n) => { got.push(Array.from(objs.subarray(0, n))); return n; } };
}

describe("graph walk and enqueue", () => {
  test("objects reach the next nodes by edge, in order; stats count calls, objects and edges exactly", () => {
    const queue = Array.from({ length: 100 }, (_, i) => i);
    const even: number[][] = [];
    const odd: number[][] = [];
    const nexts = new Uint16Array(256);
    const g = Graph.create({
      name: "t", collect: "counts",
      nodes: [
        feeder("src", queue, 32),
        { name: "a", next: ["even", "odd"], process: (gr, node, objs, n) => {
          for (let i = 0; i < n; i++) nexts[i] = objs[i]! & 1;
          gr.enqueueNexts(node, objs, nexts, n);
          return n;
        } },
        sink("even", even),
        sink("odd", odd),
      ],
    });
    const produced: number[] = [];
    for (let w = 0; w < 5; w++) produced.push(g.walk());
    assert.deepEqual(produced, [32, 32, 32, 4, 0]);
    assert.deepEqual(even.flat(), Array.from({ length: 50 }, (_, i) => 2 * i));
    assert.deepEqual(odd.flat(), Array.from({ length: 50 }, (_, i) => 2 * i + 1));
    assert.deepEqual(even.map((c) => c.length), [16, 16, 16, 2], "one call per walk that had objects");
    const s = g.stats.read();
    assert.equal(s.walks, 5);
    const by = new Map(s.nodes.map((n) => [n.name, n]));
    assert.deepEqual([by.get("src")!.calls, by.get("src")!.objs, by.get("src")!.next], [5, 100, { a: 100 }]);
    assert.deepEqual([by.get("a")!.calls, by.get("a")!.objs, by.get("a")!.next], [4, 100, { even: 50, odd: 50 }]);
    assert.deepEqual([by.get("even")!.calls, by.get("even")!.objs], [4, 50]);
    assert.deepEqual([by.get("odd")!.calls, by.get("odd")!.objs], [4, 50]);
    assert.equal(by.get("a")!.timeNs, 0, "collect 'counts' reads no clock");
    for (const n of s.nodes) assert.equal(g.pendingObjects(g.nodeId(n.name)), 0, "nothing is left in a stream after a walk");
  });

  test("enqueueNexts matches a naive per-object oracle over random bursts and edges", () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8);
    const got: number[][][] = [[], [], [], []];
    const oracle: number[][] = [[], [], [], []];
    const nexts = new Uint16Array(256);
    const src = new Uint32Array(256);
    let burst = 0;
    let runMode = 0;
    const g = Graph.create({
      name: "r", streamSize: 8,
      nodes: [
        { name: "src", source: true, next: ["cls"], process: (gr, node) => {
          burst = rnd() % 200;
          for (let i = 0; i < burst; i++) src[i] = rnd();
          gr.enqueue(node, 0, src, 0, burst);
          return burst;
        } },
        { name: "cls", next: ["e0", "e1", "e2", "e3"], process: (gr, node, objs, n) => {
          runMode = rnd() % 3;
          for (let i = 0; i < n; i++) {
            // Long runs, a single edge, or per-object scatter.
            const e = runMode === 0 ? (i >> 5) & 3 : runMode === 1 ? 2 : objs[i]! & 3;
            nexts[i] = e;
            oracle[e]!.push(objs[i]!);
          }
          gr.enqueueNexts(node, objs, nexts, n);
          return n;
        } },
        ...[0, 1, 2, 3].map((k) => sink(`e${k}`, got[k]!)),
      ],
    });
    let total = 0;
    for (let w = 0; w < 2000; w++) total += g.walk();
    for (let k = 0; k < 4; k++) assert.deepEqual(got[k]!.flat(), oracle[k], `edge ${k}: the same objects in the same order`);
    const s = g.stats.read();
    const cls = s.nodes.find((n) => n.name === "cls")!;
    assert.equal(cls.objs, total);
    assert.equal(Object.values(cls.next).reduce((a, b) => a + b, 0), total, "objects in = objects out along the edges");
    assert.ok(s.nodes.some((n) => n.reallocs > 0), "streams of 8 had to grow for bursts up to 199");
  });

  test("pending nodes run in the order they first got objects; a node reached again runs again in the same walk", () => {
    const order: string[] = [];
    let bounced = false;
    const rec = (name: string, next: string[], fn: (g: Graph, node: number, objs: Uint32Array, n: number) => void): NodeSpec => ({
      name, next, process: (g, node, objs, n) => { order.push(`${name}:${n}`); fn(g, node, objs, n); return n; },
    });
    const g = Graph.create({
      name: "o",
      nodes: [
        { name: "s1", source: true, next: ["b", "c"], process: (gr, node, objs) => {
          order.push("s1");
          objs[0] = 1; objs[1] = 2; objs[2] = 3;
          gr.enqueue(node, 1, objs, 0, 1); // c first
          gr.enqueue(node, 0, objs, 1, 2); // then b
          return 3;
        } },
        { name: "s2", source: true, next: ["b"], process: (gr, node, objs) => { order.push("s2"); objs[0] = 4; gr.move(node, 0, 1); return 1; } },
        rec("b", ["d"], (gr, node, _objs, n) => gr.move(node, 0, n)),
        rec("c", ["d"], (gr, node, _objs, n) => gr.move(node, 0, n)),
        rec("d", ["c", "end"], (gr, node, _objs, n) => {
          // Once: send everything back to c (a cycle d -> c -> d), then on to the end.
          if (!bounced) { bounced = true; gr.move(node, 0, n); } else gr.move(node, 1, n);
        }),
        rec("end", [], () => {}),
      ],
    });
    g.walk();
    // c and b got objects in that order during the sources; s2 appended to b (no second entry for b).
    assert.deepEqual(order, ["s1", "s2", "c:1", "b:3", "d:4", "c:4", "d:4", "end:4"]);
    const s = g.stats.read();
    assert.deepEqual(s.nodes.map((n) => [n.name, n.calls, n.objs]), [["s1", 1, 3], ["s2", 1, 1], ["b", 1, 3], ["c", 2, 5], ["d", 2, 8], ["end", 1, 4]]);
  });

  test("move hands the stream over without copying when the next node is empty", () => {
    const filled: Uint32Array[] = [];
    const seen: Uint32Array[] = [];
    const g = Graph.create({
      name: "m",
      nodes: [
        { name: "src", source: true, next: ["x"], process: (gr, node, objs) => { filled.push(objs); objs[0] = 7; objs[1] = 8; gr.move(node, 0, 2); return 2; } },
        { name: "x", next: [], process: (_g, _n, objs, n) => { seen.push(objs); assert.deepEqual([...objs.subarray(0, n)], [7, 8]); return n; } },
      ],
    });
    g.walk();
    g.walk();
    g.walk();
    assert.equal(seen[0], filled[0], "x processed the very array src filled");
    assert.equal(seen[1], filled[1]);
    assert.notEqual(filled[0], filled[1], "the arrays were swapped: src then filled x's old one");
    assert.equal(filled[2], filled[0], "and back");
  });
});

describe("stream growth and limits", () => {
  test("a stream doubles from streamSize to maxStreamSize; what does not fit goes to the overflow sink, counted", () => {
    const queue: number[] = [];
    const got: number[][] = [];
    const spilled: number[] = [];
    const opts: GraphOptions = {
      name: "grow", streamSize: 4, maxStreamSize: 16,
      nodes: [feeder("src", queue, 1000), sink("a", got)],
      onOverflow: (objs, n, off) => { for (let i = 0; i < n; i++) spilled.push(objs[off + i]!); },
    };
    const g = Graph.create(opts);
    const a = g.nodeId("a");
    assert.equal(g.streamCapacity(a), 4);
    queue.push(...Array.from({ length: 6 }, (_, i) => i));
    g.walk();
    assert.equal(g.streamCapacity(a), 8, "4 -> 8 for 6 objects");
    queue.push(...Array.from({ length: 20 }, (_, i) => 100 + i));
    g.walk();
    assert.equal(g.streamCapacity(a), 16, "capped at maxStreamSize");
    assert.deepEqual(got, [[0, 1, 2, 3, 4, 5], Array.from({ length: 16 }, (_, i) => 100 + i)]);
    assert.deepEqual(spilled, [116, 117, 118, 119], "the 4 beyond 16 went to the sink, in order");
    const s = g.stats.read().nodes.find((n) => n.name === "a")!;
    assert.equal(s.reallocs, 2);
    assert.equal(s.overflows, 4);
    assert.equal(s.objs, 22);
    const src = g.stats.read().nodes.find((n) => n.name === "src")!;
    assert.equal(src.next["a"], 26, "edge counts what was sent: objs of a + its overflows");
    // Steady state: no more growth.
    queue.push(...Array.from({ length: 16 }, (_, i) => i));
    g.walk();
    assert.equal(g.stats.read().nodes.find((n) => n.name === "a")!.reallocs, 2);
  });

  test("enqueue1 grows and overflows the same way", () => {
    const spilled: number[] = [];
    const got: number[][] = [];
    const g = Graph.create({
      name: "g1", streamSize: 2, maxStreamSize: 4, onOverflow: (objs, n, off) => spilled.push(...objs.subarray(off, off + n)),
      nodes: [
        { name: "src", source: true, next: ["a"], process: (gr, node) => { for (let i = 0; i < 6; i++) gr.enqueue1(node, 0, 10 + i); return 6; } },
        sink("a", got),
      ],
    });
    g.walk();
    assert.deepEqual(got, [[10, 11, 12, 13]]);
    assert.deepEqual(spilled, [14, 15]);
  });

  test("without an overflow sink a full stream throws, naming the node", () => {
    const queue = Array.from({ length: 10 }, (_, i) => i);
    const g = Graph.create({ name: "noflow", streamSize: 4, maxStreamSize: 8, nodes: [feeder("src", queue, 10), sink("a", [])] });
    assert.throws(() => g.walk(), /graph 'noflow': node 'a' stream is full \(8 objects, maxStreamSize\): 2 objects would be lost/);
  });

  test("bad sizes and a bad edge index are refused", () => {
    const nodes = [feeder("src", [], 1), sink("a", [])];
    assert.throws(() => Graph.create({ name: "x", nodes, streamSize: 0 }), /invalid streamSize 0/);
    assert.throws(() => Graph.create({ name: "x", nodes, streamSize: 64, maxStreamSize: 32 }), /invalid maxStreamSize 32: 64 \(streamSize\)/);
    const g = Graph.create({
      name: "bad", nodes: [{ name: "src", source: true, next: ["a"], process: (gr, node) => { gr.enqueue1(node, 1, 5); return 1; } }, sink("a", [])],
    });
    assert.throws(() => g.walk(), /node 'src' has no edge 1 \(1 edges\)/);
    const g2 = Graph.create({ name: "ok", nodes });
    assert.throws(() => g2.ensureStream(0, 1 << 20), /exceeds maxStreamSize 65536/);
    g2.ensureStream(0, 1000);
    assert.equal(g2.streamCapacity(0), 1024);
  });
});

describe("topology", () => {
  const ok = (name: string, next: string[] = [], source = false) => ({ name, next, ...(source ? { source } : {}) });
  test("checks name each problem", () => {
    const cases: [Parameters<typeof checkTopology>[0], RegExp][] = [
      [{ name: "g", nodes: [] }, /graph 'g': no nodes/],
      [{ name: "g g", nodes: [ok("a", [], true)] }, /Invalid graph name "g g"/],
      [{ name: "g", nodes: [ok("a", [], true), ok("a")] }, /two nodes named 'a' \(nodes 0 and 1\)/],
      [{ name: "g", nodes: [ok("a", ["b"], true)] }, /node 'a' edge 0 names 'b', which is not in the graph \(nodes: a\)/],
      [{ name: "g", nodes: [ok("s", ["a"], true), ok("a", ["a"])] }, /node 'a' edge 0 points to itself/],
      [{ name: "g", nodes: [ok("s", ["t"], true), ok("t", [], true)] }, /node 's' edge 0 points to source node 't'/],
      [{ name: "g", nodes: [ok("a", ["b"]), ok("b")] }, /no source node/],
      [{ name: "g", nodes: [ok("s", ["a"], true), ok("a"), ok("b", ["a"]), ok("c")] }, /node\(s\) 'b', 'c' cannot be reached from any source/],
      [{ name: "g", nodes: [ok("s", ["a", "a"], true), ok("a")] }, /node 's' names 'a' twice/],
      [{ name: "g", nodes: [{ name: "s", next: [], source: true, counters: ["x", "x"] }] }, /node 's' names a counter twice/],
    ];
    for (const [t, re] of cases) assert.throws(() => checkTopology(t), re, `${JSON.stringify(t)}`);
  });

  test("dot text of a small graph, exactly", () => {
    const t = {
      name: "worker_0",
      nodes: [ok("pktdev_rx-0", ["pkt_cls"], true), ok("pkt_cls", ["pkt_drop", "ip4_lookup"]), ok("ip4_lookup", ["pkt_drop"]), ok("pkt_drop")],
    };
    assert.equal(toDot(t), `digraph "worker_0" {
\trankdir=LR;
\t"pktdev_rx-0" [shape=box, color=blue];
\t"pktdev_rx-0" -> "pkt_cls" [color=blue];
\t"pkt_cls" -> "pkt_drop";
\t"pkt_cls" -> "ip4_lookup";
\t"ip4_lookup" -> "pkt_drop";
}
`);
    const counts = new Map([["pkt_cls", { pkt_drop: 3, ip4_lookup: 7 }]]);
    assert.equal(toDot(t, { edgeCounts: counts }), `digraph "worker_0" {
\trankdir=LR;
\t"pktdev_rx-0" [shape=box, color=blue];
\t"pktdev_rx-0" -> "pkt_cls" [color=blue];
\t"pkt_cls" -> "pkt_drop" [label="3"];
\t"pkt_cls" -> "ip4_lookup" [label="7"];
\t"ip4_lookup" -> "pkt_drop";
}
`);
    const g = Graph.create({ name: "worker_0", nodes: t.nodes.map((d) => ({ ...d, process: () => 0 })) });
    assert.equal(g.dot(), toDot(t));
  });

  test("cloneNode makes <name>-<suffix> with the same edges", () => {
    const base: NodeSpec = { name: "pktdev_tx", next: ["pkt_drop"], process: () => 0 };
    const c = cloneNode(base, "3");
    assert.equal(c.name, "pktdev_tx-3");
    assert.deepEqual(c.next, ["pkt_drop"]);
    assert.equal(c.process, base.process);
    assert.throws(() => cloneNode(base, "a b"), /Invalid node name "pktdev_tx-a b"/);
  });
});

describe("shared stats", () => {
  const topo = { name: "w", nodes: [{ name: "src", next: ["a"], source: true }, { name: "a", next: [], counters: ["seen"] }] };
  const specs = (q: number[]): NodeSpec[] => {
    let seen = -1;
    return [
      feeder("src", q, 8),
      { name: "a", next: [], counters: ["seen"], init: (g, node) => { seen = g.counterIndex(node, "seen"); }, process: (g, _n, _o, n) => { g.counters[seen] = g.counters[seen]! + n; return n; } },
    ];
  };

  test("the main thread's GraphStats sees what the graph writes; a topology mismatch is refused", () => {
    const stats = GraphStats.create(topo);
    const q = Array.from({ length: 20 }, (_, i) => i);
    const g = Graph.create({ name: "w", nodes: specs(q), stats: stats.shared() });
    for (let i = 0; i < 4; i++) g.walk();
    const s = stats.read();
    assert.equal(s.walks, 4);
    assert.deepEqual(s.nodes.map((n) => [n.name, n.calls, n.objs, n.counters]), [["src", 4, 20, {}], ["a", 3, 20, { seen: 20 }]]);
    assert.ok(s.nodes[1]!.timeNs > 0, "time is collected by default");
    assert.throws(() => Graph.create({ name: "w", nodes: [feeder("src", [], 1), sink("a", [])], stats: stats.shared() }),
      /do not match the shared stats' topology: graph 'w' node 'a': counters \[seen\] vs \[\]/);
    const other = Graph.create({ name: "w", nodes: specs(Array.from({ length: 5 }, (_, i) => i)) });
    other.walk();
    const sum = sumGraphStats([s, other.stats.read()]);
    assert.equal(sum.walks, 5);
    assert.deepEqual(sum.nodes.map((n) => [n.name, n.calls, n.objs, n.next, n.counters]), [["src", 5, 25, { a: 25 }, {}], ["a", 4, 25, {}, { seen: 25 }]]);
    const again = GraphStats.fromShared(stats.shared());
    assert.equal(again.read().nodes[1]!.objs, 20);
  });

  test("collect 'none' writes no stats; node counters still count", () => {
    const q = Array.from({ length: 10 }, (_, i) => i);
    const g = Graph.create({ name: "w", nodes: specs(q), collect: "none" });
    g.walk();
    const s = g.stats.read();
    assert.equal(s.walks, 0);
    assert.deepEqual(s.nodes.map((n) => [n.calls, n.objs]), [[0, 0], [0, 0]]);
    assert.equal(s.nodes[1]!.counters["seen"], 8);
  });
});

test("QSBR: the graph goes online at create, reports a quiescent state per walk, offline at close", () => {
  const q = Qsbr.create(2);
  const g = Graph.create({ name: "q", nodes: [feeder("src", [], 1), sink("a", [])], qsbr: { qsbr: q, slot: 1 } });
  const t = q.start();
  assert.equal(q.check(t), false, "online and not yet past the token");
  g.walk();
  assert.equal(q.check(t), true, "a walk reported a quiescent state");
  const t2 = q.start();
  g.close();
  assert.equal(q.check(t2), true, "offline readers do not hold the writer");
  assert.throws(() => Graph.create({ name: "q", nodes: [feeder("src", [], 1), sink("a", [])], qsbr: { qsbr: q, slot: 2 } }), /invalid QSBR slot 2: 0 to 1/);
});

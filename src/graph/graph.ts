/**
 * The packet graph (DPDK's rte_graph, CNDP's cne_graph): nodes that process bursts of object handles and
 * enqueue them to next nodes by edge index, walked by one worker thread. One graph per worker, built once
 * from node specs; nothing in a walk allocates.
 *
 * A walk ({@link Graph.walk}) calls every source node (in graph order) with its own stream, then every
 * node that has objects pending, in the order they first received objects in this walk (a circular list,
 * as rte_graph_walk), until none has; a node may run more than once per walk when objects reach it again.
 * Each node has a stream (a Uint32Array) preallocated at `streamSize`; enqueueing appends to the next
 * node's stream and, when that stream was empty, puts the node on the pending list. A stream that is too
 * small doubles (counted in the node's `reallocs`: a warm-up cost, never a steady-state one) up to
 * `maxStreamSize`; objects beyond that go to the overflow sink (`onOverflow`, e.g. the mempool) and are
 * counted in the node's `overflows`. {@link Graph.move} hands a whole stream to an empty next node by
 * swapping arrays (DPDK's home run), without copying.
 *
 * Statistics (CNDP's gstats): per node calls, objects, nanoseconds (the shim's CLOCK_MONOTONIC read with
 * `read()` into a preallocated array: no boxing), stream growths and overflows, objects per edge, and the
 * node's own counters, in shared memory the main thread reads ({@link GraphStats}).
 */
import { MonoClock } from "../sys/clock.js";
import type { Qsbr } from "../lookup/qsbr.js";
import type { NodeProcess, NodeSpec } from "./node.js";
import { checkTopology, topologyDiff, type GraphTopology, ST_WALKS, ST_CALLS, ST_OBJS, ST_TIME_NS, ST_REALLOCS, ST_OVERFLOWS } from "./topology.js";
import { GraphStats, type GraphStatsShared } from "./stats.js";
import { toDot, type DotOptions } from "./dot.js";

/** Default initial stream size in objects (DPDK's RTE_GRAPH_BURST_SIZE). */
export const DEFAULT_STREAM_SIZE = 256;
/** Default largest stream in objects (DPDK's UINT16_MAX bound). */
export const DEFAULT_MAX_STREAM_SIZE = 65536;

/**
 * Where objects that do not fit a full stream go: `objs[off..off+n)`. Same argument order as
 * `mempool.freeBulk`.
 *
 * @example
 * const onOverflow: OverflowSink = (objs, n, off) => mempool.freeBulk(objs, n, off);
 */
export type OverflowSink = (objs: Uint32Array, n: number, off: number) => void;

/** Options of {@link Graph.create}. */
export interface GraphOptions {
  /** The graph's name (the worker's thread name, "worker_0"): letters, digits, `_.:-`. */
  name: string;
  /** The nodes, sources first in the order they are walked (see {@link checkTopology} for the rules). */
  nodes: readonly NodeSpec[];
  /** Initial objects per stream, at least 1 (default 256); every stream holds at least this many. */
  streamSize?: number;
  /** Largest stream, at least `streamSize` (default 65536). */
  maxStreamSize?: number;
  /**
   * Statistics to write: `"all"` (default: calls, objects, edge counts and time), `"counts"` (no clock
   * reads), `"none"` (nodes' own counters only).
   */
  collect?: "all" | "counts" | "none";
  /**
   * Shared stats made by the main thread for this topology ({@link GraphStats.create}); the nodes must
   * match it exactly. Default: new stats (see {@link Graph.stats}).
   */
  stats?: GraphStatsShared;
  /**
   * Where objects go that do not fit a stream at `maxStreamSize`. Without one such an overflow throws:
   * the objects would be lost.
   */
  onOverflow?: OverflowSink;
  /** With a QSBR in use, the walk reports a quiescent state for `slot` at its end (and goes online now). */
  qsbr?: { qsbr: Qsbr; slot: number };
}

/**
 * A graph built for one worker thread.
 *
 * @example
 * const graph = Graph.create({
 *   name: "worker_0",
 *   nodes: [
 *     { name: "rx", source: true, next: ["sink"], process: (g, node, objs) => { const k = port.rxBurst(objs, 64); g.move(node, 0, k); return k; } },
 *     { name: "sink", next: [], process: (_g, _node, objs, k) => { mempool.freeBulk(objs, k); return k; } },
 *   ],
 *   onOverflow: (objs, k, o) => mempool.freeBulk(objs, k, o),
 * });
 * for (let i = 0; i < 1000; i++) graph.walk();
 * console.log(graph.dot());
 */
export class Graph {
  readonly name: string;
  readonly topology: GraphTopology;
  /** The shared statistics (read them on any thread with {@link GraphStats.read}). */
  readonly stats: GraphStats;
  /**
   * The stats array: nodes add to their own counters here (`graph.counters[graph.counterIndex(node, "no_route")] += k`).
   */
  readonly counters: Float64Array;
  /** Objects every stream holds at least. */
  readonly streamSize: number;
  readonly maxStreamSize: number;
  /** Whether calls, objects and edge counts are collected, and whether time is. */
  readonly counting: boolean;
  readonly timing: boolean;
  /** Each node's stream (the array may change: growth, {@link Graph.move}). */
  private readonly streams: Uint32Array[];
  /** Objects in each node's stream. */
  private readonly idx: Int32Array;
  private readonly procs: NodeProcess[];
  private readonly edgeOff: Int32Array;
  private readonly edgeCount: Int32Array;
  private readonly edgeTo: Int32Array;
  private readonly nodeStat: Int32Array;
  private readonly edgeStat: Int32Array;
  private readonly counterStat: Int32Array;
  private readonly sources: Int32Array;
  private readonly pending: Int32Array;
  private readonly mask: number;
  private tail = 0;
  private readonly clock: MonoClock | null;
  private readonly ts: Float64Array;
  private readonly onOverflow: OverflowSink | null;
  private readonly qsbr: Qsbr | null;
  private readonly qsbrSlot: number;
  private readonly byName = new Map<string, number>();

  private constructor(o: GraphOptions, topology: GraphTopology, stats: GraphStats) {
    this.name = topology.name;
    this.topology = topology;
    this.stats = stats;
    this.counters = stats.array;
    this.streamSize = o.streamSize ?? DEFAULT_STREAM_SIZE;
    this.maxStreamSize = o.maxStreamSize ?? DEFAULT_MAX_STREAM_SIZE;
    const collect = o.collect ?? "all";
    this.counting = collect !== "none";
    this.timing = collect === "all";
    const nodes = topology.nodes;
    const nn = nodes.length;
    this.streams = nodes.map(() => new Uint32Array(this.streamSize));
    this.idx = new Int32Array(nn);
    this.procs = o.nodes.map((s) => s.process);
    nodes.forEach((n, i) => this.byName.set(n.name, i));
    this.edgeOff = new Int32Array(nn);
    this.edgeCount = new Int32Array(nn);
    let ne = 0;
    nodes.forEach((n, i) => {
      this.edgeOff[i] = ne;
      this.edgeCount[i] = n.next.length;
      ne += n.next.length;
    });
    this.edgeTo = new Int32Array(Math.max(1, ne));
    nodes.forEach((n, i) => n.next.forEach((m, e) => (this.edgeTo[this.edgeOff[i]! + e] = this.byName.get(m)!)));
    const l = stats.layout;
    this.nodeStat = Int32Array.from(l.nodeBase);
    this.edgeStat = Int32Array.from(l.edgeBase);
    this.counterStat = Int32Array.from(l.counterBase);
    this.sources = Int32Array.from(nodes.flatMap((n, i) => (n.source ? [i] : [])));
    // A node is on the pending list at most once (it joins when its stream goes from empty to not).
    let size = 2;
    while (size < nn + 1) size *= 2;
    this.pending = new Int32Array(size);
    this.mask = size - 1;
    this.clock = this.timing ? new MonoClock() : null;
    this.ts = this.clock?.ts ?? new Float64Array(2);
    this.onOverflow = o.onOverflow ?? null;
    this.qsbr = o.qsbr?.qsbr ?? null;
    this.qsbrSlot = o.qsbr?.slot ?? 0;
  }

  /**
   * Builds a graph: checks the topology (and that it matches `stats` when given), preallocates the
   * streams, then calls each node's `init` in order. Throws a RangeError naming what is wrong.
   *
   * @example
   * const g = Graph.create({ name: "g", nodes: [
   *   { name: "src", source: true, next: ["sink"], process: () => 0 },
   *   { name: "sink", next: [], process: (_g, _n, _objs, k) => k },
   * ] });
   */
  static create(o: GraphOptions): Graph {
    const streamSize = o.streamSize ?? DEFAULT_STREAM_SIZE;
    const maxStreamSize = o.maxStreamSize ?? DEFAULT_MAX_STREAM_SIZE;
    if (!Number.isInteger(streamSize) || streamSize < 1 || streamSize > 1 << 24) {
      throw new RangeError(`graph '${o.name}': invalid streamSize ${streamSize}: 1 to ${1 << 24}`);
    }
    if (!Number.isInteger(maxStreamSize) || maxStreamSize < streamSize || maxStreamSize > 1 << 24) {
      throw new RangeError(`graph '${o.name}': invalid maxStreamSize ${maxStreamSize}: ${streamSize} (streamSize) to ${1 << 24}`);
    }
    const collect = o.collect ?? "all";
    if (collect !== "all" && collect !== "counts" && collect !== "none") {
      throw new RangeError(`graph '${o.name}': invalid collect '${String(collect)}': all, counts or none`);
    }
    o.nodes.forEach((n, i) => {
      if (typeof n.process !== "function") throw new TypeError(`graph '${o.name}': node ${i} ('${n.name}') has no process function`);
    });
    const topology = checkTopology({ name: o.name, nodes: o.nodes });
    let stats: GraphStats;
    if (o.stats) {
      stats = GraphStats.fromShared(o.stats);
      const why = topologyDiff(stats.topology, topology);
      if (why !== null) throw new RangeError(`graph '${o.name}': the nodes do not match the shared stats' topology: ${why}`);
    } else {
      stats = GraphStats.create(topology);
    }
    if (o.qsbr) {
      const { qsbr, slot } = o.qsbr;
      if (!Number.isInteger(slot) || slot < 0 || slot >= qsbr.readers) throw new RangeError(`graph '${o.name}': invalid QSBR slot ${slot}: 0 to ${qsbr.readers - 1}`);
    }
    const g = new Graph(o, topology, stats);
    o.nodes.forEach((n, i) => n.init?.(g, i));
    if (o.qsbr) o.qsbr.qsbr.online(o.qsbr.slot);
    return g;
  }

  /** Number of nodes. */
  get nodeCount(): number {
    return this.topology.nodes.length;
  }

  /**
   * The id (index) of a node by name; throws naming the graph's nodes when there is none.
   *
   * @example
   * const graph = Graph.create({ name: "g", nodes: [pktdevRxNode({ port, burst: 64, next: "pkt_drop" }), pktDropNode({ mempool })] });
   * const drop = graph.nodeId("pkt_drop"); // 1
   */
  nodeId(name: string): number {
    const i = this.byName.get(name);
    if (i === undefined) throw new RangeError(`graph '${this.name}' has no node '${name}' (nodes: ${[...this.byName.keys()].join(", ")})`);
    return i;
  }

  /**
   * The edge index of `node`'s next node `next`; throws when `node` has no such edge.
   *
   * @example
   * let toDrop = 0;
   * const spec: NodeSpec = {
   *   name: "check", next: ["ip4_lookup", "pkt_drop"],
   *   init: (graph, node) => { toDrop = graph.edgeIndex(node, "pkt_drop"); }, // 1
   *   process: (graph, node, objs, k) => { graph.enqueue(node, toDrop, objs, 0, k); return k; },
   * };
   */
  edgeIndex(node: number, next: string): number {
    const d = this.decl(node);
    const e = d.next.indexOf(next);
    if (e < 0) throw new RangeError(`graph '${this.name}': node '${d.name}' has no edge to '${next}' (next: ${d.next.join(", ") || "none"})`);
    return e;
  }

  /**
   * Where `node`'s own counter `name` lives in {@link Graph.counters}; throws when the node declared none
   * of that name.
   *
   * @example
   * let noRoute = 0;
   * const spec: NodeSpec = {
   *   name: "lookup", next: ["pkt_drop"], counters: ["no_route"],
   *   init: (graph, node) => { noRoute = graph.counterIndex(node, "no_route"); },
   *   process: (graph, node, objs, k) => { graph.counters[noRoute] = graph.counters[noRoute]! + k; graph.move(node, 0, k); return k; },
   * };
   */
  counterIndex(node: number, name: string): number {
    const d = this.decl(node);
    const k = (d.counters ?? []).indexOf(name);
    if (k < 0) throw new RangeError(`graph '${this.name}': node '${d.name}' has no counter '${name}' (counters: ${(d.counters ?? []).join(", ") || "none"})`);
    return this.counterStat[node]! + k;
  }

  private decl(node: number) {
    const d = this.topology.nodes[node];
    if (!d) throw new RangeError(`graph '${this.name}': no node ${node} (0 to ${this.nodeCount - 1})`);
    return d;
  }

  /**
   * Control path (a node's init): makes `node`'s current stream hold at least `size` objects. Streams
   * are swapped between nodes by {@link Graph.move}, so a source that fills its own stream with up to
   * `burst` objects needs `burst <= streamSize` instead; see {@link Graph.streamSize}.
   *
   * @example
   * const spec: NodeSpec = { name: "gen", source: true, next: ["pkt_drop"], init: (graph, node) => graph.ensureStream(node, 512), process: () => 0 };
   */
  ensureStream(node: number, size: number): void {
    this.decl(node);
    if (size > this.maxStreamSize) throw new RangeError(`graph '${this.name}': a stream of ${size} objects exceeds maxStreamSize ${this.maxStreamSize}`);
    if (this.streams[node]!.length < size) this.grow(node, size);
  }

  /**
   * One walk: every source, then every pending node until none is left; then the QSBR quiescent state.
   * Returns the objects the sources produced (for idle detection). Allocates nothing.
   *
   * @example
   * const graph = Graph.create({ name: "g", nodes: [pktdevRxNode({ port, burst: 64, next: "pkt_drop" }), pktDropNode({ mempool })] });
   * let empty = 0;
   * for (let i = 0; i < 1_000_000; i++) if (graph.walk() === 0) empty++; // idle after many empty walks
   */
  walk(): number {
    const st = this.counters;
    const counting = this.counting;
    const timing = this.timing;
    const idx = this.idx;
    const streams = this.streams;
    const procs = this.procs;
    const nodeStat = this.nodeStat;
    const ts = this.ts;
    const clock = this.clock;
    let t0 = 0;
    if (clock !== null) {
      clock.read();
      t0 = ts[0]! * 1e9 + ts[1]!;
    }
    let produced = 0;
    const sources = this.sources;
    for (let k = 0; k < sources.length; k++) {
      const id = sources[k]!;
      const rc = procs[id]!(this, id, streams[id]!, idx[id]!);
      idx[id] = 0;
      produced += rc;
      if (counting) {
        const b = nodeStat[id]!;
        st[b + ST_CALLS] = st[b + ST_CALLS]! + 1;
        st[b + ST_OBJS] = st[b + ST_OBJS]! + rc;
        if (timing) {
          clock!.read();
          const t1 = ts[0]! * 1e9 + ts[1]!;
          st[b + ST_TIME_NS] = st[b + ST_TIME_NS]! + (t1 - t0);
          t0 = t1;
        }
      }
    }
    const pending = this.pending;
    const mask = this.mask;
    let head = 0;
    while (head !== this.tail) {
      const id = pending[head]!;
      head = (head + 1) & mask;
      const n = idx[id]!;
      procs[id]!(this, id, streams[id]!, n);
      idx[id] = 0;
      if (counting) {
        const b = nodeStat[id]!;
        st[b + ST_CALLS] = st[b + ST_CALLS]! + 1;
        st[b + ST_OBJS] = st[b + ST_OBJS]! + n;
        if (timing) {
          clock!.read();
          const t1 = ts[0]! * 1e9 + ts[1]!;
          st[b + ST_TIME_NS] = st[b + ST_TIME_NS]! + (t1 - t0);
          t0 = t1;
        }
      }
    }
    this.tail = 0;
    if (counting) st[ST_WALKS] = st[ST_WALKS]! + 1;
    if (this.qsbr !== null) this.qsbr.quiescent(this.qsbrSlot);
    return produced;
  }

  /**
   * Appends `objs[off..off+n)` to the stream of `node`'s next node on `edge` (rte_node_enqueue).
   *
   * @example
   * const spec: NodeSpec = { name: "a", next: ["b", "c"], process: (graph, node, objs, k) => { graph.enqueue(node, 1, objs, 0, k); return k; } }; // all to "c"
   */
  enqueue(node: number, edge: number, objs: Uint32Array, off: number, n: number): void {
    if (n <= 0) return;
    const t = this.target(node, edge);
    if (this.counting) {
      const e = this.edgeStat[node]! + edge;
      this.counters[e] = this.counters[e]! + n;
    }
    this.append(t, objs, off, n);
  }

  /**
   * Appends one object to `node`'s next node on `edge` (rte_node_enqueue_x1).
   *
   * @example
   * const spec: NodeSpec = {
   *   name: "odd_even", next: ["even", "odd"],
   *   process: (graph, node, objs, k) => { for (let i = 0; i < k; i++) graph.enqueue1(node, objs[i]! & 1, objs[i]!); return k; },
   * };
   */
  enqueue1(node: number, edge: number, obj: number): void {
    const t = this.target(node, edge);
    if (this.counting) {
      const e = this.edgeStat[node]! + edge;
      this.counters[e] = this.counters[e]! + 1;
    }
    const i = this.idx[t]!;
    let s = this.streams[t]!;
    if (i >= s.length) {
      if (this.grow(t, i + 1) <= i) {
        this.one[0] = obj;
        this.overflow(t, this.one, 0, 1);
        return;
      }
      s = this.streams[t]!;
    }
    if (i === 0) this.push(t);
    s[i] = obj;
    this.idx[t] = i + 1;
  }

  private readonly one = new Uint32Array(1);

  /**
   * Sends each `objs[i]` (i < n) along edge `nexts[i]`: runs of equal edges are appended in one go, and
   * when every object takes one edge and `objs` is the node's own stream the whole stream moves
   * ({@link Graph.move}). The usual end of a node that picks an edge per object.
   *
   * @example
   * const nexts = new Uint16Array(256);
   * const spec: NodeSpec = {
   *   name: "split", next: ["even", "odd"],
   *   process: (graph, node, objs, k) => {
   *     for (let i = 0; i < k; i++) nexts[i] = objs[i]! & 1;
   *     graph.enqueueNexts(node, objs, nexts, k);
   *     return k;
   *   },
   * };
   */
  enqueueNexts(node: number, objs: Uint32Array, nexts: Uint16Array, n: number): void {
    if (n <= 0) return;
    let cur = nexts[0]!;
    let start = 0;
    for (let i = 1; i < n; i++) {
      const e = nexts[i]!;
      if (e !== cur) {
        this.enqueue(node, cur, objs, start, i - start);
        start = i;
        cur = e;
      }
    }
    if (start === 0 && objs === this.streams[node]) this.move(node, cur, n);
    else this.enqueue(node, cur, objs, start, n - start);
  }

  /**
   * Hands `node`'s own stream (its first `n` objects) to its next node on `edge`: when that node's stream
   * is empty the arrays are swapped (no copy), else the objects are appended (rte_node_next_stream_move).
   * The caller must not use its `objs` afterwards.
   *
   * @example
   * const rx: NodeSpec = {
   *   name: "rx", source: true, next: ["pkt_cls"],
   *   process: (graph, node, objs) => { const k = port.rxBurst(objs, 64); graph.move(node, 0, k); return k; },
   * };
   */
  move(node: number, edge: number, n: number): void {
    if (n <= 0) return;
    const t = this.target(node, edge);
    const own = this.streams[node]!;
    if (n > own.length) throw new RangeError(`graph '${this.name}': node ${node} moves ${n} objects, its stream holds ${own.length}`);
    if (this.idx[t] !== 0) {
      this.enqueue(node, edge, own, 0, n);
      return;
    }
    if (this.counting) {
      const e = this.edgeStat[node]! + edge;
      this.counters[e] = this.counters[e]! + n;
    }
    this.streams[node] = this.streams[t]!;
    this.streams[t] = own;
    this.idx[t] = n;
    this.push(t);
  }

  /** The node `node`'s edge `edge` leads to; throws on an edge the node does not have (a node's bug). */
  private target(node: number, edge: number): number {
    if (edge >>> 0 >= this.edgeCount[node]!) {
      throw new RangeError(`graph '${this.name}': node '${this.topology.nodes[node]?.name}' has no edge ${edge} (${this.edgeCount[node]} edges)`);
    }
    return this.edgeTo[this.edgeOff[node]! + edge]!;
  }

  private append(t: number, objs: Uint32Array, off: number, n: number): void {
    const i = this.idx[t]!;
    let s = this.streams[t]!;
    let k = n;
    if (i + n > s.length) {
      const cap = this.grow(t, i + n);
      s = this.streams[t]!;
      if (i + n > cap) {
        k = cap - i;
        this.overflow(t, objs, off + k, n - k);
      }
    }
    if (k <= 0) return;
    if (i === 0) this.push(t);
    for (let j = 0; j < k; j++) s[i + j] = objs[off + j]!;
    this.idx[t] = i + k;
  }

  private push(t: number): void {
    this.pending[this.tail] = t;
    this.tail = (this.tail + 1) & this.mask;
  }

  /** Grows `t`'s stream (doubling) toward `need`, at most maxStreamSize; returns the new capacity. */
  private grow(t: number, need: number): number {
    const s = this.streams[t]!;
    if (s.length >= this.maxStreamSize) return s.length;
    let size = s.length * 2;
    while (size < need) size *= 2;
    if (size > this.maxStreamSize) size = this.maxStreamSize;
    const ns = new Uint32Array(size);
    ns.set(s.subarray(0, this.idx[t]!));
    this.streams[t] = ns;
    if (this.counting) {
      const b = this.nodeStat[t]! + ST_REALLOCS;
      this.counters[b] = this.counters[b]! + 1;
    }
    return size;
  }

  private overflow(t: number, objs: Uint32Array, off: number, n: number): void {
    const b = this.nodeStat[t]! + ST_OVERFLOWS;
    this.counters[b] = this.counters[b]! + n;
    if (this.onOverflow === null) {
      throw new Error(`graph '${this.name}': node '${this.topology.nodes[t]?.name}' stream is full (${this.streams[t]!.length} objects, maxStreamSize): ${n} objects would be lost (give the graph an onOverflow sink)`);
    }
    this.onOverflow(objs, n, off);
  }

  /**
   * Objects waiting in `node`'s stream (0 between walks).
   *
   * @example
   * const graph = Graph.create({ name: "g", nodes: [pktdevRxNode({ port, burst: 64, next: "pkt_drop" }), pktDropNode({ mempool })] });
   * graph.walk();
   * console.log(graph.pendingObjects(graph.nodeId("pkt_drop"))); // 0
   */
  pendingObjects(node: number): number {
    return this.idx[node] ?? 0;
  }

  /**
   * The capacity of `node`'s current stream (it grows, and moves between nodes).
   *
   * @example
   * const graph = Graph.create({ name: "g", nodes: [pktdevRxNode({ port, burst: 64, next: "pkt_drop" }), pktDropNode({ mempool })] });
   * console.log(graph.streamCapacity(graph.nodeId("pkt_drop"))); // 256
   */
  streamCapacity(node: number): number {
    return this.streams[node]?.length ?? 0;
  }

  /**
   * Graphviz text of this graph ({@link toDot}).
   *
   * @example
   * const graph = Graph.create({ name: "g", nodes: [pktdevRxNode({ port, burst: 64, next: "pkt_drop" }), pktDropNode({ mempool })] });
   * process.stdout.write(graph.dot());
   */
  dot(o: DotOptions = {}): string {
    return toDot(this.topology, o);
  }

  /**
   * Leaves the QSBR (offline) when one is in use. The graph holds no objects between walks.
   *
   * @example
   * const graph = Graph.create({ name: "g", nodes: [pktdevRxNode({ port, burst: 64, next: "pkt_drop" }), pktDropNode({ mempool })] });
   * graph.close();
   */
  close(): void {
    if (this.qsbr !== null) this.qsbr.offline(this.qsbrSlot);
  }
}

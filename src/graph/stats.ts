/**
 * A graph's statistics in shared memory (CNDP's gstats, DPDK's rte_graph_cluster_stats): per node the
 * process calls, objects, nanoseconds, stream growths and overflows, objects per edge, and the node's own
 * counters, in a Float64Array over a SharedArrayBuffer. The worker walking the graph writes them with
 * plain stores; the main thread reads them at any time ({@link GraphStats.read}) and sums the graphs of
 * all workers by node name ({@link sumGraphStats}). A figure read while a walk runs may lag that walk.
 */
import {
  checkTopology, statsLayout, type GraphTopology, type StatsLayout,
  ST_WALKS, ST_CALLS, ST_OBJS, ST_TIME_NS, ST_REALLOCS, ST_OVERFLOWS,
} from "./topology.js";

/**
 * What another thread needs to open the same stats: the topology and the buffer.
 *
 * @example
 * const s: GraphStatsShared = GraphStats.create(l3fwdTopology({ name: "fwd:0", rx: [0], tx: [0], inbox: [] })).shared(); // for the worker
 */
export interface GraphStatsShared {
  readonly topology: GraphTopology;
  readonly buf: SharedArrayBuffer;
}

/**
 * One node's figures.
 *
 * @example
 * const stats = GraphStats.create({ name: "g", nodes: [{ name: "rx", next: [], source: true }] });
 * for (const s of stats.read().nodes) console.log(s.name, s.calls > 0 ? s.objs / s.calls : 0);
 */
export interface NodeStats {
  name: string;
  source: boolean;
  /** Process calls (every walk, for a source). */
  calls: number;
  /** Objects handled (produced, for a source). */
  objs: number;
  /** Nanoseconds in the process function (0 with timing off). */
  timeNs: number;
  /** Times the node's stream grew. */
  reallocs: number;
  /** Objects sent to this node that did not fit its stream (handed to the overflow sink). */
  overflows: number;
  /** Objects sent along each edge, by next-node name. */
  next: Record<string, number>;
  /** The node's own counters by name. */
  counters: Record<string, number>;
}

/**
 * A graph's figures at one moment.
 *
 * @example
 * const snap = GraphStats.create({ name: "g", nodes: [{ name: "rx", next: [], source: true }] }).read();
 * for (const n of snap.nodes) console.log(n.name, n.calls, n.objs);
 */
export interface GraphStatsSnapshot {
  name: string;
  walks: number;
  nodes: NodeStats[];
}

/**
 * A graph's shared statistics.
 *
 * @example
 * const topology = l3fwdTopology({ name: "fwd:0", rx: [0], tx: [0, 1], inbox: [] });
 * const stats = GraphStats.create(topology);   // main thread, before the worker starts
 * // worker: Graph.create({ name, nodes, stats: stats.shared() })
 * console.log(stats.read().nodes.map((n) => `${n.name} ${n.objs}`));
 */
export class GraphStats {
  readonly topology: GraphTopology;
  readonly layout: StatsLayout;
  /** The figures: see {@link StatsLayout} for where each lives. */
  readonly array: Float64Array;

  private constructor(topology: GraphTopology, buf: SharedArrayBuffer) {
    this.topology = topology;
    this.layout = statsLayout(topology);
    if (buf.byteLength < this.layout.words * 8) {
      throw new RangeError(`Stats buffer of graph '${topology.name}' has ${buf.byteLength} bytes, ${this.layout.words * 8} needed`);
    }
    this.array = new Float64Array(buf, 0, this.layout.words);
  }

  /**
   * Zeroed stats for a topology (checked: see {@link checkTopology}).
   *
   * @example
   * const stats = GraphStats.create({ name: "g", nodes: [{ name: "rx", next: [], source: true }] });
   */
  static create(topology: GraphTopology): GraphStats {
    const t = checkTopology(topology);
    return new GraphStats(t, new SharedArrayBuffer(statsLayout(t).words * 8));
  }

  /**
   * The same stats in another thread.
   *
   * @example
   * const shared = GraphStats.create({ name: "g", nodes: [{ name: "rx", next: [], source: true }] }).shared(); // main thread
   * const stats = GraphStats.fromShared(shared); // worker
   */
  static fromShared(s: GraphStatsShared): GraphStats {
    return new GraphStats(checkTopology(s.topology), s.buf);
  }

  /**
   * The plain form for another thread.
   *
   * @example
   * const stats = GraphStats.create({ name: "g", nodes: [{ name: "rx", next: [], source: true }] });
   * const s = stats.shared();
   */
  shared(): GraphStatsShared {
    return { topology: this.topology, buf: this.array.buffer as SharedArrayBuffer };
  }

  /**
   * Every figure now, by node.
   *
   * @example
   * const stats = GraphStats.create(l3fwdTopology({ name: "fwd:0", rx: [0], tx: [0], inbox: [] }));
   * const drops = stats.read().nodes.find((n) => n.name === "pkt_drop")?.objs ?? 0;
   */
  read(): GraphStatsSnapshot {
    const a = this.array;
    const l = this.layout;
    return {
      name: this.topology.name,
      walks: a[ST_WALKS]!,
      nodes: this.topology.nodes.map((n, i) => {
        const b = l.nodeBase[i]!;
        const next: Record<string, number> = {};
        n.next.forEach((m, e) => (next[m] = a[l.edgeBase[i]! + e]!));
        const counters: Record<string, number> = {};
        (n.counters ?? []).forEach((c, k) => (counters[c] = a[l.counterBase[i]! + k]!));
        return {
          name: n.name, source: !!n.source, calls: a[b + ST_CALLS]!, objs: a[b + ST_OBJS]!, timeNs: a[b + ST_TIME_NS]!,
          reallocs: a[b + ST_REALLOCS]!, overflows: a[b + ST_OVERFLOWS]!, next, counters,
        };
      }),
    };
  }
}

/**
 * The figures of several graphs summed by node name (CNDP's cluster stats over `worker_*`): walks added,
 * each node's figures, edge counts and counters added; nodes in order of first appearance.
 *
 * @example
 * const t = l3fwdTopology({ name: "fwd:0", rx: [0], tx: [0], inbox: [] });
 * const workers = [GraphStats.create(t), GraphStats.create({ ...t, name: "fwd:1" })];
 * const total = sumGraphStats(workers.map((s) => s.read()));
 */
export function sumGraphStats(snaps: readonly GraphStatsSnapshot[], name = "all"): GraphStatsSnapshot {
  const byName = new Map<string, NodeStats>();
  let walks = 0;
  for (const s of snaps) {
    walks += s.walks;
    for (const n of s.nodes) {
      const t = byName.get(n.name);
      if (!t) {
        byName.set(n.name, { ...n, next: { ...n.next }, counters: { ...n.counters } });
        continue;
      }
      t.calls += n.calls;
      t.objs += n.objs;
      t.timeNs += n.timeNs;
      t.reallocs += n.reallocs;
      t.overflows += n.overflows;
      for (const [k, v] of Object.entries(n.next)) t.next[k] = (t.next[k] ?? 0) + v;
      for (const [k, v] of Object.entries(n.counters)) t.counters[k] = (t.counters[k] ?? 0) + v;
    }
  }
  return { name, walks, nodes: [...byName.values()] };
}

/**
 * A text table of a snapshot (CNDP's l3fwd-graph screen): calls, objects, objects per call, ns per call
 * and per object, stream growths.
 *
 * @example
 * const stats = GraphStats.create(l3fwdTopology({ name: "fwd:0", rx: [0], tx: [0], inbox: [] }));
 * process.stdout.write(formatGraphStats(stats.read()));
 */
export function formatGraphStats(s: GraphStatsSnapshot): string {
  const w = Math.max(4, ...s.nodes.map((n) => n.name.length));
  const col = (v: string) => v.padStart(14);
  const head = `${"Node".padEnd(w)}${col("calls")}${col("objs")}${col("objs/call")}${col("ns/call")}${col("ns/obj")}${col("reallocs")}\n`;
  const rows = s.nodes.map((n) => {
    const perCall = n.calls > 0 ? n.objs / n.calls : 0;
    const nsCall = n.calls > 0 ? n.timeNs / n.calls : 0;
    const nsObj = n.objs > 0 ? n.timeNs / n.objs : 0;
    return `${n.name.padEnd(w)}${col(String(n.calls))}${col(String(n.objs))}${col(perCall.toFixed(2))}${col(nsCall.toFixed(1))}${col(nsObj.toFixed(1))}${col(String(n.reallocs))}\n`;
  });
  return `graph ${s.name}: ${s.walks} walks\n${head}${rows.join("")}`;
}

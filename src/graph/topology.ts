/**
 * A graph's shape without its code: its name and node declarations. It is checked once (names unique,
 * every next node present, no edge into a source or into the node itself, every node reachable from a
 * source), it lays out the shared statistics (one record per node: calls, objects, time, stream growths,
 * overflows, then one count per edge and the node's own counters), and it is what `dot` draws. Plain data:
 * the main thread plans a worker's graph, sizes its stats and prints it without building the nodes.
 */
import { checkNodeName, declOf, type NodeDecl } from "./node.js";

/**
 * A graph's name and nodes (in walk order for the sources).
 *
 * @example
 * const t: GraphTopology = { name: "worker_0", nodes: [
 *   { name: "src", next: ["sink"], source: true },
 *   { name: "sink", next: [] },
 * ] };
 */
export interface GraphTopology {
  readonly name: string;
  readonly nodes: readonly NodeDecl[];
}

/** Words of the graph header in the stats array: [walks, reserved]. */
export const STATS_HEADER_WORDS = 2;
/** Header word: walks done. */
export const ST_WALKS = 0;
/** Per-node word: process calls. */
export const ST_CALLS = 0;
/** Per-node word: objects handled (produced, for a source). */
export const ST_OBJS = 1;
/** Per-node word: nanoseconds spent in the process function (CNDP's cycles), when timing is on. */
export const ST_TIME_NS = 2;
/** Per-node word: times the node's stream had to grow (DPDK's realloc_count). */
export const ST_REALLOCS = 3;
/** Per-node word: objects sent to the node that did not fit its largest stream (given to the overflow sink). */
export const ST_OVERFLOWS = 4;
/** Fixed words per node record, before its edge counts and counters. */
export const NODE_STAT_WORDS = 5;

/**
 * Where each node's figures live in the stats array (Float64 words).
 *
 * @example
 * const topology = l3fwdTopology({ name: "fwd:0", rx: [0], tx: [0, 1], inbox: [] });
 * const l = statsLayout(topology);
 * const stats = GraphStats.create(topology);
 * const calls = stats.array[l.nodeBase[0]! + ST_CALLS];
 */
export interface StatsLayout {
  /** Total Float64 words. */
  readonly words: number;
  /** Per node: index of its record (ST_CALLS ... ST_OVERFLOWS). */
  readonly nodeBase: readonly number[];
  /** Per node: index of its first edge count (objects sent along edge 0, 1, ...). */
  readonly edgeBase: readonly number[];
  /** Per node: index of its first own counter. */
  readonly counterBase: readonly number[];
}

/**
 * Checks a topology and returns a normalized copy (plain arrays). Throws a RangeError naming the graph,
 * the node and what is wrong.
 *
 * @example
 * const t = checkTopology({ name: "g", nodes: [{ name: "a", next: ["b"], source: true }, { name: "b", next: [] }] });
 */
export function checkTopology(t: GraphTopology): GraphTopology {
  checkNodeName(t.name, "graph");
  const g = `graph '${t.name}'`;
  if (!Array.isArray(t.nodes) || t.nodes.length === 0) throw new RangeError(`${g}: no nodes`);
  const index = new Map<string, number>();
  t.nodes.forEach((n, i) => {
    checkNodeName(n.name);
    if (index.has(n.name)) throw new RangeError(`${g}: two nodes named '${n.name}' (nodes ${index.get(n.name)} and ${i})`);
    index.set(n.name, i);
  });
  const known = () => [...index.keys()].join(", ");
  for (const n of t.nodes) {
    const next: readonly string[] = n.next;
    if (!Array.isArray(next)) throw new RangeError(`${g}: node '${n.name}' has no next-node list`);
    if (next.length > 65535) throw new RangeError(`${g}: node '${n.name}' has ${next.length} edges, at most 65535`);
    const seen = new Set<string>();
    next.forEach((m: string, e: number) => {
      const j = index.get(m);
      if (j === undefined) throw new RangeError(`${g}: node '${n.name}' edge ${e} names '${m}', which is not in the graph (nodes: ${known()})`);
      if (m === n.name) throw new RangeError(`${g}: node '${n.name}' edge ${e} points to itself (a node cannot enqueue to the stream it is processing)`);
      if (t.nodes[j]!.source) throw new RangeError(`${g}: node '${n.name}' edge ${e} points to source node '${m}' (sources are walked once, first; they take no input)`);
      if (seen.has(m)) throw new RangeError(`${g}: node '${n.name}' names '${m}' twice in its next nodes`);
      seen.add(m);
    });
    const cs = n.counters ?? [];
    if (new Set(cs).size !== cs.length) throw new RangeError(`${g}: node '${n.name}' names a counter twice (${cs.join(", ")})`);
    for (const c of cs) checkNodeName(c, `counter of node '${n.name}'`);
  }
  const sources = t.nodes.filter((n) => n.source);
  if (sources.length === 0) throw new RangeError(`${g}: no source node (a graph is walked from its sources, such as pktdev_rx)`);
  // Every node must be reachable from a source, or it would never run (DPDK refuses isolated nodes).
  const reached = new Set<string>();
  const stack = sources.map((s) => s.name);
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (reached.has(name)) continue;
    reached.add(name);
    for (const m of t.nodes[index.get(name)!]!.next) stack.push(m);
  }
  const isolated = t.nodes.filter((n) => !reached.has(n.name)).map((n) => n.name);
  if (isolated.length > 0) throw new RangeError(`${g}: node(s) ${isolated.map((s) => `'${s}'`).join(", ")} cannot be reached from any source`);
  return { name: t.name, nodes: t.nodes.map(declOf) };
}

/**
 * The stats layout of a (checked) topology: a header, then per node its record, edge counts and counters.
 *
 * @example
 * const topology = l3fwdTopology({ name: "fwd:0", rx: [0], tx: [0, 1], inbox: [] });
 * const words = statsLayout(topology).words; // Float64 words of the stats buffer
 */
export function statsLayout(t: GraphTopology): StatsLayout {
  const nodeBase: number[] = [];
  const edgeBase: number[] = [];
  const counterBase: number[] = [];
  let w = STATS_HEADER_WORDS;
  for (const n of t.nodes) {
    nodeBase.push(w);
    w += NODE_STAT_WORDS;
    edgeBase.push(w);
    w += n.next.length;
    counterBase.push(w);
    w += n.counters?.length ?? 0;
  }
  return { words: w, nodeBase, edgeBase, counterBase };
}

/**
 * Whether two topologies are the same graph (names, edges in order, sources, counters); the first
 * difference in words, or null when equal.
 *
 * @example
 * const planned = l3fwdTopology({ name: "g", rx: [0], tx: [0], inbox: [] });
 * const graph = Graph.create({ name: "g", nodes: [pktdevRxNode({ port, burst: 64, next: "pkt_drop" }), pktDropNode({ mempool })] });
 * const why = topologyDiff(planned, graph.topology); // "graph 'g': 6 nodes vs 2"
 * if (why !== null) console.log(why);
 */
export function topologyDiff(a: GraphTopology, b: GraphTopology): string | null {
  if (a.name !== b.name) return `graph name '${a.name}' vs '${b.name}'`;
  if (a.nodes.length !== b.nodes.length) return `graph '${a.name}': ${a.nodes.length} nodes vs ${b.nodes.length}`;
  for (let i = 0; i < a.nodes.length; i++) {
    const x = a.nodes[i]!;
    const y = b.nodes[i]!;
    if (x.name !== y.name) return `graph '${a.name}' node ${i}: '${x.name}' vs '${y.name}'`;
    if (!!x.source !== !!y.source) return `graph '${a.name}' node '${x.name}': source ${!!x.source} vs ${!!y.source}`;
    if (x.next.join(",") !== y.next.join(",")) return `graph '${a.name}' node '${x.name}': next [${x.next.join(", ")}] vs [${y.next.join(", ")}]`;
    const cx = (x.counters ?? []).join(",");
    const cy = (y.counters ?? []).join(",");
    if (cx !== cy) return `graph '${a.name}' node '${x.name}': counters [${cx}] vs [${cy}]`;
  }
  return null;
}

/**
 * Nodes of a packet graph (DPDK's rte_node, CNDP's cne_node): a name, the names of the nodes it may send
 * to (its edges, numbered by position), and a process function that handles a burst of object handles
 * (u32 frame handles) and enqueues them to next nodes by edge index. A {@link NodeDecl} is the topology
 * alone (plain data: it crosses threads, sizes the stats and draws the `dot`); a {@link NodeSpec} adds the
 * process function, built on the thread that walks the graph.
 */
import type { Graph } from "./graph.js";

/**
 * A node's process function: handles `objs[0..n)` (the node's own stream) and enqueues each object to a
 * next node through the graph (`graph.enqueue`, `graph.enqueue1`, `graph.enqueueNexts`, `graph.move`),
 * or consumes it (frees it, sends it). Every object must leave: a graph holds nothing between walks.
 * Returns the number of objects handled; for a source node (called once per walk with its own, usually
 * empty, stream) the number it produced, which the stats count as its objects. After `graph.move` the
 * node must not touch `objs` again (the array now belongs to the next node).
 *
 * @example
 * const process: NodeProcess = (graph, node, objs, n) => {
 *   graph.move(node, 0, n); // everything to edge 0
 *   return n;
 * };
 */
export type NodeProcess = (graph: Graph, node: number, objs: Uint32Array, n: number) => number;

/**
 * A node's place in a graph: its name, the names of its next nodes (edge i goes to `next[i]`), whether
 * it is a source (called on every walk, first, in graph order: `pktdev_rx`), and the names of its own
 * counters (node-specific statistics such as `no_route`, kept in the graph's shared stats).
 *
 * @example
 * const decl: NodeDecl = { name: "ip4_lookup", next: ["ip4_rewrite", "pkt_drop"], counters: ["bad_header", "no_route"] };
 */
export interface NodeDecl {
  readonly name: string;
  readonly next: readonly string[];
  readonly source?: boolean;
  readonly counters?: readonly string[];
}

/**
 * A node ready to be walked: its {@link NodeDecl} plus the process function and an optional `init`
 * called once when the graph is built (resolve edge indices by name, find counter indices, reserve
 * stream room). Built per graph (per worker thread): process functions close over that thread's ports
 * and tables.
 *
 * @example
 * const spec: NodeSpec = {
 *   name: "pkt_drop", next: [],
 *   process: (_g, _node, objs, n) => { mempool.freeBulk(objs, n); return n; },
 * };
 */
export interface NodeSpec extends NodeDecl {
  readonly process: NodeProcess;
  readonly init?: (graph: Graph, node: number) => void;
}

/** Characters allowed in node names (they appear in the `dot` text and app-socket replies). */
const NAME_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Throws a RangeError naming what is wrong with a node name (1 to 64 of letters, digits, `_.:-`).
 *
 * @example
 * checkNodeName("pktdev_rx-0"); // ok
 */
export function checkNodeName(name: string, where = "node"): void {
  if (typeof name !== "string" || !NAME_RE.test(name)) {
    throw new RangeError(`Invalid ${where} name ${JSON.stringify(name)}: 1 to 64 letters, digits or '_.:-'`);
  }
}

/**
 * A copy of a node under the name `<name>-<suffix>` (DPDK's rte_node_clone): the same process function,
 * edges and counters, for a second instance in one graph (one `pktdev_tx` per port).
 *
 * @example
 * const base: NodeSpec = { name: "counter", next: [], process: (_g, _node, _objs, k) => k };
 * const second = cloneNode(base, "1"); // "counter-1"
 */
export function cloneNode<T extends NodeDecl>(spec: T, suffix: string): T {
  const name = `${spec.name}-${suffix}`;
  checkNodeName(name);
  return { ...spec, name };
}

/**
 * The topology of a node (its {@link NodeDecl} fields alone): plain data for another thread.
 *
 * @example
 * const d = declOf(pktDropNode({ mempool })); // { name: "pkt_drop", next: [] }
 */
export function declOf(spec: NodeDecl): NodeDecl {
  return {
    name: spec.name,
    next: [...spec.next],
    ...(spec.source ? { source: true } : {}),
    ...(spec.counters && spec.counters.length > 0 ? { counters: [...spec.counters] } : {}),
  };
}

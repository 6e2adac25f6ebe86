/**
 * graph: the packet graph (DPDK's rte_graph, CNDP's cne_graph and nodes). Nodes process bursts of frame
 * handles and enqueue them to next nodes named in their specs; a worker thread builds its own graph once
 * and walks it in its loop, allocating nothing; per-node statistics (calls, objects, time) live in shared
 * memory the main thread reads; `dot` draws the graph. The standard nodes (`pktdev_rx`, `pkt_cls`,
 * `ip4_lookup`, `ip4_rewrite`, `pktdev_tx`, `pkt_drop`) make an IPv4 router ({@link l3fwdNodes}).
 *
 * @example
 * import { Graph, pktdevRxNode, pktDropDecl, pktDropNode } from "xdplane/graph";
 * const graph = Graph.create({
 *   name: "worker_0",
 *   nodes: [pktdevRxNode({ port, burst: 64, next: pktDropDecl().name }), pktDropNode({ mempool })],
 *   onOverflow: (objs, k, o) => mempool.freeBulk(objs, k, o),
 * });
 * for (let i = 0; i < 1000; i++) graph.walk();
 * console.log(graph.stats.read().nodes.map((s) => `${s.name}: ${s.objs}`).join("\n"));
 *
 * @module
 */
export { Graph, DEFAULT_STREAM_SIZE, DEFAULT_MAX_STREAM_SIZE, type GraphOptions, type OverflowSink } from "./graph.js";
export { cloneNode, declOf, checkNodeName, type NodeDecl, type NodeSpec, type NodeProcess } from "./node.js";
export {
  checkTopology, statsLayout, topologyDiff, type GraphTopology, type StatsLayout,
  STATS_HEADER_WORDS, ST_WALKS, ST_CALLS, ST_OBJS, ST_TIME_NS, ST_REALLOCS, ST_OVERFLOWS, NODE_STAT_WORDS,
} from "./topology.js";
export {
  GraphStats, sumGraphStats, formatGraphStats, type GraphStatsShared, type GraphStatsSnapshot, type NodeStats,
} from "./stats.js";
export { toDot, type DotOptions } from "./dot.js";
export { pktdevRxName, pktdevTxName, inboxName, PKT_CLS, IP4_LOOKUP, IP4_REWRITE, PKT_DROP } from "./nodes/names.js";
export { frameViews, type FrameViews } from "./nodes/frame.js";
export { pktdevRxDecl, pktdevRxNode, type PktdevRxOptions } from "./nodes/pktdev-rx.js";
export { pktClsDecl, pktClsNode, PKT_CLS_NEXT_DROP, PKT_CLS_NEXT_IP4, type PktClsOptions } from "./nodes/pkt-cls.js";
export {
  ip4LookupDecl, ip4LookupNode, IP4_LOOKUP_NEXT_REWRITE, IP4_LOOKUP_NEXT_DROP, type Ip4BulkLookup, type Ip4LookupOptions,
} from "./nodes/ip4-lookup.js";
export { ip4RewriteDecl, ip4RewriteNode, IP4_REWRITE_NEXT_DROP, type Ip4RewriteOptions } from "./nodes/ip4-rewrite.js";
export { pktdevTxDecl, pktdevTxNode, inboxDecl, inboxNode, PKTDEV_TX_NEXT_DROP } from "./nodes/pktdev-tx.js";
export { pktDropDecl, pktDropNode } from "./nodes/pkt-drop.js";
export { RewriteTable, REWRITE_MAC_STRIDE, type RewriteTableShared } from "./nodes/rewrite-table.js";
export { l3fwdTopology, l3fwdNodes, type L3fwdGraphDesc, type L3fwdEnv } from "./l3fwd.js";

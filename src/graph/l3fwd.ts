/**
 * The L3 forwarding graph of one worker thread (CNDP's l3fwd-graph example), as data and as nodes:
 *
 * ```
 * pktdev_rx-<p> ──> pkt_cls ──> ip4_lookup ──> ip4_rewrite ──> pktdev_tx-<q> ──> (port q, or q's inbox)
 *                      └──────────────┴──────────────┴───────────────┴──> pkt_drop
 * inbox-<p> ──> pktdev_tx-<p>       (frames other threads routed to a port this thread serves)
 * ```
 *
 * The description ({@link L3fwdGraphDesc}) is plain data: the main thread draws and sizes each worker's
 * graph from it ({@link l3fwdTopology}) before any port exists; the worker builds the same nodes over its
 * own ports and tables ({@link l3fwdNodes}).
 */
import type { Lport } from "../pktdev/lport.js";
import type { Mempool } from "../mem/mempool.js";
import type { Ring } from "../ring/ring.js";
import type { NodeSpec } from "./node.js";
import type { GraphTopology } from "./topology.js";
import { pktdevRxDecl, pktdevRxNode } from "./nodes/pktdev-rx.js";
import { pktClsDecl, pktClsNode } from "./nodes/pkt-cls.js";
import { ip4LookupDecl, ip4LookupNode, type Ip4BulkLookup } from "./nodes/ip4-lookup.js";
import { ip4RewriteDecl, ip4RewriteNode } from "./nodes/ip4-rewrite.js";
import { inboxDecl, inboxNode, pktdevTxDecl, pktdevTxNode } from "./nodes/pktdev-tx.js";
import { pktDropDecl, pktDropNode } from "./nodes/pkt-drop.js";
import type { RewriteTable } from "./nodes/rewrite-table.js";

/**
 * One worker's l3fwd graph: which lports it receives from, which it can send to, which inboxes it drains.
 *
 * @example
 * const d: L3fwdGraphDesc = { name: "fwd:0", rx: [0], tx: [0, 1], inbox: [0] };
 */
export interface L3fwdGraphDesc {
  /** The graph's name (the thread's). */
  name: string;
  /** Lports this thread serves, received from in this order. */
  rx: readonly number[];
  /** Every lport routes may send to (ip4_rewrite's edges, in order). */
  tx: readonly number[];
  /** Lports this thread serves whose inbox it drains (other threads route frames to them). */
  inbox: readonly number[];
}

/**
 * The topology of a worker's l3fwd graph: sources (pktdev_rx, then inbox nodes), pkt_cls, ip4_lookup,
 * ip4_rewrite, one pktdev_tx per tx lport, pkt_drop.
 *
 * @example
 * const dot = toDot(l3fwdTopology({ name: "fwd:0", rx: [0, 1], tx: [0, 1], inbox: [] }));
 */
export function l3fwdTopology(d: L3fwdGraphDesc): GraphTopology {
  return {
    name: d.name,
    nodes: [
      ...d.rx.map((p) => pktdevRxDecl(p)), ...d.inbox.map(inboxDecl),
      pktClsDecl(), ip4LookupDecl(), ip4RewriteDecl(d.tx), ...d.tx.map(pktdevTxDecl), pktDropDecl(),
    ],
  };
}

/** What the worker's l3fwd nodes work with. */
export interface L3fwdEnv {
  /** This thread's ports (those of `desc.rx`), opened here. */
  ports: readonly Lport[];
  /** The pool of every port (one UMEM: a frame is sent from the UMEM it was received in). */
  mempool: Mempool;
  burst: number;
  fib: Ip4BulkLookup;
  /** The FIB's miss value (default FIB_NO_ROUTE, what `Fib4` returns). */
  noRoute?: number;
  nextHops: RewriteTable;
  /** The own MAC of every tx lport (6 bytes), by lport index. */
  macs: ReadonlyMap<number, Uint8Array>;
  /** Inboxes of the tx lports other threads serve, by lport index (this thread sends into them). */
  outboxes: ReadonlyMap<number, Ring>;
  /** Inboxes of `desc.inbox`, by lport index (this thread drains them). */
  inboxes: ReadonlyMap<number, Ring>;
}

/**
 * The nodes of a worker's l3fwd graph, in {@link l3fwdTopology}'s order. Throws naming what is missing.
 *
 * @example
 * const desc: L3fwdGraphDesc = { name: "fwd:0", rx: [0], tx: [0], inbox: [] };
 * const fib = Fib4.create();
 * fib.add(0xc6120000, 16, 0); // 198.18.0.0/16 -> next hop 0
 * const nextHops = RewriteTable.create(16);
 * nextHops.set(0, new Uint8Array([2, 0, 0, 0, 0, 2]), 0); // next hop 0: to 02:00:00:00:00:02 on lport 0
 * const graph = Graph.create({
 *   name: desc.name,
 *   nodes: l3fwdNodes(desc, { ports: [port], mempool, burst: 64, fib, nextHops, macs: new Map([[0, new Uint8Array([2, 0, 0, 0, 0, 1])]]), outboxes: new Map(), inboxes: new Map() }),
 *   onOverflow: (objs, k, at) => mempool.freeBulk(objs, k, at),
 * });
 */
export function l3fwdNodes(d: L3fwdGraphDesc, env: L3fwdEnv): NodeSpec[] {
  const byPid = new Map(env.ports.map((p) => [p.pid, p]));
  const local = (pid: number, what: string): Lport => {
    const p = byPid.get(pid);
    if (!p) throw new RangeError(`l3fwd graph '${d.name}': ${what} lport ${pid} is not one of this thread's ports (${[...byPid.keys()].join(", ")})`);
    return p;
  };
  const ring = (m: ReadonlyMap<number, Ring>, pid: number, what: string): Ring => {
    const r = m.get(pid);
    if (!r) throw new RangeError(`l3fwd graph '${d.name}': no ${what} for lport ${pid}`);
    return r;
  };
  const mp = env.mempool;
  return [
    ...d.rx.map((pid) => pktdevRxNode({ port: local(pid, "rx"), burst: env.burst, mempool: mp })),
    ...d.inbox.map((pid) => inboxNode({ pid, inbox: ring(env.inboxes, pid, "inbox"), burst: env.burst })),
    pktClsNode({ mempool: mp }),
    ip4LookupNode({ mempool: mp, fib: env.fib, ...(env.noRoute !== undefined ? { noRoute: env.noRoute } : {}) }),
    ip4RewriteNode({
      mempool: mp, nextHops: env.nextHops,
      ports: d.tx.map((pid) => {
        const mac = env.macs.get(pid);
        if (!mac) throw new RangeError(`l3fwd graph '${d.name}': no MAC for tx lport ${pid}`);
        return { pid, mac };
      }),
    }),
    ...d.tx.map((pid) => (byPid.has(pid)
      ? pktdevTxNode({ pid, port: byPid.get(pid)! })
      : pktdevTxNode({ pid, inbox: ring(env.outboxes, pid, "inbox of the thread serving") }))),
    pktDropNode({ mempool: mp }),
  ];
}

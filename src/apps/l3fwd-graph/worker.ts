/**
 * An l3fwd-graph worker (a CNF worker module): builds its thread's graph over its own ports, the shared
 * FIB and next-hop table, and walks it until told to stop. The thread's counters (rx, tx, drop, handed
 * over to other threads) are read from the graph's stats every 1024 walks and at the end.
 */
import type { WorkerContext } from "../../cnf/worker.js";
import { Fib4, type Fib4Shared } from "../../lookup/fib/fib4.js";
import { Ring, type RingShared } from "../../ring/ring.js";
import { TC_RX, TC_TX, TC_DROP, TC_HANDOFF } from "../../runtime/control.js";
import { Graph } from "../../graph/graph.js";
import { l3fwdNodes, type L3fwdGraphDesc } from "../../graph/l3fwd.js";
import { RewriteTable, type RewriteTableShared } from "../../graph/nodes/rewrite-table.js";
import { pktdevRxName, pktdevTxName, PKT_DROP } from "../../graph/nodes/names.js";
import { PKTDEV_TX_NEXT_DROP } from "../../graph/nodes/pktdev-tx.js";
import type { GraphStatsShared } from "../../graph/stats.js";
import { ST_OBJS } from "../../graph/topology.js";

/** What the main thread gives each worker. */
export interface L3fwdThreadData {
  desc: L3fwdGraphDesc;
  stats: GraphStatsShared;
  collect: "all" | "counts" | "none";
  fib: Fib4Shared;
  nextHops: RewriteTableShared;
  /** Own MAC of every lport, by lport index. */
  macs: [number, Uint8Array][];
  /** Inboxes of the lports other threads serve (this thread sends into them). */
  outboxes: [number, RingShared][];
  /** Inboxes of this thread's lports (it drains them). */
  inboxes: [number, RingShared][];
}

export function run(ctx: WorkerContext<L3fwdThreadData>): void {
  const d = ctx.data;
  const mp = ctx.mempool;
  if (mp === null) throw new Error(`l3fwd-graph thread '${ctx.name}': its ports have no mempool (net_ring lports alone cannot be routed)`);
  const graph = Graph.create({
    name: d.desc.name,
    nodes: l3fwdNodes(d.desc, {
      ports: ctx.ports, mempool: mp, burst: ctx.burst, fib: Fib4.fromShared(d.fib), nextHops: RewriteTable.fromShared(d.nextHops),
      macs: new Map(d.macs),
      outboxes: new Map(d.outboxes.map(([p, r]) => [p, Ring.fromShared(r)])),
      inboxes: new Map(d.inboxes.map(([p, r]) => [p, Ring.fromShared(r)])),
    }),
    stats: d.stats, collect: d.collect,
    onOverflow: (objs, n, off) => mp.freeBulk(objs, n, off),
  });
  // Where the thread's figures are in the stats: rx objects, and per tx node its objects and drops.
  const l = graph.stats.layout;
  const st = graph.counters;
  const rxAt = Int32Array.from(d.desc.rx.map((p) => l.nodeBase[graph.nodeId(pktdevRxName(p))]! + ST_OBJS));
  const own = new Set(ctx.ports.map((p) => p.pid));
  const txNode = (p: number) => graph.nodeId(pktdevTxName(p));
  const local = d.desc.tx.filter((p) => own.has(p));
  const remote = d.desc.tx.filter((p) => !own.has(p));
  const objsAt = (ps: number[]) => Int32Array.from(ps.map((p) => l.nodeBase[txNode(p)]! + ST_OBJS));
  const dropAt = (ps: number[]) => Int32Array.from(ps.map((p) => l.edgeBase[txNode(p)]! + PKTDEV_TX_NEXT_DROP));
  const txObjs = objsAt(local);
  const txDrop = dropAt(local);
  const hoObjs = objsAt(remote);
  const hoDrop = dropAt(remote);
  const dropObjs = l.nodeBase[graph.nodeId(PKT_DROP)]! + ST_OBJS;
  const tc = ctx.control.counters;
  const sum = (at: Int32Array): number => {
    let s = 0;
    for (let i = 0; i < at.length; i++) s += st[at[i]!]!;
    return s;
  };
  const publish = (): void => {
    tc[TC_RX] = sum(rxAt);
    tc[TC_TX] = sum(txObjs) - sum(txDrop);
    tc[TC_HANDOFF] = sum(hoObjs) - sum(hoDrop);
    tc[TC_DROP] = st[dropObjs]!;
  };
  let walks = 0;
  try {
    while (ctx.running()) {
      const got = graph.walk();
      if ((++walks & 1023) === 0) publish();
      ctx.idle(got);
    }
  } finally {
    publish();
    graph.close();
  }
}

/**
 * One worker's stack: its packet graph (CNDP's cnet graph)
 *
 *   cnet_rx-<lport> -> eth_input -> arp_input ----------------------------> pktdev_tx-<lport>
 *                                -> ip4_input -> icmp4_input -> ip4_output -> pktdev_tx-<lport>
 *                                             -> udp4_input  -> (channel queues; port unreachable -> ip4_output)
 *   cnet_timer (neighbour feed, ARP retries, gratuitous ARP) -> pktdev_tx-<lport>
 *   chnl_tx (datagrams channels sent) -> ip4_output
 *   every node -> pkt_drop
 *
 * over the tables the main thread's learner keeps, the thread's own ARP table and its channels. Walk it
 * in the worker's loop; use its channels between walks; close it at the end (frames still held by ARP
 * queues and channels go back to the pool).
 *
 * @example
 * const stack = CnetStack.create({
 *   ports, mempool, burst: 64, tables: NetTables.create(), arp: ArpTable.create(), counters: CnetCounters.create(),
 *   stackPorts: [{ pid: 0, ifindex: 5, mac: new Uint8Array([2, 0, 0, 0, 0, 1]) }],
 * });
 * for (let i = 0; i < 100; i++) stack.walk();
 * stack.close();
 */
import type { Lport } from "../pktdev/lport.js";
import type { Mempool } from "../mem/mempool.js";
import { Graph } from "../graph/graph.js";
import type { NodeSpec } from "../graph/node.js";
import { pktDropNode } from "../graph/nodes/pkt-drop.js";
import { pktdevTxNode } from "../graph/nodes/pktdev-tx.js";
import type { NetTables } from "./tables.js";
import type { ArpTable } from "./arp-table.js";
import type { CnetCounters } from "./counters.js";
import type { NeighbourFeed } from "./learn.js";
import { makeStackCtx, type StackCtx, type StackPort } from "./context.js";
import { Chnl } from "./chnl.js";
import { cnetRxNode, ethInputNode } from "./nodes/eth.js";
import { arpInputNode, cnetTimerNode, type ArpTimers } from "./nodes/arp.js";
import { ip4InputNode, ip4OutputNode } from "./nodes/ip4.js";
import { icmp4InputNode } from "./nodes/icmp4.js";
import { chnlTxNode, udp4InputNode } from "./nodes/udp4.js";

/** Options of {@link CnetStack.create}. */
export interface CnetStackOptions {
  /** The lports this thread serves (it drives their rings). */
  ports: readonly Lport[];
  /** The pool their frames come from (one UMEM). */
  mempool: Mempool;
  /** Each lport's ifindex and MAC. */
  stackPorts: readonly StackPort[];
  burst: number;
  tables: NetTables;
  /** This thread's ARP table (it alone writes it). */
  arp: ArpTable;
  counters: CnetCounters;
  /** Neighbours from the learner. */
  feed?: NeighbourFeed;
  timers?: ArpTimers;
  /** The graph's name (default "cnet"). */
  name?: string;
  /** Datagrams queued per channel (default 1024, a power of two). */
  chnlRxDepth?: number;
  /**
   * A word holding the time in ms that another thread keeps current (a Float64Array over a
   * SharedArrayBuffer). Without it the stack reads Date.now() once per walk, which allocates.
   */
  clock?: Float64Array;
}

/**
 * A worker's stack. See the module comment.
 *
 * @example
 * const got = stack.walk();
 */
export class CnetStack {
  readonly graph: Graph;
  readonly chnl: Chnl;
  /** @internal */
  readonly ctx: StackCtx;

  private constructor(graph: Graph, chnl: Chnl, ctx: StackCtx) {
    this.graph = graph;
    this.chnl = chnl;
    this.ctx = ctx;
  }

  /**
   * Builds the graph over the ports.
   *
   * @example
   * const stack = CnetStack.create({ ports, mempool, burst: 64, tables: NetTables.create(), arp: ArpTable.create(), counters: CnetCounters.create(), stackPorts: [] });
   */
  static create(o: CnetStackOptions): CnetStack {
    for (const p of o.ports) {
      if (!o.stackPorts.some((s) => s.pid === p.pid)) throw new RangeError(`cnet: lport ${p.pid} ('${p.name}') has no ifindex/MAC in stackPorts`);
    }
    const served = o.stackPorts.filter((s) => o.ports.some((p) => p.pid === s.pid));
    const ctx = makeStackCtx({ mempool: o.mempool, tables: o.tables, arp: o.arp, counters: o.counters, ports: served, ...(o.clock ? { clock: o.clock } : {}) });
    const chnl = new Chnl(ctx, o.chnlRxDepth !== undefined ? { rxDepth: o.chnlRxDepth } : {});
    const nodes: NodeSpec[] = [
      ...o.ports.map((p) => cnetRxNode(ctx, p, o.burst)),
      cnetTimerNode(ctx, o.feed ?? null, o.timers ?? {}),
      chnlTxNode(ctx, chnl, o.burst),
      ethInputNode(ctx),
      arpInputNode(ctx),
      ip4InputNode(ctx),
      icmp4InputNode(ctx),
      udp4InputNode(ctx, chnl),
      ip4OutputNode(ctx),
      ...o.ports.map((p) => pktdevTxNode({ pid: p.pid, port: p })),
      pktDropNode({ mempool: o.mempool }),
    ];
    const mp = o.mempool;
    const graph = Graph.create({ name: o.name ?? "cnet", nodes, collect: "counts", onOverflow: (objs, n, off) => mp.freeBulk(objs, n, off) });
    return new CnetStack(graph, chnl, ctx);
  }

  /**
   * One walk of the graph: receive, process, send; returns the objects the sources produced.
   *
   * @example
   * while (ctx.running()) ctx.idle(stack.walk());
   */
  walk(): number {
    return this.graph.walk();
  }

  /**
   * Frees every frame the stack still holds (ARP queues, channel queues, unsent datagrams) and closes
   * the channels; returns how many frames were freed.
   *
   * @example
   * stack.close();
   */
  close(): number {
    const ctx = this.ctx;
    let freed = 0;
    const scratch = new Uint32Array(256);
    for (let s = 0; s < ctx.arp.capacity; s++) {
      const k = ctx.arp.takePending(s, scratch, 0);
      if (k > 0) {
        ctx.mp.freeBulk(scratch, k);
        freed += k;
      }
    }
    for (let k; (k = this.chnl.txq.shift(scratch, 256)) > 0;) {
      ctx.mp.freeBulk(scratch, k);
      freed += k;
    }
    this.chnl.closeAll();
    this.graph.close();
    return freed;
  }
}

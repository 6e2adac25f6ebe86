/**
 * One worker's stack: its packet graph (CNDP's cnet graph)
 *
 *   cnet_rx-<lport> -> eth_input -> arp_input ----------------------------> pktdev_tx-<lport>
 *                                -> ip4_input -> icmp4_input -> ip4_output -> pktdev_tx-<lport>
 *                                             -> udp4_input  -> (channel queues; port unreachable -> ip4_output)
 *                                -> ip6_input -> icmp6_input -> ip6_output -> pktdev_tx-<lport>
 *                                                            (NS answered, NA) -> pktdev_tx-<lport>
 *                                             -> udp6_input  -> (channel queues; port unreachable -> ip6_output)
 *                                             -> tcp6_input  -> (the TCP engine) -> ip6_output | ip4_output
 *   cnet_timer (neighbour feed, ARP retries, gratuitous ARP) -> pktdev_tx-<lport>
 *   nd6_timer (IPv6 neighbour feed, DAD, ND retries and ageing) -> pktdev_tx-<lport>
 *   chnl_tx (datagrams channels sent) -> ip4_output | udp6_output (to IPv6 peers) -> ip6_output
 *   ip4_input -> ip4_reasm (fragments) -> icmp4_input | udp4_input | tcp4_input (whole datagrams)
 *   ip4_reasm_timer (expiry: ICMP time exceeded) -> ip4_output; ip4_output fragments to the MTU
 *   with `punt`: eth_input | ip4_input | udp4_input -> punt_tap (the TAP); punt_tap_rx -> ip4_output | pktdev_tx-<lport>
 *   every node -> pkt_drop
 *
 * over the tables the main thread's learner keeps, the thread's own ARP and ND tables and its channels. Walk it
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
import { NdTable } from "./ip6/nd-table.js";
import { Ip6Addrs } from "./ip6/addrs.js";
import { makeIp6Ctx, type Ip6Ctx } from "./ip6/context.js";
import { ip6InputNode } from "./ip6/input.js";
import { icmp6InputNode } from "./ip6/icmp6.js";
import { ip6OutputNode } from "./ip6/output.js";
import { nd6TimerNode, type Nd6Timers } from "./ip6/timer.js";
import { udp6InputNode, udp6OutputNode } from "./ip6/udp6.js";
import { ReasmTable, type ReasmOptions } from "./frag/reasm.js";
import { ip4ReasmNode, ip4ReasmTimerNode } from "./frag/reasm-node.js";
import type { IcmpRateOptions } from "./frag/icmp-rate.js";
import { puntTapNode, puntTapRxNode, type PuntOptions } from "./punt.js";
import { TcpEngine, type TcpOptions } from "./tcp/engine.js";
import { tcp4InputNode, tcpTimerNode } from "./tcp/nodes.js";
import { tcp6InputNode } from "./ip6/tcp6.js";
import type { TcpConnTable } from "./tcp/conn-table.js";

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
  /** IPv4 reassembly bounds and timeout (frag/reasm.ts). */
  reasm?: ReasmOptions;
  /** The ICMP error rate limit (frag/icmp-rate.ts; default 1000/s, burst 50). */
  icmpRate?: IcmpRateOptions;
  /** Punting to the kernel through a TAP (punt.ts); off without it. */
  punt?: PuntOptions;
  /** IPv6 (ip6/: ND, DAD, ICMPv6 echo, UDP over IPv6 for channels); default true. */
  ipv6?: boolean;
  /** This thread's ND table (it alone writes it; default: its own, 1024 entries). */
  nd?: NdTable;
  /** This thread's IPv6 addresses and their DAD states (default: its own). */
  ip6Addrs?: Ip6Addrs;
  /** IPv6 timers: ND retries and ageing, DAD (ip6/timer.ts). */
  timers6?: Nd6Timers;
  /** TCP (tcp/engine.ts): buffers, timers, limits; TCP is on unless `tcp: false`. */
  tcp?: TcpOptions | false;
  /** The TCP connection table the stack writes for telemetry (tcp/conn-table.ts). */
  tcpTable?: TcpConnTable;
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
  /** @internal IPv4 datagrams in reassembly. */
  readonly reasm: ReasmTable;
  /** @internal The punt's TAP, released at close (its read buffers back to the pool). */
  puntTap: Lport | null = null;
  /** @internal The IPv6 state (null without IPv6). */
  ip6: Ip6Ctx | null = null;
  /** @internal The TCP engine (null with `tcp: false`). */
  tcp: TcpEngine | null = null;

  private constructor(graph: Graph, chnl: Chnl, ctx: StackCtx, reasm: ReasmTable) {
    this.graph = graph;
    this.chnl = chnl;
    this.ctx = ctx;
    this.reasm = reasm;
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
    const ctx = makeStackCtx({
      mempool: o.mempool, tables: o.tables, arp: o.arp, counters: o.counters, ports: served, ...(o.clock ? { clock: o.clock } : {}),
      ...(o.icmpRate ? { icmpRate: o.icmpRate } : {}), punt: o.punt !== undefined,
    });
    const reasm = new ReasmTable(o.mempool, o.reasm ?? {});
    const tcp = o.tcp === false ? null : new TcpEngine(ctx, { ...(o.tcp ?? {}), ...(o.tcpTable ? { table: o.tcpTable } : {}) });
    const x = o.ipv6 === false ? null : makeIp6Ctx(ctx, o.nd ?? NdTable.create(), o.ip6Addrs ?? Ip6Addrs.create());
    if (tcp && x) tcp.attach6(x);
    const chnl = new Chnl(ctx, { ...(o.chnlRxDepth !== undefined ? { rxDepth: o.chnlRxDepth } : {}), ...(tcp ? { tcp } : {}), ...(x ? { ip6: x } : {}) });
    const nodes: NodeSpec[] = [
      ...o.ports.map((p) => cnetRxNode(ctx, p, o.burst)),
      cnetTimerNode(ctx, o.feed ?? null, o.timers ?? {}),
      chnlTxNode(ctx, chnl, o.burst),
      ...(x ? [nd6TimerNode(ctx, x, o.feed ?? null, o.timers6 ?? {})] : []),
      ethInputNode(ctx, x),
      arpInputNode(ctx),
      ip4InputNode(ctx, { tcp: tcp !== null }),
      ip4ReasmNode(ctx, reasm, { tcp: tcp !== null }),
      ...(tcp ? [tcpTimerNode(ctx, tcp, o.burst, { ip6: x !== null }), tcp4InputNode(ctx, tcp, { ip6: x !== null, fam: chnl.fam })] : []),
      ip4ReasmTimerNode(ctx, reasm),
      ...(o.punt ? [puntTapNode(ctx, o.punt.tap), puntTapRxNode(ctx, o.punt, o.burst)] : []),
      icmp4InputNode(ctx),
      udp4InputNode(ctx, chnl),
      ip4OutputNode(ctx),
      ...(x ? [ip6InputNode(ctx, x, { tcp: tcp !== null }), icmp6InputNode(ctx, x), udp6InputNode(ctx, x, chnl), udp6OutputNode(ctx, x), ip6OutputNode(ctx, x)] : []),
      ...(x && tcp ? [tcp6InputNode(ctx, x, tcp, chnl.fam)] : []),
      ...o.ports.map((p) => pktdevTxNode({ pid: p.pid, port: p })),
      pktDropNode({ mempool: o.mempool }),
    ];
    const mp = o.mempool;
    const graph = Graph.create({ name: o.name ?? "cnet", nodes, collect: "counts", onOverflow: (objs, n, off) => mp.freeBulk(objs, n, off) });
    const stack = new CnetStack(graph, chnl, ctx, reasm);
    stack.ip6 = x;
    stack.tcp = tcp;
    stack.puntTap = o.punt?.tap ?? null;
    return stack;
  }

  /**
   * One walk of the graph: receive, process, send; returns the objects the sources produced.
   *
   * @example
   * for (let i = 0; i < 1000; i++) stack.walk();
   */
  walk(): number {
    const n = this.graph.walk();
    this.chnl.dispatch();
    return n;
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
    freed += this.reasm.clear();
    this.puntTap?.release();
    const nd = this.ip6?.nd;
    for (let s = 0; nd && s < nd.capacity; s++) {
      const k = nd.takePending(s, scratch, 0);
      if (k > 0) {
        ctx.mp.freeBulk(scratch, k);
        freed += k;
      }
    }
    if (this.tcp) freed += this.tcp.closeAll();
    this.chnl.closeAll();
    this.graph.close();
    return freed;
  }
}

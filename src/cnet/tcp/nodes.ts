/**
 * TCP's graph nodes. `tcp4_input` (from ip4_input, protocol 6): checks the header length and the
 * checksum (bad: dropped and counted), hands each segment to the engine (which keeps data frames on its
 * queues; with punting on, a segment no connection or listener wants goes to `punt_tap` instead of a
 * RST), then moves the segments the engine built (ACKs, data, RSTs) to `ip4_output` (those of IPv6
 * connections to `ip6_output`, when the stack has IPv6). `tcp_timer` (a source, once per walk): runs the
 * engine's timers (RTO, delayed ACK, persist, keepalive, TIME_WAIT), sends what channels queued since
 * the last walk, and moves those segments to `ip4_output` / `ip6_output`. TCP over IPv6's input node is
 * ip6/tcp6.ts.
 *
 * @example
 * declare const stack: CnetStack;
 * const tcpIn = tcp4InputNode(stack.ctx, stack.tcp!);
 * const timer = tcpTimerNode(stack.ctx, stack.tcp!, 64);
 */
import type { Graph } from "../../graph/graph.js";
import type { NodeSpec } from "../../graph/node.js";
import { PKT_DROP } from "../../graph/nodes/names.js";
import { ETH_HLEN } from "../../wire/ether.js";
import { ip4HdrLen, ip4TotalLen } from "../../wire/ipv4.js";
import { TCP_HLEN, tcp4CksumOk } from "../../wire/tcp.js";
import { C } from "../counters.js";
import { frameAt, type StackCtx } from "../context.js";
import { IP4_OUTPUT, IP6_OUTPUT, PUNT_TAP, TCP4_INPUT, TCP_TIMER } from "../nodes/names.js";
import { TCP_IN_FREE, TCP_IN_PUNT, type TcpEngine } from "./engine.js";

/** Segments moved to ip4_output per node call (the rest wait for the next walk). */
const OUT_BURST = 512;

/** What the TCP nodes need beside the engine. */
export interface TcpNodeOptions {
  /** The stack has IPv6: the nodes get an edge to ip6_output for IPv6 connections' segments. */
  ip6?: boolean;
  /** The channels' per-frame family bytes (chnl.fam): received data frames are marked 4 (ip6/tcp6.ts marks 6). */
  fam?: Uint8Array;
}

/**
 * Moves what the engine queued for ip4_output and ip6_output to edges `e4` and `e6` (-1: none) of `node`.
 *
 * @example
 * // inside a node's process(g, node): edges 1 and 2 lead to ip4_output / ip6_output
 * declare const g: import("xdplane/graph").Graph, node: number;
 * drainTcpOut(g, node, stack.tcp!, new Uint32Array(512), 1, 2);
 */
export function drainTcpOut(g: Graph, node: number, eng: TcpEngine, buf: Uint32Array, e4: number, e6: number): void {
  const k = eng.out.shift(buf, buf.length);
  if (k > 0) g.enqueue(node, e4, buf, 0, k);
  if (e6 >= 0 && eng.out6.length > 0) {
    const k6 = eng.out6.shift(buf, buf.length);
    if (k6 > 0) g.enqueue(node, e6, buf, 0, k6);
  }
}

/**
 * The TCP input node.
 *
 * @example
 * declare const stack: CnetStack;
 * const tcpIn = tcp4InputNode(stack.ctx, stack.tcp!);
 */
export function tcp4InputNode(ctx: StackCtx, eng: TcpEngine, o: TcpNodeOptions = {}): NodeSpec {
  const u8 = ctx.u8;
  const c = ctx.c;
  const outBuf = new Uint32Array(OUT_BURST);
  const next = ctx.punt ? [PKT_DROP, IP4_OUTPUT, PUNT_TAP] : [PKT_DROP, IP4_OUTPUT];
  if (o.ip6) next.push(IP6_OUTPUT);
  const e6 = o.ip6 ? next.length - 1 : -1;
  const fam = o.fam ?? null;
  return {
    name: TCP4_INPUT, next,
    process: (g, node, objs, n) => {
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        c[C.TCP_RX]!++;
        const ip = frameAt(ctx, h) + ETH_HLEN;
        const hl = ip4HdrLen(u8, ip);
        const tlen = ip4TotalLen(u8, ip) - hl;
        const l4 = ip + hl;
        if (tlen < TCP_HLEN) {
          c[C.TCP_DROP_BAD]!++;
          g.enqueue1(node, 0, h);
          continue;
        }
        if (!tcp4CksumOk(u8, ip, l4)) {
          c[C.TCP_DROP_CKSUM]!++;
          g.enqueue1(node, 0, h);
          continue;
        }
        const r = eng.input(h, ip, l4, tlen);
        if (r === TCP_IN_FREE) g.enqueue1(node, 0, h);
        else if (r === TCP_IN_PUNT) g.enqueue1(node, 2, h);
        else if (fam !== null) {
          // A data frame kept for the channel: its sender, for chnl.family/peerIp/peerName after recvBurst.
          fam[h] = 4;
          ctx.peerIp[h] = ((u8[ip + 12]! << 24) | (u8[ip + 13]! << 16) | (u8[ip + 14]! << 8) | u8[ip + 15]!) >>> 0;
          ctx.peerPort[h] = (u8[l4]! << 8) | u8[l4 + 1]!;
        }
      }
      eng.flush();
      drainTcpOut(g, node, eng, outBuf, 1, e6);
      return n;
    },
  };
}

/**
 * The TCP timer source node.
 *
 * @example
 * declare const stack: CnetStack;
 * const timer = tcpTimerNode(stack.ctx, stack.tcp!, 64);
 */
export function tcpTimerNode(_ctx: StackCtx, eng: TcpEngine, burst: number, o: TcpNodeOptions = {}): NodeSpec {
  const max = Math.max(burst, OUT_BURST);
  const buf6 = new Uint32Array(OUT_BURST);
  return {
    name: TCP_TIMER, next: o.ip6 ? [PKT_DROP, IP4_OUTPUT, IP6_OUTPUT] : [PKT_DROP, IP4_OUTPUT], source: true,
    init: (g, node) => { g.ensureStream(node, max); },
    process: (g, node, objs) => {
      eng.timers();
      eng.flush();
      let k6 = 0;
      if (o.ip6 && eng.out6.length > 0) {
        k6 = eng.out6.shift(buf6, OUT_BURST);
        if (k6 > 0) g.enqueue(node, 2, buf6, 0, k6);
      }
      const k = eng.out.shift(objs, Math.min(max, objs.length));
      if (k > 0) g.move(node, 1, k);
      return k + k6;
    },
  };
}

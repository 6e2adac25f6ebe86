/**
 * TCP over IPv6 (RFC 9293 over RFC 8200): `tcp6_input`, ip6_input's edge for next header 6 (`x.l4Off`
 * is where the TCP header starts, after any extension headers). It checks that the header fits the
 * payload (`tcp_drop_bad`), drops segments to a multicast address (`tcp6_drop_mcast`: TCP is unicast),
 * checks the checksum over the IPv6 pseudo-header (`tcp_drop_cksum`), and hands the segment to the
 * stack's one TCP engine ({@link TcpEngine.input6}: the same state machine as IPv4, connections keyed by
 * family, addresses and ports; a listener bound to any address takes both families). Segments the
 * engine builds for IPv6 connections (and RSTs / cookie SYN-ACKs answering IPv6 segments) leave through
 * `ip6_output` (FIB6 and neighbour discovery; a link-local peer on the interface its segments came in
 * on); IPv4 ones through `ip4_output`. A data frame the engine keeps is marked family 6 with the peer's
 * address in `x.peer6` (what `chnl.family`/`peerIp6` read after `recvBurst`). Counted in tcp_rx and
 * tcp6_rx.
 *
 * @example
 * declare const stack: CnetStack;
 * const tcp6In = tcp6InputNode(stack.ctx, stack.ip6!, stack.tcp!, stack.chnl.fam);
 */
import type { NodeSpec } from "../../graph/node.js";
import { PKT_DROP } from "../../graph/nodes/names.js";
import { ETH_HLEN } from "../../wire/ether.js";
import { IP6_DST, IP6_HLEN, IP6_SRC, ip6PayloadLen } from "../../wire/ipv6.js";
import { TCP_HLEN, tcp6CksumOk } from "../../wire/tcp.js";
import { C } from "../counters.js";
import { frameAt, type StackCtx } from "../context.js";
import { IP4_OUTPUT, IP6_OUTPUT, TCP6_INPUT } from "../nodes/names.js";
import { TCP_IN_KEPT, type TcpEngine } from "../tcp/engine.js";
import { drainTcpOut } from "../tcp/nodes.js";
import type { Ip6Ctx } from "./context.js";

/** Segments moved to the output nodes per call. */
const OUT_BURST = 512;

/**
 * The TCP over IPv6 input node.
 *
 * @example
 * declare const stack: CnetStack;
 * const tcp6In = tcp6InputNode(stack.ctx, stack.ip6!, stack.tcp!, stack.chnl.fam);
 */
export function tcp6InputNode(ctx: StackCtx, x: Ip6Ctx, eng: TcpEngine, fam: Uint8Array): NodeSpec {
  const u8 = ctx.u8;
  const c = ctx.c;
  const peer6 = x.peer6;
  const outBuf = new Uint32Array(OUT_BURST);
  return {
    // Edge 1 (ip4_output): flushing output may send segments of IPv4 connections kicked meanwhile.
    name: TCP6_INPUT, next: [PKT_DROP, IP4_OUTPUT, IP6_OUTPUT],
    process: (g, node, objs, n) => {
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        c[C.TCP_RX]!++;
        c[C.TCP6_RX]!++;
        const off = frameAt(ctx, h);
        const ip6 = off + ETH_HLEN;
        const l4 = off + x.l4Off[h]!;
        const tlen = ip6 + IP6_HLEN + ip6PayloadLen(u8, ip6) - l4;
        if (tlen < TCP_HLEN) {
          c[C.TCP_DROP_BAD]!++;
          g.enqueue1(node, 0, h);
          continue;
        }
        if (u8[ip6 + IP6_DST] === 0xff) {
          c[C.TCP6_DROP_MCAST]!++;
          g.enqueue1(node, 0, h);
          continue;
        }
        if (!tcp6CksumOk(u8, ip6, l4)) {
          c[C.TCP_DROP_CKSUM]!++;
          g.enqueue1(node, 0, h);
          continue;
        }
        const r = eng.input6(h, ip6, l4, tlen, ctx.ifindexOf[ctx.rxPort[h]!]!);
        if (r === TCP_IN_KEPT) {
          fam[h] = 6;
          ctx.peerIp[h] = 0;
          ctx.peerPort[h] = (u8[l4]! << 8) | u8[l4 + 1]!;
          const a = h << 4;
          for (let k = 0; k < 16; k++) peer6[a + k] = u8[ip6 + IP6_SRC + k]!;
        } else g.enqueue1(node, 0, h); // TCP_IN_FREE (never TCP_IN_PUNT over IPv6: the TAP has IPv6 off)
      }
      eng.flush();
      drainTcpOut(g, node, eng, outBuf, 1, 2);
      return n;
    },
  };
}

/**
 * The punt: what the stack does not handle goes to the kernel through a TAP netdev (CNDP's and VPP's
 * exception path), so the kernel's own sockets and daemons (`ssh`, a kernel TCP listener, DHCP) keep
 * working on a netdev the stack owns. With punting on (`CnetStackOptions.punt`):
 * - `eth_input` sends other EtherTypes, `ip4_input` datagrams for addresses that are not ours and
 *   protocols the stack does not serve (and their fragments, whole: the kernel reassembles them),
 *   `udp4_input` datagrams to ports no channel has (instead of ICMP port unreachable), and TCP segments
 *   to ports nobody listens on (instead of a RST: the TCP engineer's tcp4_input) to `punt_tap`, which
 *   writes them to the TAP (a reassembled chain is written as fragments of at most a frame each);
 * - `punt_tap_rx` (a source) reads what the kernel sends out of the TAP and sends it on the stack's
 *   lport: IPv4 unicast addressed to the lport's own MAC (the TAP is NOARP: the kernel puts its own
 *   address as the destination and leaves neighbour resolution to the stack) goes through `ip4_output`
 *   (route, ARP, Ethernet header, fragmentation); everything else (broadcasts, frames the kernel
 *   addressed itself) goes out as it is.
 *
 * How the kernel must be set up so its answers reach the peer (found by experiment, veth.test.ts and
 * punt.test.ts; {@link configurePuntTap} does it): the TAP carries the netdev's MAC and MTU and is NOARP;
 * the kernel keeps the netdev's address (the stack learns it from there); rp_filter is off on the TAP
 * (the peer's address routes via the netdev, the frames arrive on the TAP); and the kernel's own traffic
 * to the netdev's subnets leaves through the TAP, not the netdev (whose receive side belongs to AF_XDP:
 * the kernel would never see its ARP replies), by a policy rule for locally generated traffic
 * (`iif lo`) into a table holding the netdev's routes with the TAP as device.
 *
 * @example
 * const stack = CnetStack.create({ ...o, punt: { tap, pid: 0 } });
 */
import type { Lport } from "./../pktdev/lport.js";
import type { NodeSpec } from "../graph/node.js";
import { PKT_DROP, pktdevTxName } from "../graph/nodes/names.js";
import { ETH_HLEN } from "../wire/ether.js";
import { C } from "./counters.js";
import { frameAt, type StackCtx } from "./context.js";
import { fragment4, MAX_FRAGS_OUT } from "./frag/fragment.js";
import { IP4_OUTPUT, PUNT_TAP, PUNT_TAP_RX } from "./nodes/names.js";

/** The punt's ports: the TAP, and the stack lport its frames go out on. */
export interface PuntOptions {
  /** The TAP (a net_tap lport over the stack's mempool). */
  tap: Lport;
  /** The lport whose netdev the TAP stands for: what the kernel sends leaves there. */
  pid: number;
}

/**
 * The `punt_tap` node: writes frames to the TAP (chains as fragments of at most a frame each).
 *
 * @example
 * const node = puntTapNode(ctx, tap);
 */
export function puntTapNode(ctx: StackCtx, tap: Lport): NodeSpec {
  const u8 = ctx.u8;
  const c = ctx.c;
  const io = ctx.chains;
  const frags = new Uint32Array(MAX_FRAGS_OUT);
  let out = new Uint32Array(256);
  return {
    name: PUNT_TAP, next: [PKT_DROP],
    process: (g, node, objs, n) => {
      if (n > out.length) out = new Uint32Array(g.streamCapacity(node) + MAX_FRAGS_OUT); // warm-up only
      let k = 0;
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        if (!io.chained(h)) {
          out[k++] = h;
          continue;
        }
        // A reassembled datagram: back into pieces a frame holds (the kernel reassembles them).
        const m = fragment4(ctx, h, 65535, frags);
        if (m < 0 || k + m > out.length) {
          if (m > 0) ctx.mp.freeBulk(frags, m);
          c[C.PUNT_DROP]!++;
          g.enqueue1(node, 0, h);
          continue;
        }
        const eth = frameAt(ctx, h);
        for (let j = 0; j < m; j++) {
          const f = frags[j]!;
          u8.copyWithin(frameAt(ctx, f), eth, eth + ETH_HLEN);
          out[k++] = f;
        }
        ctx.mp.free(h);
      }
      const sent = tap.txBurst(out, k);
      c[C.PUNT_TX] = c[C.PUNT_TX]! + sent;
      if (sent < k) {
        c[C.PUNT_DROP] = c[C.PUNT_DROP]! + (k - sent);
        g.enqueue(node, 0, out, sent, k - sent);
      }
      return n;
    },
  };
}

/**
 * The `punt_tap_rx` source: frames the kernel wrote to the TAP, to ip4_output or straight to the lport.
 *
 * @example
 * const node = puntTapRxNode(ctx, { tap, pid: 0 }, 32);
 */
export function puntTapRxNode(ctx: StackCtx, o: PuntOptions, burst: number): NodeSpec {
  const u8 = ctx.u8;
  const c = ctx.c;
  const tap = o.tap;
  const m = o.pid * 6;
  return {
    name: PUNT_TAP_RX, next: [PKT_DROP, IP4_OUTPUT, pktdevTxName(o.pid)], source: true,
    init: (g) => {
      if (burst > g.streamSize) throw new RangeError(`cnet: punt_tap_rx bursts of ${burst} exceed the graph's streamSize ${g.streamSize}`);
      if (ctx.ifindexOf[o.pid] === undefined || ctx.ifindexOf[o.pid] === 0) throw new RangeError(`cnet: the punt's lport ${o.pid} is not one this stack serves`);
    },
    process: (g, node, objs) => {
      const n = tap.rxBurst(objs, burst);
      if (n === 0) return 0;
      c[C.PUNT_RX] = c[C.PUNT_RX]! + n;
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        const off = frameAt(ctx, h);
        let ours = ctx.dataLen[h]! >= ETH_HLEN + 20 && u8[off + 12] === 0x08 && u8[off + 13] === 0x00;
        for (let k = 0; k < 6 && ours; k++) if (u8[off + k] !== ctx.macs[m + k]) ours = false;
        if (ours) {
          c[C.PUNT_RX_IP4]!++;
          g.enqueue1(node, 1, h);
        } else {
          c[C.PUNT_RX_RAW]!++;
          g.enqueue1(node, 2, h);
        }
      }
      return n;
    },
  };
}

/**
 * `cnet_rx-<lport>` (a source: receives a burst, notes the lport and packet type of each frame) and
 * `eth_input` (drops short frames and frames for another MAC, sends ARP to `arp_input`, untagged IPv4
 * to `ip4_input` and, when the stack has IPv6, untagged IPv6 to `ip6_input`; IPv6 multicast MACs
 * (33:33:...) are taken only for all-nodes and the solicited-node groups of our addresses on the lport's
 * interface; everything else is dropped and counted: TAP punting is for later).
 *
 * @example
 * const rx = cnetRxNode(ctx, port, 64);
 * const eth = ethInputNode(ctx);
 */
import type { Lport } from "../../pktdev/lport.js";
import type { NodeSpec } from "../../graph/node.js";
import { PKT_DROP } from "../../graph/nodes/names.js";
import { parsePtype, PTYPE_L2_ETHER, PTYPE_L2_ETHER_ARP, PTYPE_L2_MASK, PTYPE_L3_IPV4, PTYPE_L3_IPV4_EXT, PTYPE_L3_IPV6, PTYPE_L3_IPV6_EXT, PTYPE_L3_MASK } from "../../wire/ptype.js";
import { ETH_HLEN } from "../../wire/ether.js";
import { C } from "../counters.js";
import { frameAt, type StackCtx } from "../context.js";
import type { Ip6Ctx } from "../ip6/context.js";
import { ARP_INPUT, ETH_INPUT, IP4_INPUT, IP6_INPUT, cnetRxName, PUNT_TAP } from "./names.js";

/**
 * The receive node of `port`.
 *
 * @example
 * const rx = cnetRxNode(ctx, port, 64);
 */
export function cnetRxNode(ctx: StackCtx, port: Lport, burst: number): NodeSpec {
  const pid = port.pid;
  return {
    name: cnetRxName(pid), next: [ETH_INPUT], source: true,
    init: (g) => {
      if (burst > g.streamSize) throw new RangeError(`cnet: ${cnetRxName(pid)} bursts of ${burst} exceed the graph's streamSize ${g.streamSize}`);
    },
    process: (g, node, objs) => {
      const n = port.rxBurst(objs, burst);
      if (n === 0) return 0;
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        ctx.rxPort[h] = pid;
        ctx.ptype[h] = parsePtype(ctx.u8, frameAt(ctx, h), ctx.dataLen[h]!);
      }
      ctx.c[C.ETH_RX] = ctx.c[C.ETH_RX]! + n;
      g.move(node, 0, n);
      return n;
    },
  };
}

const E_DROP = 0;
const E_ARP = 1;
const E_IP4 = 2;
const E_IP6 = 3;

/**
 * The Ethernet input node; with `x` (the stack's IPv6 state) IPv6 goes to `ip6_input`.
 *
 * @example
 * const eth = ethInputNode(ctx, x);
 */
export function ethInputNode(ctx: StackCtx, x: Ip6Ctx | null = null): NodeSpec {
  let nexts = new Uint16Array(256);
  const u8 = ctx.u8;
  const c = ctx.c;
  const ePunt = ctx.punt ? (x === null ? 3 : 4) : E_DROP;
  return {
    name: ETH_INPUT, next: [...(x === null ? [PKT_DROP, ARP_INPUT, IP4_INPUT] : [PKT_DROP, ARP_INPUT, IP4_INPUT, IP6_INPUT]), ...(ctx.punt ? [PUNT_TAP] : [])],
    process: (g, node, objs, n) => {
      if (n > nexts.length) nexts = new Uint16Array(g.streamCapacity(node)); // warm-up only
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        if (ctx.dataLen[h]! < ETH_HLEN) {
          c[C.ETH_DROP_SHORT]!++;
          nexts[i] = E_DROP;
          continue;
        }
        const off = frameAt(ctx, h);
        if ((u8[off]! & 1) === 0) {
          // Unicast: ours only.
          const m = ctx.rxPort[h]! * 6;
          let same = true;
          for (let k = 0; k < 6; k++) if (u8[off + k] !== ctx.macs[m + k]) same = false;
          if (!same) {
            c[C.ETH_DROP_NOT_OURS]!++;
            nexts[i] = E_DROP;
            continue;
          }
        } else if (x !== null && u8[off] === 0x33 && u8[off + 1] === 0x33) {
          // IPv6 multicast (RFC 2464 7): all-nodes, or the solicited-node group of one of our addresses.
          const allNodes = u8[off + 2] === 0 && u8[off + 3] === 0 && u8[off + 4] === 0 && u8[off + 5] === 1;
          if (!allNodes && (u8[off + 2] !== 0xff ||
            !x.addrs.hasSolicited(ctx.ifindexOf[ctx.rxPort[h]!]!, (u8[off + 3]! << 16) | (u8[off + 4]! << 8) | u8[off + 5]!))) {
            c[C.IP6_DROP_MCAST_MAC]!++;
            nexts[i] = E_DROP;
            continue;
          }
        }
        const pt = ctx.ptype[h]!;
        const l2 = pt & PTYPE_L2_MASK;
        const l3 = pt & PTYPE_L3_MASK;
        if (l2 === PTYPE_L2_ETHER_ARP) nexts[i] = E_ARP;
        else if (l2 === PTYPE_L2_ETHER && (l3 === PTYPE_L3_IPV4 || l3 === PTYPE_L3_IPV4_EXT || (l3 === 0 && u8[off + 12] === 0x08 && u8[off + 13] === 0))) {
          nexts[i] = E_IP4; // a truncated or malformed IPv4 header too: ip4_input checks and counts it
        }
        else if (x !== null && l2 === PTYPE_L2_ETHER && (l3 === PTYPE_L3_IPV6 || l3 === PTYPE_L3_IPV6_EXT || (l3 === 0 && u8[off + 12] === 0x86 && u8[off + 13] === 0xdd))) {
          nexts[i] = E_IP6; // a truncated IPv6 header too: ip6_input checks and counts it
        }
        else {
          c[C.ETH_DROP_OTHER]!++;
          nexts[i] = ePunt; // other EtherTypes: the kernel's, when punting (punt.ts)
        }
      }
      g.enqueueNexts(node, objs, nexts, n);
      return n;
    },
  };
}

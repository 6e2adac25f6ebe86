/**
 * `ip6_input` (RFC 8200): checks the header (version 6, payload length within the frame, hop limit not 0,
 * source neither multicast nor ::1), accepts what is for us (one of our preferred addresses, all-nodes, or the
 * solicited-node group of one of our addresses on the interface it came in on), walks the extension
 * headers (Hop-by-Hop first only, Destination Options, a Routing header with no segments left, an atomic
 * fragment: skipped and counted; options whose type says "discard" (RFC 8200 4.2), fragments, routing
 * with segments left, IPsec: dropped and counted) and delivers by the upper-layer protocol: ICMPv6 to
 * `icmp6_input`, UDP to `udp6_input` (ip6/udp6.ts), TCP to `tcp6_input` (ip6/tcp6.ts; when the stack
 * has TCP); anything else is dropped and counted (`ip6_drop_proto`). Every drop reason is a counter.
 *
 * @example
 * const input = ip6InputNode(ctx, x);
 */
import type { NodeSpec } from "../../graph/node.js";
import { PKT_DROP } from "../../graph/nodes/names.js";
import { be16 } from "../../wire/bytes.js";
import { ETH_HLEN } from "../../wire/ether.js";
import {
  IP6_DST, IP6_HLEN, IP6_HLIM, IP6_NXT, IP6_SRC, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT,
  IPPROTO_HOPOPTS, IPPROTO_ICMPV6, IPPROTO_NONE, IPPROTO_ROUTING, ip6PayloadLen,
} from "../../wire/ipv6.js";
import { C } from "../counters.js";
import { frameAt, type StackCtx } from "../context.js";
import { ICMP6_INPUT, IP6_INPUT, TCP6_INPUT, UDP6_INPUT } from "../nodes/names.js";
import { IPPROTO_TCP, IPPROTO_UDP } from "../../wire/ipv4.js";
import { ADDR6_PREFERRED } from "./addrs.js";
import type { Ip6Ctx } from "./context.js";

const E_DROP = 0;
const E_ICMP6 = 1;
const E_UDP6 = 2;
const E_TCP6 = 3;

/** Option types of Hop-by-Hop / Destination Options headers we know (RFC 8200 4.2, RFC 2711). */
const OPT_PAD1 = 0;
const OPT_PADN = 1;
const OPT_ROUTER_ALERT = 5;

/**
 * Checks the options of a Hop-by-Hop or Destination Options header in `u8[p..end)`: 0 when every option
 * fits and none says discard, else the counter to count.
 */
function optionsVerdict(u8: Uint8Array, p: number, end: number): number {
  while (p < end) {
    const t = u8[p]!;
    if (t === OPT_PAD1) {
      p++;
      continue;
    }
    if (p + 2 > end) return C.IP6_DROP_EXT_BAD;
    const e = p + 2 + u8[p + 1]!;
    if (e > end) return C.IP6_DROP_EXT_BAD;
    // An unknown option whose two high bits are not 00 means discard (with or without an ICMP error).
    if (t !== OPT_PADN && t !== OPT_ROUTER_ALERT && (t & 0xc0) !== 0) return C.IP6_DROP_OPTION;
    p = e;
  }
  return 0;
}

/** Whether the 16 bytes at `u8[at]` are ::1. */
function isLoopback(u8: Uint8Array, at: number): boolean {
  for (let k = 0; k < 15; k++) if (u8[at + k] !== 0) return false;
  return u8[at + 15] === 1;
}

/**
 * The IPv6 input node.
 *
 * @example
 * const input = ip6InputNode(ctx, x);
 */
export function ip6InputNode(ctx: StackCtx, x: Ip6Ctx, o: { tcp?: boolean } = {}): NodeSpec {
  const tcp = o.tcp === true;
  let nexts = new Uint16Array(256);
  const u8 = ctx.u8;
  const c = ctx.c;
  const addrs = x.addrs;
  return {
    name: IP6_INPUT, next: tcp ? [PKT_DROP, ICMP6_INPUT, UDP6_INPUT, TCP6_INPUT] : [PKT_DROP, ICMP6_INPUT, UDP6_INPUT],
    process: (g, node, objs, n) => {
      if (n > nexts.length) nexts = new Uint16Array(g.streamCapacity(node)); // warm-up only
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        c[C.IP6_RX]!++;
        nexts[i] = E_DROP;
        const off = frameAt(ctx, h);
        const ip6 = off + ETH_HLEN;
        const avail = ctx.dataLen[h]! - ETH_HLEN;
        if (avail < IP6_HLEN) {
          c[C.IP6_DROP_TRUNCATED]!++;
          continue;
        }
        if (u8[ip6]! >>> 4 !== 6) {
          c[C.IP6_DROP_VERSION]!++;
          continue;
        }
        const plen = ip6PayloadLen(u8, ip6);
        if (IP6_HLEN + plen > avail) {
          c[C.IP6_DROP_TRUNCATED]!++;
          continue;
        }
        ctx.dataLen[h] = ETH_HLEN + IP6_HLEN + plen; // no Ethernet padding past the packet
        if (u8[ip6 + IP6_HLIM] === 0) {
          c[C.IP6_DROP_HOP_LIMIT]!++;
          continue;
        }
        if (u8[ip6 + IP6_SRC] === 0xff || isLoopback(u8, ip6 + IP6_SRC)) {
          c[C.IP6_DROP_BAD_SRC]!++; // multicast, or ::1 from the wire (RFC 4291 2.5.3)
          continue;
        }
        const ifindex = ctx.ifindexOf[ctx.rxPort[h]!]!;
        const dst = ip6 + IP6_DST;
        if (u8[dst] === 0xff) {
          if (!addrs.listens(u8, dst, ifindex)) {
            c[C.IP6_DROP_NOT_LOCAL]!++;
            continue;
          }
        } else {
          const a = addrs.find(u8, dst, ifindex);
          if (a < 0 || addrs.state(a) !== ADDR6_PREFERRED) {
            c[C.IP6_DROP_NOT_LOCAL]!++;
            continue;
          }
        }
        // Extension headers.
        const end = ip6 + IP6_HLEN + plen;
        let nh = u8[ip6 + IP6_NXT]!;
        let p = ip6 + IP6_HLEN;
        let verdict = 0;
        for (;;) {
          if (nh === IPPROTO_HOPOPTS || nh === IPPROTO_DSTOPTS || nh === IPPROTO_ROUTING) {
            if (nh === IPPROTO_HOPOPTS && p !== ip6 + IP6_HLEN) {
              verdict = C.IP6_DROP_EXT_BAD; // Hop-by-Hop only right after the IPv6 header (RFC 8200 4.1)
              break;
            }
            if (p + 8 > end) {
              verdict = C.IP6_DROP_EXT_BAD;
              break;
            }
            const e = p + ((u8[p + 1]! + 1) << 3);
            if (e > end) {
              verdict = C.IP6_DROP_EXT_BAD;
              break;
            }
            if (nh === IPPROTO_ROUTING) {
              if (u8[p + 3] !== 0) {
                verdict = C.IP6_DROP_ROUTING; // segments left: we do not forward
                break;
              }
            } else {
              verdict = optionsVerdict(u8, p + 2, e);
              if (verdict !== 0) break;
            }
            c[C.IP6_EXT_SKIPPED]!++;
            nh = u8[p]!;
            p = e;
          } else if (nh === IPPROTO_FRAGMENT) {
            if (p + 8 > end) {
              verdict = C.IP6_DROP_EXT_BAD;
              break;
            }
            if ((be16(u8, p + 2) & 0xfff9) !== 0) {
              verdict = C.IP6_DROP_FRAGMENT; // no reassembly; an atomic fragment (RFC 6946) is whole
              break;
            }
            c[C.IP6_EXT_SKIPPED]!++;
            nh = u8[p]!;
            p += 8;
          } else break;
        }
        if (verdict !== 0) {
          c[verdict]!++;
          continue;
        }
        if (nh === IPPROTO_ICMPV6) {
          x.l4Off[h] = p - off;
          nexts[i] = E_ICMP6;
        } else if (nh === IPPROTO_UDP) {
          x.l4Off[h] = p - off;
          nexts[i] = E_UDP6;
        } else if (nh === IPPROTO_TCP && tcp) {
          x.l4Off[h] = p - off;
          nexts[i] = E_TCP6;
        } else if (nh === IPPROTO_NONE) {
          c[C.IP6_DROP_NO_NEXT]!++;
        } else {
          // IPsec (AH, ESP) and the rest (TCP when the stack has none): not served over IPv6.
          c[C.IP6_DROP_PROTO]!++;
        }
      }
      g.enqueueNexts(node, objs, nexts, n);
      return n;
    },
  };
}

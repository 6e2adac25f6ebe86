/**
 * ICMPv6 error messages (RFC 4443 2.4, 3.1) built in place of the packet that caused them: the invoking
 * packet (from its IPv6 header on, as much as fits in the minimum MTU of 1280 bytes) is moved back by
 * 48 bytes, a new IPv6 header (from the address it was sent to, to its source, hop limit 64) and the
 * ICMPv6 header go before it, and the frame leaves by the interface it came in on (`x.oif`). None is sent
 * for a packet to a multicast address or a link-layer multicast/broadcast, or from the unspecified
 * address (RFC 4443 2.4 (e): counted `icmp6_err_suppressed`); the stack's ICMP token bucket (shared with
 * IPv4's errors, as Linux's icmp_global_allow is) refuses the rest (`icmp6_err_rate_limited`).
 *
 * @example
 * if (toIcmp6Error(ctx, x, h, ICMP6_DEST_UNREACH, ICMP6_PORT_UNREACH, 0)) console.log("to ip6_output");
 */
import { setBe16, setBe32 } from "../../wire/bytes.js";
import { ETH_HLEN } from "../../wire/ether.js";
import { ICMP_CSUM } from "../../wire/icmp.js";
import { icmp6Cksum } from "../../wire/icmp6.js";
import { IP6_DST, IP6_HLEN, IP6_HLIM, IP6_NXT, IP6_PLEN, IP6_SRC, IPPROTO_ICMPV6, ip6PayloadLen } from "../../wire/ipv6.js";
import { C } from "../counters.js";
import { frameAt, type StackCtx } from "../context.js";
import type { Ip6Ctx } from "./context.js";

/** Destination unreachable code 4: port unreachable (RFC 4443 3.1). */
export const ICMP6_PORT_UNREACH = 4;

/** The most an ICMPv6 error may be, IPv6 header included: the IPv6 minimum MTU (RFC 4443 2.4 (c)). */
const MIN_MTU = 1280;
/** The error's own IPv6 and ICMPv6 headers. */
const ERR_HDRS = IP6_HLEN + 8;

/** Whether the 16 bytes at `u8[at]` are all zero (the unspecified address). */
function unspecified(u8: Uint8Array, at: number): boolean {
  for (let k = 0; k < 16; k++) if (u8[at + k] !== 0) return false;
  return true;
}

/**
 * Turns frame `h` (an IPv6 packet for us, its header at the frame's data + 14, `dataLen` trimmed to the
 * packet by ip6_input) into the ICMPv6 error `type`/`code` with the 32-bit `info` (0 for destination
 * unreachable), ready for ip6_output; false when none may be sent (suppressed or rate limited: counted,
 * the caller frees the frame). The invoking packet must not be an ICMPv6 error itself (the caller knows
 * its upper-layer protocol).
 *
 * @example
 * // inside a node's process(g, node): edge 1 goes to ip6_output, edge 0 to pkt_drop
 * declare const g: import("xdplane/graph").Graph, node: number;
 * g.enqueue1(node, toIcmp6Error(ctx, x, h, ICMP6_DEST_UNREACH, ICMP6_PORT_UNREACH, 0) ? 1 : 0, h);
 */
export function toIcmp6Error(ctx: StackCtx, x: Ip6Ctx, h: number, type: number, code: number, info: number): boolean {
  const u8 = ctx.u8;
  const c = ctx.c;
  const off = frameAt(ctx, h);
  const ip6 = off + ETH_HLEN;
  if (u8[ip6 + IP6_DST] === 0xff || (u8[off]! & 1) !== 0 || unspecified(u8, ip6 + IP6_SRC)) {
    c[C.ICMP6_ERR_SUPPRESSED]!++;
    return false;
  }
  if (!ctx.icmpRate.allow(ctx.clock[0]!)) {
    c[C.ICMP6_ERR_RATE_LIMITED]!++;
    return false;
  }
  const pkt = IP6_HLEN + ip6PayloadLen(u8, ip6);
  // As much of the packet as fits in 1280 bytes and in the frame's buffer.
  const room = (1 << ctx.shift) - ctx.dataOff[h]! - ETH_HLEN - ERR_HDRS;
  let quote = pkt < MIN_MTU - ERR_HDRS ? pkt : MIN_MTU - ERR_HDRS;
  if (quote > room) quote = room;
  u8.copyWithin(ip6 + ERR_HDRS, ip6, ip6 + quote);
  const orig = ip6 + ERR_HDRS;
  setBe32(u8, ip6, 0x60000000);
  setBe16(u8, ip6 + IP6_PLEN, 8 + quote);
  u8[ip6 + IP6_NXT] = IPPROTO_ICMPV6;
  u8[ip6 + IP6_HLIM] = 64;
  for (let k = 0; k < 16; k++) {
    u8[ip6 + IP6_SRC + k] = u8[orig + IP6_DST + k]!;
    u8[ip6 + IP6_DST + k] = u8[orig + IP6_SRC + k]!;
  }
  const m = ip6 + IP6_HLEN;
  u8[m] = type;
  u8[m + 1] = code;
  setBe16(u8, m + ICMP_CSUM, 0);
  setBe32(u8, m + 4, info);
  setBe16(u8, m + ICMP_CSUM, icmp6Cksum(u8, ip6, m));
  ctx.dataLen[h] = ETH_HLEN + ERR_HDRS + quote;
  x.oif[h] = ctx.ifindexOf[ctx.rxPort[h]!]!;
  c[C.ICMP6_TX]!++;
  return true;
}

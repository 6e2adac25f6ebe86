/**
 * `icmp4_input` (RFC 792): checks the message (across segments when a reassembled datagram is a
 * chain), answers an echo request in place (type 0, addresses swapped, TTL 64) through `ip4_output`
 * (which fragments a reply larger than the MTU); other messages are counted and freed (with punting on,
 * punt.ts: given to the kernel, whose ping and TCP they are for). And the ICMP
 * error builder (RFC 1122 3.2.2, RFC 1812 4.3.2): a datagram is turned, in place, into the error quoting
 * its IP header and first 8 bytes of data: destination unreachable (port, protocol, fragmentation
 * needed) and time exceeded (reassembly timeout). Never in answer to an ICMP error, a datagram sent to a
 * broadcast or multicast address (IP or Ethernet), a non-first fragment, or from a source that names no
 * single host (RFC 1122 3.2.2); and at most as the stack's token bucket allows (frag/icmp-rate.ts).
 *
 * @example
 * const icmp = icmp4InputNode(ctx);
 */
import type { NodeSpec } from "../../graph/node.js";
import { PKT_DROP } from "../../graph/nodes/names.js";
import { be16, be32, setBe16, setBe32 } from "../../wire/bytes.js";
import { cksumFold } from "../../wire/cksum.js";
import { ETH_HLEN } from "../../wire/ether.js";
import { IP4_CSUM, IP4_DST, IP4_FRAG, IP4_OFFMASK, IP4_PROTO, IP4_SRC, IPPROTO_ICMP, ip4Cksum, ip4HdrLen, ip4TotalLen, setIp4Ttl, swapIp4 } from "../../wire/ipv4.js";
import { ICMP_CSUM, ICMP_DEST_UNREACH, ICMP_ECHO_REQUEST, ICMP_HLEN, ICMP_TYPE, icmp4Cksum, icmp4CksumOk, icmpEchoToReply } from "../../wire/icmp.js";
import { C } from "../counters.js";
import { frameAt, type StackCtx } from "../context.js";
import { ICMP4_INPUT, IP4_OUTPUT, PUNT_TAP } from "./names.js";

/** Code of destination unreachable: port unreachable. */
export const ICMP_PORT_UNREACH = 3;
/** Code of destination unreachable: protocol unreachable. */
export const ICMP_PROTO_UNREACH = 2;
/** Code of destination unreachable: fragmentation needed and DF set (the next-hop MTU in bytes 6-7, RFC 1191). */
export const ICMP_FRAG_NEEDED = 4;
/** Type of time exceeded. */
export const ICMP_TIME_EXCEEDED = 11;
/** Code of time exceeded: TTL exceeded in transit. */
export const ICMP_EXC_TTL = 0;
/** Code of time exceeded: fragment reassembly time exceeded. */
export const ICMP_EXC_FRAGTIME = 1;

/**
 * Whether an ICMP message of `type` is an error (RFC 1122 3.2.2: never answered with another error).
 * Queries (echo, timestamp, information, address mask: 0, 8, 13 to 18) are not.
 *
 * @example
 * isIcmpError(3); // true
 * isIcmpError(8); // false
 */
export function isIcmpError(type: number): boolean {
  return !(type === 0 || type === 8 || (type >= 13 && type <= 18));
}

/**
 * Turns the datagram in frame `h` (IPv4 header at `ip`, its Ethernet header before it) into the ICMP
 * error `type`/`code` (`info`: the 32-bit word after the checksum, e.g. the MTU of fragmentation
 * needed), from the address it was sent to back to its sender, counted. False (nothing changed) when no
 * error may be sent (see the module comment: counted as suppressed or rate limited): the caller drops
 * the frame. A chain is cut to its first segment (the quote is in it).
 *
 * @example
 * const ip = frameAt(ctx, h) + 14;
 * if (toIcmpError(ctx, h, ip, ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME, 0)) console.log("to ip4_output");
 */
export function toIcmpError(ctx: StackCtx, h: number, ip: number, type: number, code: number, info: number): boolean {
  const u8 = ctx.u8;
  const c = ctx.c;
  const from = be32(u8, ip + IP4_DST);
  const to = be32(u8, ip + IP4_SRC);
  const top = to >>> 24;
  const dtop = from >>> 24;
  const hl = ip4HdrLen(u8, ip);
  if (to === 0 || top === 127 || top >= 224 || dtop >= 224 || (u8[ip - ETH_HLEN]! & 1) !== 0
    || (be16(u8, ip + IP4_FRAG) & IP4_OFFMASK) !== 0
    || (u8[ip + IP4_PROTO] === IPPROTO_ICMP && isIcmpError(u8[ip + hl]!))) {
    c[C.ICMP_ERR_SUPPRESSED]!++;
    return false;
  }
  if (!ctx.icmpRate.allow(ctx.clock[0]!)) {
    c[C.ICMP_ERR_RATE_LIMITED]!++;
    return false;
  }
  ctx.chains.cut(h);
  const tot = ip4TotalLen(u8, ip);
  const quote = tot < hl + 8 ? tot : hl + 8;
  const l4 = ip + 20;
  u8.copyWithin(l4 + ICMP_HLEN, ip, ip + quote);
  const icmpLen = ICMP_HLEN + quote;
  u8[l4 + ICMP_TYPE] = type;
  u8[l4 + 1] = code;
  setBe32(u8, l4 + 4, info);
  setBe16(u8, l4 + ICMP_CSUM, 0);
  setBe16(u8, l4 + ICMP_CSUM, icmp4Cksum(u8, l4, icmpLen));
  u8[ip] = 0x45;
  u8[ip + 1] = 0;
  setBe16(u8, ip + 2, 20 + icmpLen);
  setBe32(u8, ip + 4, 0); // id 0, no fragment flags
  u8[ip + 8] = 64;
  u8[ip + 9] = IPPROTO_ICMP;
  setBe32(u8, ip + IP4_SRC, from);
  setBe32(u8, ip + IP4_DST, to);
  setBe16(u8, ip + IP4_CSUM, 0);
  setBe16(u8, ip + IP4_CSUM, ip4Cksum(u8, ip));
  ctx.dataLen[h] = (ip - frameAt(ctx, h)) + 20 + icmpLen;
  if (type === ICMP_DEST_UNREACH) {
    c[C.ICMP_UNREACH_OUT]!++;
    if (code === ICMP_PROTO_UNREACH) c[C.ICMP_PROTO_UNREACH_OUT]!++;
    else if (code === ICMP_FRAG_NEEDED) c[C.ICMP_FRAG_NEEDED_OUT]!++;
  } else if (type === ICMP_TIME_EXCEEDED) c[C.ICMP_TIME_EXCEEDED_OUT]!++;
  c[C.ICMP_TX]!++;
  return true;
}

/**
 * Turns the datagram in frame `h` (IPv4 header at `ip`) into an ICMP destination unreachable with
 * `code` ({@link toIcmpError}). False when no error may be sent: the caller drops it.
 *
 * @example
 * const ip = frameAt(ctx, h) + 14;
 * if (toUnreachable(ctx, h, ip, ICMP_PORT_UNREACH)) console.log("to ip4_output");
 */
export function toUnreachable(ctx: StackCtx, h: number, ip: number, code: number): boolean {
  return toIcmpError(ctx, h, ip, ICMP_DEST_UNREACH, code, 0);
}

/**
 * The ICMP input node.
 *
 * @example
 * const icmp = icmp4InputNode(ctx);
 */
export function icmp4InputNode(ctx: StackCtx): NodeSpec {
  let nexts = new Uint16Array(256);
  const u8 = ctx.u8;
  const c = ctx.c;
  const io = ctx.chains;
  const ePunt = ctx.punt ? 2 : 0;
  return {
    name: ICMP4_INPUT, next: ctx.punt ? [PKT_DROP, IP4_OUTPUT, PUNT_TAP] : [PKT_DROP, IP4_OUTPUT],
    process: (g, node, objs, n) => {
      if (n > nexts.length) nexts = new Uint16Array(g.streamCapacity(node)); // warm-up only
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        c[C.ICMP_RX]!++;
        const ip = frameAt(ctx, h) + ETH_HLEN;
        const l4 = ip + ip4HdrLen(u8, ip);
        const len = ip4TotalLen(u8, ip) - (l4 - ip);
        const ok = len >= ICMP_HLEN && (io.chained(h)
          ? len === io.pktLen(h) - (l4 - ip) - ETH_HLEN && cksumFold(io.sum(h, l4 - ip + ETH_HLEN, len)) === 0xffff
          : icmp4CksumOk(u8, l4, len));
        if (!ok) {
          c[C.ICMP_DROP_BAD]!++;
          nexts[i] = 0;
          continue;
        }
        if (u8[l4 + ICMP_TYPE] !== ICMP_ECHO_REQUEST || u8[l4 + 1] !== 0) {
          // Echo replies and errors are the kernel's sockets' (its ping, its TCP's frag needed) when punting.
          c[C.ICMP_IGNORED]!++;
          nexts[i] = ePunt;
          continue;
        }
        c[C.ICMP_ECHO_IN]!++;
        icmpEchoToReply(u8, l4);
        swapIp4(u8, ip);
        setIp4Ttl(u8, ip, 64);
        c[C.ICMP_TX]!++;
        nexts[i] = 1;
      }
      g.enqueueNexts(node, objs, nexts, n);
      return n;
    },
  };
}

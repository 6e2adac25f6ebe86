/**
 * `icmp4_input` (RFC 792): checks the message, answers an echo request in place (type 0, addresses
 * swapped, TTL 64) through `ip4_output`; other messages are counted and freed. And the destination
 * unreachable builder (RFC 1122 3.2.2.1, RFC 1812 4.3.2): a datagram nobody takes is turned, in place,
 * into the ICMP error quoting its IP header and first 8 bytes of data.
 *
 * @example
 * const icmp = icmp4InputNode(ctx);
 */
import type { NodeSpec } from "../../graph/node.js";
import { PKT_DROP } from "../../graph/nodes/names.js";
import { be32, setBe16, setBe32 } from "../../wire/bytes.js";
import { ETH_HLEN } from "../../wire/ether.js";
import { IP4_CSUM, IP4_DST, IP4_SRC, IPPROTO_ICMP, ip4Cksum, ip4HdrLen, ip4TotalLen, setIp4Ttl, swapIp4 } from "../../wire/ipv4.js";
import { ICMP_CSUM, ICMP_DEST_UNREACH, ICMP_ECHO_REQUEST, ICMP_HLEN, ICMP_TYPE, icmp4Cksum, icmp4CksumOk, icmpEchoToReply } from "../../wire/icmp.js";
import { C } from "../counters.js";
import { frameAt, type StackCtx } from "../context.js";
import { ICMP4_INPUT, IP4_OUTPUT } from "./names.js";

/** Code of destination unreachable: port unreachable. */
export const ICMP_PORT_UNREACH = 3;
/** Code of destination unreachable: protocol unreachable. */
export const ICMP_PROTO_UNREACH = 2;

/**
 * Turns the datagram in frame `h` (IPv4 header at `ip`) into an ICMP destination unreachable with
 * `code`, from `src` (the address it was sent to) back to its sender. False when no error may be sent
 * (RFC 1122 3.2.2: the sender is 0, a loopback, multicast or broadcast address): the caller drops it.
 *
 * @example
 * const ip = frameAt(ctx, h) + 14;
 * if (toUnreachable(ctx, h, ip, ICMP_PORT_UNREACH)) console.log("to ip4_output");
 */
export function toUnreachable(ctx: StackCtx, h: number, ip: number, code: number): boolean {
  const u8 = ctx.u8;
  const from = be32(u8, ip + IP4_DST);
  const to = be32(u8, ip + IP4_SRC);
  const top = to >>> 24;
  if (to === 0 || top === 127 || top >= 224) return false;
  const hl = ip4HdrLen(u8, ip);
  const quote = Math.min(ip4TotalLen(u8, ip), hl + 8);
  const l4 = ip + 20;
  u8.copyWithin(l4 + ICMP_HLEN, ip, ip + quote);
  const icmpLen = ICMP_HLEN + quote;
  u8[l4 + ICMP_TYPE] = ICMP_DEST_UNREACH;
  u8[l4 + 1] = code;
  setBe32(u8, l4 + 4, 0);
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
  ctx.dataLen[h] = ETH_HLEN + 20 + icmpLen;
  ctx.c[C.ICMP_UNREACH_OUT]!++;
  ctx.c[C.ICMP_TX]!++;
  return true;
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
  return {
    name: ICMP4_INPUT, next: [PKT_DROP, IP4_OUTPUT],
    process: (g, node, objs, n) => {
      if (n > nexts.length) nexts = new Uint16Array(g.streamCapacity(node)); // warm-up only
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        c[C.ICMP_RX]!++;
        const ip = frameAt(ctx, h) + ETH_HLEN;
        const l4 = ip + ip4HdrLen(u8, ip);
        const len = ip4TotalLen(u8, ip) - (l4 - ip);
        if (len < ICMP_HLEN || !icmp4CksumOk(u8, l4, len)) {
          c[C.ICMP_DROP_BAD]!++;
          nexts[i] = 0;
          continue;
        }
        if (u8[l4 + ICMP_TYPE] !== ICMP_ECHO_REQUEST || u8[l4 + 1] !== 0) {
          c[C.ICMP_IGNORED]!++;
          nexts[i] = 0;
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

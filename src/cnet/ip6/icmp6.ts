/**
 * `icmp6_input` (RFC 4443, RFC 4861, RFC 4862): checks the length and the checksum over the IPv6
 * pseudo-header; answers an echo request in place (type 129, addresses swapped, hop limit 64; one to
 * all-nodes from our link-local address on that interface) through `ip6_output`; handles neighbour
 * discovery:
 * - a solicitation for one of our preferred addresses on the interface it came in on is answered in place
 *   with an advertisement (solicited and override, our MAC as target link-layer address; to all-nodes when
 *   it came from :: (someone's DAD)), and its sender's link-layer address is cached (stale, RFC 4861 7.2.3);
 * - a solicitation from :: or an advertisement for an address of ours still tentative means another node
 *   holds it: the address becomes duplicate and is never used (RFC 4862 5.4.3, 5.4.4);
 * - an advertisement completes or updates a neighbour entry (RFC 4861 7.2.5) and sends what waited for it.
 * ND messages are validated as RFC 4861 7.1 says (hop limit 255, code 0, length, target not multicast,
 * options well formed, no source link-layer option from ::, the solicited flag not to a multicast
 * destination); other ICMPv6 messages are counted and freed.
 *
 * @example
 * const icmp6 = icmp6InputNode(ctx, x);
 */
import type { NodeSpec } from "../../graph/node.js";
import { PKT_DROP } from "../../graph/nodes/names.js";
import { cksumAdjust16 } from "../../wire/cksum.js";
import { ETH_HLEN, ETH_SRC } from "../../wire/ether.js";
import { ICMP_CSUM } from "../../wire/icmp.js";
import { IP6_DST, IP6_HLEN, IP6_HLIM, IP6_NXT, IP6_PLEN, IP6_SRC, IPPROTO_ICMPV6, ip6PayloadLen, swapIp6 } from "../../wire/ipv6.js";
import { ICMP6_ECHO_REPLY, ICMP6_ECHO_REQUEST, ICMP6_NEIGHBOR_ADVERT, ICMP6_NEIGHBOR_SOLICIT, icmp6Cksum, icmp6CksumOk } from "../../wire/icmp6.js";
import { setBe16 } from "../../wire/bytes.js";
import { C } from "../counters.js";
import { frameAt, type StackCtx } from "../context.js";
import { txEdgeTable, txEdges } from "../nodes/arp.js";
import { ICMP6_INPUT, IP6_OUTPUT } from "../nodes/names.js";
import { ADDR6_DUPLICATE, ADDR6_PREFERRED, ADDR6_TENTATIVE } from "./addrs.js";
import { releasePending6, type Ip6Ctx } from "./context.js";
import { ND_INCOMPLETE, ND_PERMANENT, ND_REACHABLE, ND_STALE } from "./nd-table.js";
import { ND_HLEN, ND_NA_OVERRIDE, ND_NA_SOLICITED, ND_TARGET, ndOptions, writeNa } from "./nd.js";

/** The edge to ip6_output (after pkt_drop). */
const E_OUT = 1;

/** Whether the 16 bytes at `u8[at]` are all zero (the unspecified address). */
function unspecified(u8: Uint8Array, at: number): boolean {
  for (let k = 0; k < 16; k++) if (u8[at + k] !== 0) return false;
  return true;
}

/**
 * The ICMPv6 input node.
 *
 * @example
 * const icmp6 = icmp6InputNode(ctx, x);
 */
export function icmp6InputNode(ctx: StackCtx, x: Ip6Ctx): NodeSpec {
  let tx: Int32Array = new Int32Array(0);
  const u8 = ctx.u8;
  const c = ctx.c;
  const opts = new Int32Array(2);
  const [drop, ...txNames] = txEdges(ctx);
  return {
    name: ICMP6_INPUT, next: [drop!, IP6_OUTPUT, ...txNames],
    init: (g, node) => { tx = txEdgeTable(ctx, g, node); },
    process: (g, node, objs, n) => {
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        c[C.ICMP6_RX]!++;
        const off = frameAt(ctx, h);
        const ip6 = off + ETH_HLEN;
        const l4 = off + x.l4Off[h]!;
        const len = ip6 + IP6_HLEN + ip6PayloadLen(u8, ip6) - l4;
        if (len < 4) {
          c[C.ICMP6_DROP_SHORT]!++;
          g.enqueue1(node, 0, h);
          continue;
        }
        if (!icmp6CksumOk(u8, ip6, l4)) {
          c[C.ICMP6_DROP_CKSUM]!++;
          g.enqueue1(node, 0, h);
          continue;
        }
        const type = u8[l4]!;
        const pid = ctx.rxPort[h]!;
        const ifindex = ctx.ifindexOf[pid]!;
        if (type === ICMP6_ECHO_REQUEST) {
          c[C.ICMP6_ECHO_IN]!++;
          const toGroup = u8[ip6 + IP6_DST] === 0xff;
          // A request to a group (all-nodes) is answered from our link-local address there, as Linux does.
          if (len < 8 || unspecified(u8, ip6 + IP6_SRC) || (toGroup && !x.addrs.sourceFor(ifindex, true, u8, ip6 + IP6_DST))) {
            c[C.ICMP6_IGNORED]!++; // short, from nobody, or to a group where we have no address yet: not answered
            g.enqueue1(node, 0, h);
            continue;
          }
          if (l4 !== ip6 + IP6_HLEN) {
            // The reply carries none of the request's extension headers.
            u8.copyWithin(ip6 + IP6_HLEN, l4, l4 + len);
            u8[ip6 + IP6_NXT] = IPPROTO_ICMPV6;
            setBe16(u8, ip6 + IP6_PLEN, len);
            ctx.dataLen[h] = ETH_HLEN + IP6_HLEN + len;
          }
          const m = ip6 + IP6_HLEN;
          const code = u8[m + 1]!;
          u8[m] = ICMP6_ECHO_REPLY;
          if (toGroup) {
            setBe16(u8, m + ICMP_CSUM, 0);
            setBe16(u8, m + ICMP_CSUM, icmp6Cksum(u8, ip6, m)); // the pseudo-header's destination changed
          } else {
            cksumAdjust16(u8, m + ICMP_CSUM, (ICMP6_ECHO_REQUEST << 8) | code, (ICMP6_ECHO_REPLY << 8) | code);
          }
          swapIp6(u8, ip6);
          u8[ip6 + IP6_HLIM] = 64;
          x.oif[h] = ifindex;
          c[C.ICMP6_TX]!++;
          g.enqueue1(node, E_OUT, h);
          continue;
        }
        if (type === ICMP6_NEIGHBOR_SOLICIT || type === ICMP6_NEIGHBOR_ADVERT) {
          const ns = type === ICMP6_NEIGHBOR_SOLICIT;
          c[ns ? C.ND_NS_IN : C.ND_NA_IN]!++;
          const fromNobody = unspecified(u8, ip6 + IP6_SRC);
          const toGroup = u8[ip6 + IP6_DST] === 0xff;
          const target = l4 + ND_TARGET;
          // RFC 4861 7.1.1 / 7.1.2.
          if (u8[ip6 + IP6_HLIM] !== 255 || u8[l4 + 1] !== 0 || len < ND_HLEN || u8[target] === 0xff ||
            !ndOptions(u8, l4 + ND_HLEN, l4 + len, opts) ||
            (ns && fromNobody && (!toGroup || opts[0]! >= 0)) ||
            (!ns && toGroup && (u8[l4 + 4]! & ND_NA_SOLICITED) !== 0)) {
            c[C.ND_DROP_BAD]!++;
            g.enqueue1(node, 0, h);
            continue;
          }
          const a = x.addrs.find(u8, target, ifindex);
          const ours = a >= 0 && x.addrs.ifindexAt(a) === ifindex;
          if (ours && x.addrs.state(a) === ADDR6_TENTATIVE) {
            // Someone else is doing DAD for it (a solicitation from ::) or holds it (an advertisement).
            if (!ns || fromNobody) {
              x.addrs.setState(a, ADDR6_DUPLICATE);
              c[C.ND_DAD_DUPLICATE]!++;
            } else {
              c[C.ND_IGNORED]!++;
            }
            g.enqueue1(node, 0, h);
            continue;
          }
          if (ns) {
            if (!ours || x.addrs.state(a) !== ADDR6_PREFERRED || tx[pid]! < 0) {
              c[C.ND_IGNORED]!++;
              g.enqueue1(node, 0, h);
              continue;
            }
            const slla = opts[0]!;
            if (!fromNobody && slla >= 0) {
              const nd = x.nd;
              const s = nd.lookup(u8, ip6 + IP6_SRC, ifindex);
              if (s < 0 || nd.state(s) === ND_INCOMPLETE || (nd.state(s) !== ND_PERMANENT && !nd.macIs(s, u8, slla))) {
                const r = nd.learn(u8, ip6 + IP6_SRC, ifindex, u8, slla, ctx.clock[0]!, true, ND_STALE);
                if (r < 0) c[C.ND_TABLE_FULL]!++;
                else releasePending6(ctx, x, g, node, tx, r);
              }
            }
            // Answer in place: the target (in the frame) becomes the source; to the sender, or all-nodes.
            const t = x.tmp;
            for (let k = 0; k < 16; k++) t[k] = u8[target + k]!;
            const mac = slla >= 0 ? slla : off + ETH_SRC;
            for (let k = 0; k < 6; k++) t[48 + k] = u8[mac + k]!;
            if (fromNobody) writeNa(ctx, h, pid, t, 0, null, 0, ND_NA_OVERRIDE, null, 0);
            else writeNa(ctx, h, pid, t, 0, u8, ip6 + IP6_SRC, ND_NA_SOLICITED | ND_NA_OVERRIDE, t, 48);
            g.enqueue1(node, tx[pid]!, h);
            continue;
          }
          // An advertisement.
          const nd = x.nd;
          const s = ours ? -1 : nd.lookup(u8, target, ifindex);
          if (s < 0 || nd.state(s) === ND_PERMANENT) {
            c[C.ND_IGNORED]!++; // for an address of ours, or unsolicited for one we do not cache
            g.enqueue1(node, 0, h);
            continue;
          }
          const tlla = opts[1]!;
          const flags = u8[l4 + 4]!;
          const solicited = (flags & ND_NA_SOLICITED) !== 0;
          const now = ctx.clock[0]!;
          const st = nd.state(s);
          if (st === ND_INCOMPLETE) {
            if (tlla < 0) {
              c[C.ND_IGNORED]!++;
            } else {
              nd.learn(u8, target, ifindex, u8, tlla, now, false, solicited ? ND_REACHABLE : ND_STALE);
              releasePending6(ctx, x, g, node, tx, s);
            }
          } else {
            const differs = tlla >= 0 && !nd.macIs(s, u8, tlla);
            if ((flags & ND_NA_OVERRIDE) === 0 && differs) {
              nd.markStale(s); // RFC 4861 7.2.5: keep the address we have, doubt it
            } else {
              if (differs) nd.learn(u8, target, ifindex, u8, tlla, now, false, solicited ? ND_REACHABLE : ND_STALE);
              else if (solicited) nd.setState(s, ND_REACHABLE, now);
            }
          }
          g.enqueue1(node, 0, h);
          continue;
        }
        if (type === ICMP6_ECHO_REPLY) c[C.ICMP6_ECHO_REPLY_IN]!++;
        else if (type < 128) c[C.ICMP6_ERROR_IN]!++;
        else c[C.ICMP6_IGNORED]!++; // router solicitations and advertisements, MLD, redirects, ...
        g.enqueue1(node, 0, h);
      }
      return n;
    },
  };
}

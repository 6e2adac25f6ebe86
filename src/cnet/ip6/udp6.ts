/**
 * UDP over IPv6 (RFC 768, RFC 8200 8.1).
 *
 * `udp6_input` (ip6_input's edge for next header 17; `x.l4Off` is where the UDP header starts): checks
 * the header fits (`udp6_drop_bad`), the UDP length (at least 8, at most what the IPv6 payload holds
 * after the extension headers: `udp6_drop_bad`; a shorter one trims the datagram, as Linux does), the
 * checksum, mandatory over IPv6 (0: `udp6_drop_zero_cksum`, wrong: `udp6_drop_cksum`); a datagram to a
 * group is dropped (`udp6_drop_mcast`: no multicast delivery yet). Then it queues the datagram on the
 * channel bound to its port with any address (the payload as the buffer's data; the peer's and our
 * address in `x.peer6`/`x.local6`, the ports in the context's arrays, `chnl.fam[h]` = 6, `x.oif[h]` the
 * interface it came in on, so a reply to a link-local peer leaves there), or answers ICMPv6 destination
 * unreachable, port unreachable (ip6/icmp6-error.ts: rate limited, suppressed for what must not be
 * answered; `udp6_no_port` counts them all) through `ip6_output`.
 *
 * `udp6_output` (chnl_tx's edge for family-6 buffers): prepends UDP and IPv6 headers (62 bytes with
 * Ethernet's, {@link UDP6_HEADROOM}) to the payload, from `x.local6` (:: picks a preferred address of
 * the outgoing interface: the route's, or `x.oif`'s for a link-local or multicast peer; none:
 * `udp6_drop_no_source`), hop limit 64 (1 to a group), the checksum over the IPv6 pseudo-header, to `ip6_output`
 * (FIB6, neighbour discovery). No IPv6 fragmentation: chnl.ts refuses chains for IPv6 peers.
 *
 * @example
 * const udp6In = udp6InputNode(ctx, x, chnl);
 * const udp6Out = udp6OutputNode(ctx, x);
 */
import type { NodeSpec } from "../../graph/node.js";
import { PKT_DROP } from "../../graph/nodes/names.js";
import { be16, setBe16, setBe32 } from "../../wire/bytes.js";
import { ETH_HLEN } from "../../wire/ether.js";
import { ICMP6_DEST_UNREACH } from "../../wire/icmp6.js";
import { IP6_DST, IP6_HLEN, IP6_HLIM, IP6_NXT, IP6_PLEN, IP6_SRC, ip6PayloadLen } from "../../wire/ipv6.js";
import { IPPROTO_UDP } from "../../wire/ipv4.js";
import { UDP_CSUM, UDP_DPORT, UDP_HLEN, UDP_LEN, udp6Cksum, udp6CksumOk, udpSport } from "../../wire/udp.js";
import { FIB_NO_ROUTE } from "../tables.js";
import { C } from "../counters.js";
import { frameAt, type StackCtx } from "../context.js";
import { UDP6_HEADROOM, type Chnl } from "../chnl.js";
import { IP6_OUTPUT, UDP6_INPUT, UDP6_OUTPUT } from "../nodes/names.js";
import type { Ip6Ctx } from "./context.js";
import { ICMP6_PORT_UNREACH, toIcmp6Error } from "./icmp6-error.js";

/** The edge to ip6_output (after pkt_drop). */
const E_OUT = 1;

/**
 * The UDP over IPv6 input node.
 *
 * @example
 * const udp6In = udp6InputNode(ctx, x, chnl);
 */
export function udp6InputNode(ctx: StackCtx, x: Ip6Ctx, chnl: Chnl): NodeSpec {
  const u8 = ctx.u8;
  const c = ctx.c;
  const fam = chnl.fam;
  const peer6 = x.peer6;
  const local6 = x.local6;
  return {
    name: UDP6_INPUT, next: [PKT_DROP, IP6_OUTPUT],
    process: (g, node, objs, n) => {
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        c[C.UDP6_RX]!++;
        const off = frameAt(ctx, h);
        const ip6 = off + ETH_HLEN;
        const l4 = off + x.l4Off[h]!;
        const avail = ip6 + IP6_HLEN + ip6PayloadLen(u8, ip6) - l4;
        const ulen = avail >= UDP_HLEN ? be16(u8, l4 + UDP_LEN) : 0;
        if (ulen < UDP_HLEN || ulen > avail) {
          c[C.UDP6_DROP_BAD]!++; // truncated header, or a length outside the payload (0: jumbograms do not fit a frame)
          g.enqueue1(node, 0, h);
          continue;
        }
        if (be16(u8, l4 + UDP_CSUM) === 0) {
          c[C.UDP6_DROP_ZERO_CKSUM]!++; // RFC 8200 8.1: a zero checksum is invalid over IPv6
          g.enqueue1(node, 0, h);
          continue;
        }
        if (!udp6CksumOk(u8, ip6, l4)) {
          c[C.UDP6_DROP_CKSUM]!++;
          g.enqueue1(node, 0, h);
          continue;
        }
        if (u8[ip6 + IP6_DST] === 0xff) {
          c[C.UDP6_DROP_MCAST]!++;
          g.enqueue1(node, 0, h);
          continue;
        }
        const dport = be16(u8, l4 + UDP_DPORT);
        const cd = ctx.udpBound[dport]!;
        if (cd < 0 || !chnl.accepts6(cd)) {
          c[C.UDP6_NO_PORT]!++;
          if (toIcmp6Error(ctx, x, h, ICMP6_DEST_UNREACH, ICMP6_PORT_UNREACH, 0)) {
            c[C.ICMP6_UNREACH_OUT]!++;
            g.enqueue1(node, E_OUT, h);
          } else g.enqueue1(node, 0, h);
          continue;
        }
        const a = h << 4;
        for (let k = 0; k < 16; k++) {
          peer6[a + k] = u8[ip6 + IP6_SRC + k]!;
          local6[a + k] = u8[ip6 + IP6_DST + k]!;
        }
        fam[h] = 6;
        ctx.peerIp[h] = 0;
        ctx.localIp[h] = 0;
        ctx.peerPort[h] = udpSport(u8, l4);
        ctx.localPort[h] = dport;
        x.oif[h] = ctx.ifindexOf[ctx.rxPort[h]!]!;
        ctx.dataOff[h] = ctx.dataOff[h]! + (l4 - off) + UDP_HLEN;
        ctx.dataLen[h] = ulen - UDP_HLEN;
        if (!chnl.deliver6(cd, h)) {
          c[C.UDP6_DROP_QUEUE_FULL]!++;
          g.enqueue1(node, 0, h);
        }
      }
      return n;
    },
  };
}

/**
 * The UDP over IPv6 output node.
 *
 * @example
 * const udp6Out = udp6OutputNode(ctx, x);
 */
export function udp6OutputNode(ctx: StackCtx, x: Ip6Ctx): NodeSpec {
  const u8 = ctx.u8;
  const c = ctx.c;
  const tables = ctx.tables;
  const addrs = x.addrs;
  const peer6 = x.peer6;
  const local6 = x.local6;
  return {
    name: UDP6_OUTPUT, next: [PKT_DROP, IP6_OUTPUT],
    process: (g, node, objs, n) => {
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        const plen = ctx.dataLen[h]!;
        const off = ctx.dataOff[h]! - UDP6_HEADROOM;
        const ip6 = ((h << ctx.shift) >>> 0) + off + ETH_HLEN;
        const a = h << 4;
        let any = 0;
        for (let k = 0; k < 16; k++) {
          u8[ip6 + IP6_DST + k] = peer6[a + k]!;
          const s = local6[a + k]!;
          u8[ip6 + IP6_SRC + k] = s;
          any |= s;
        }
        if (any === 0) {
          // No source yet: a preferred address of the interface the datagram leaves by.
          const d0 = peer6[a]!;
          const scoped = (d0 === 0xfe && (peer6[a + 1]! & 0xc0) === 0x80) || (d0 === 0xff && (peer6[a + 1]! & 0x0f) <= 2);
          let ifindex = 0;
          if (scoped) ifindex = x.oif[h]!;
          else {
            const nh = tables.route6(peer6, a);
            if (nh !== FIB_NO_ROUTE) ifindex = tables.nextHop6Ifindex(nh);
          }
          if (ifindex === 0 || !addrs.sourceFor(ifindex, scoped, u8, ip6 + IP6_SRC)) {
            c[C.UDP6_DROP_NO_SOURCE]!++;
            g.enqueue1(node, 0, h);
            continue;
          }
        }
        setBe32(u8, ip6, 0x60000000);
        setBe16(u8, ip6 + IP6_PLEN, UDP_HLEN + plen);
        u8[ip6 + IP6_NXT] = IPPROTO_UDP;
        u8[ip6 + IP6_HLIM] = peer6[a] === 0xff ? 1 : 64; // Linux's defaults: IPV6_MULTICAST_HOPS 1, hop_limit 64
        const l4 = ip6 + IP6_HLEN;
        setBe16(u8, l4, ctx.localPort[h]!);
        setBe16(u8, l4 + UDP_DPORT, ctx.peerPort[h]!);
        setBe16(u8, l4 + UDP_LEN, UDP_HLEN + plen);
        setBe16(u8, l4 + UDP_CSUM, udp6Cksum(u8, ip6, l4));
        ctx.dataOff[h] = off;
        ctx.dataLen[h] = UDP6_HEADROOM + plen;
        c[C.UDP6_TX]!++;
        g.enqueue1(node, E_OUT, h);
      }
      return n;
    },
  };
}

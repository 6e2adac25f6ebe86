/**
 * `udp4_input` (RFC 768): checks the length and checksum, queues the datagram on the channel bound to
 * its port (payload as the buffer's data), or answers ICMP port unreachable through `ip4_output` (with
 * punting on, punt.ts: to `punt_tap`, for the kernel's sockets). A reassembled datagram may be an mbuf
 * chain (frag/reasm-node.ts): checked across segments and delivered as a chain (the first segment's data
 * starts at the payload, `mbufs.pktLen` is the payload's length).
 * `chnl_tx` (a source): the datagrams channels sent, given UDP and IPv4 headers before their payload,
 * to `ip4_output` (which fragments what exceeds the MTU); a chain's payload is its every segment. Those
 * to IPv6 peers (`chnl.fam[h]` = 6) go to `udp6_output` (ip6/udp6.ts) as they are.
 *
 * @example
 * const udpIn = udp4InputNode(ctx, chnl);
 * const udpOut = chnlTxNode(ctx, chnl, 64);
 */
import type { NodeSpec } from "../../graph/node.js";
import { PKT_DROP } from "../../graph/nodes/names.js";
import { be16, be32, setBe16, setBe32 } from "../../wire/bytes.js";
import { cksumFold, pseudoSum4 } from "../../wire/cksum.js";
import { ETH_HLEN } from "../../wire/ether.js";
import { IP4_CSUM, IP4_DST, IP4_SRC, IPPROTO_UDP, ip4Cksum, ip4HdrLen, ip4TotalLen } from "../../wire/ipv4.js";
import { UDP_CSUM, UDP_DPORT, UDP_HLEN, UDP_LEN, udp4Cksum, udp4CksumOk, udpSport } from "../../wire/udp.js";
import { FIB_NO_ROUTE } from "../tables.js";
import { C } from "../counters.js";
import { frameAt, type StackCtx } from "../context.js";
import { UDP_HEADROOM, type Chnl } from "../chnl.js";
import { ICMP_PORT_UNREACH, toUnreachable } from "./icmp4.js";
import { CHNL_TX, IP4_OUTPUT, PUNT_TAP, UDP4_INPUT, UDP6_OUTPUT } from "./names.js";

/**
 * The UDP input node.
 *
 * @example
 * const udpIn = udp4InputNode(ctx, chnl);
 */
export function udp4InputNode(ctx: StackCtx, chnl: Chnl): NodeSpec {
  const u8 = ctx.u8;
  const c = ctx.c;
  const io = ctx.chains;
  const pktLen = ctx.mp.mbufs.pktLen;
  const punt = ctx.punt;
  const fam = chnl.fam;
  return {
    name: UDP4_INPUT, next: punt ? [PKT_DROP, IP4_OUTPUT, PUNT_TAP] : [PKT_DROP, IP4_OUTPUT],
    process: (g, node, objs, n) => {
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        c[C.UDP_RX]!++;
        const ip = frameAt(ctx, h) + ETH_HLEN;
        const hl = ip4HdrLen(u8, ip);
        const l4 = ip + hl;
        const avail = ip4TotalLen(u8, ip) - hl;
        const ulen = avail >= UDP_HLEN ? be16(u8, l4 + UDP_LEN) : 0;
        const chained = io.chained(h);
        // A chain is exactly the datagram (reassembly made it so): a shorter UDP length would need a trim.
        if (ulen < UDP_HLEN || ulen > avail || (chained && (ulen !== avail || io.pktLen(h) !== ETH_HLEN + hl + avail))) {
          c[C.UDP_DROP_BAD]!++;
          g.enqueue1(node, 0, h);
          continue;
        }
        if (chained ? be16(u8, l4 + UDP_CSUM) !== 0 && cksumFold(pseudoSum4(u8, ip, IPPROTO_UDP, ulen) + io.sum(h, ETH_HLEN + hl, ulen)) !== 0xffff : !udp4CksumOk(u8, ip, l4)) {
          c[C.UDP_DROP_CKSUM]!++;
          g.enqueue1(node, 0, h);
          continue;
        }
        const dport = be16(u8, l4 + UDP_DPORT);
        const dst = be32(u8, ip + IP4_DST);
        const cd = ctx.udpBound[dport]!;
        if (cd < 0 || !chnl.accepts(cd, dst)) {
          c[C.UDP_NO_PORT]!++;
          if (punt) g.enqueue1(node, 2, h);
          else if (toUnreachable(ctx, h, ip, ICMP_PORT_UNREACH)) g.enqueue1(node, 1, h);
          else g.enqueue1(node, 0, h);
          continue;
        }
        ctx.peerIp[h] = be32(u8, ip + IP4_SRC);
        ctx.peerPort[h] = udpSport(u8, l4);
        ctx.localIp[h] = dst;
        ctx.localPort[h] = dport;
        fam[h] = 4;
        ctx.dataOff[h] = ctx.dataOff[h]! + ETH_HLEN + hl + UDP_HLEN;
        if (chained) {
          ctx.dataLen[h] = ctx.dataLen[h]! - (ETH_HLEN + hl + UDP_HLEN);
          pktLen[h] = ulen - UDP_HLEN;
        } else ctx.dataLen[h] = ulen - UDP_HLEN;
        if (!chnl.deliver(cd, h, dst)) {
          c[C.UDP_DROP_QUEUE_FULL]!++;
          g.enqueue1(node, 0, h);
        }
      }
      return n;
    },
  };
}

/**
 * The channel send node.
 *
 * @example
 * const udpOut = chnlTxNode(ctx, chnl, 64);
 */
export function chnlTxNode(ctx: StackCtx, chnl: Chnl, burst: number): NodeSpec {
  const u8 = ctx.u8;
  const c = ctx.c;
  const tables = ctx.tables;
  const io = ctx.chains;
  const pktLen = ctx.mp.mbufs.pktLen;
  const fam = chnl.fam;
  const six = chnl.ip6 !== null;
  let id = 0;
  return {
    name: CHNL_TX, next: six ? [PKT_DROP, IP4_OUTPUT, UDP6_OUTPUT] : [PKT_DROP, IP4_OUTPUT], source: true,
    init: (g) => {
      if (burst > g.streamSize) throw new RangeError(`cnet: chnl_tx bursts of ${burst} exceed the graph's streamSize ${g.streamSize}`);
    },
    process: (g, node, objs) => {
      const n = chnl.txq.shift(objs, burst);
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        if (fam[h] === 6 && six) {
          g.enqueue1(node, 2, h);
          continue;
        }
        const chained = io.chained(h);
        const plen = chained ? pktLen[h]! : ctx.dataLen[h]!;
        const dst = ctx.peerIp[h]!;
        let src = ctx.localIp[h]!;
        if (src === 0) {
          const nh = tables.route4(dst);
          src = nh === FIB_NO_ROUTE ? 0 : tables.sourceFor(tables.nextHopIfindex(nh));
        }
        if (src === 0) {
          c[C.IP4_DROP_NO_ROUTE]!++;
          g.enqueue1(node, 0, h);
          continue;
        }
        if (plen > 65507) {
          c[C.UDP_DROP_BAD]!++;
          g.enqueue1(node, 0, h);
          continue;
        }
        const off = ctx.dataOff[h]! - UDP_HEADROOM;
        ctx.dataOff[h] = off;
        if (chained) {
          ctx.dataLen[h] = UDP_HEADROOM + ctx.dataLen[h]!;
          pktLen[h] = UDP_HEADROOM + plen;
        } else ctx.dataLen[h] = UDP_HEADROOM + plen;
        const ip = ((h << ctx.shift) >>> 0) + off + ETH_HLEN;
        u8[ip] = 0x45;
        u8[ip + 1] = 0;
        setBe16(u8, ip + 2, 20 + UDP_HLEN + plen);
        id = (id + 1) & 0xffff;
        setBe16(u8, ip + 4, id);
        setBe16(u8, ip + 6, 0x4000); // DF
        u8[ip + 8] = 64;
        u8[ip + 9] = IPPROTO_UDP;
        setBe32(u8, ip + IP4_SRC, src);
        setBe32(u8, ip + IP4_DST, dst);
        setBe16(u8, ip + IP4_CSUM, 0);
        setBe16(u8, ip + IP4_CSUM, ip4Cksum(u8, ip));
        const l4 = ip + 20;
        setBe16(u8, l4, ctx.localPort[h]!);
        setBe16(u8, l4 + UDP_DPORT, ctx.peerPort[h]!);
        setBe16(u8, l4 + UDP_LEN, UDP_HLEN + plen);
        setBe16(u8, l4 + UDP_CSUM, 0);
        if (chained) {
          const ck = ~cksumFold(pseudoSum4(u8, ip, IPPROTO_UDP, UDP_HLEN + plen) + io.sum(h, UDP_HEADROOM - UDP_HLEN, UDP_HLEN + plen)) & 0xffff;
          setBe16(u8, l4 + UDP_CSUM, ck === 0 ? 0xffff : ck);
        } else setBe16(u8, l4 + UDP_CSUM, udp4Cksum(u8, ip, l4));
        c[C.UDP_TX]!++;
        g.enqueue1(node, 1, h);
      }
      return n;
    },
  };
}

/**
 * `ip4_input`: the RFC 1812 5.2.2 header checks (ip4HeaderOk), trims Ethernet padding, delivers datagrams
 * for one of our addresses by protocol (ICMP, UDP); other addresses, fragments (no reassembly yet) and
 * other protocols are dropped and counted. `ip4_output`: for a frame whose IPv4 header is complete, the
 * route (FIB -> next hop), the neighbour (ARP table: send, or queue on an unresolved address and ask for
 * it), the Ethernet header, and the lport's pktdev_tx.
 *
 * @example
 * const input = ip4InputNode(ctx);
 * const output = ip4OutputNode(ctx);
 */
import type { NodeSpec } from "../../graph/node.js";
import { PKT_DROP } from "../../graph/nodes/names.js";
import { be32 } from "../../wire/bytes.js";
import { ETH_HLEN, ETHERTYPE_IPV4 } from "../../wire/ether.js";
import { IP4_DST, IP4_PROTO, IPPROTO_ICMP, IPPROTO_UDP, ip4HeaderOk, ip4IsFragment, ip4TotalLen } from "../../wire/ipv4.js";
import { FIB_NO_ROUTE } from "../tables.js";
import { ARP_INCOMPLETE } from "../arp-table.js";
import { C } from "../counters.js";
import { arpRequestFrame, frameAt, writeEther, type StackCtx } from "../context.js";
import { pidOfIfindex, txEdges, txEdgeTable } from "./arp.js";
import { ICMP4_INPUT, IP4_INPUT, IP4_OUTPUT, UDP4_INPUT } from "./names.js";

const E_DROP = 0;
const E_ICMP = 1;
const E_UDP = 2;

/**
 * The IPv4 input node.
 *
 * @example
 * const input = ip4InputNode(ctx);
 */
export function ip4InputNode(ctx: StackCtx): NodeSpec {
  let nexts = new Uint16Array(256);
  const u8 = ctx.u8;
  const c = ctx.c;
  return {
    name: IP4_INPUT, next: [PKT_DROP, ICMP4_INPUT, UDP4_INPUT],
    process: (g, node, objs, n) => {
      if (n > nexts.length) nexts = new Uint16Array(g.streamCapacity(node)); // warm-up only
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        c[C.IP4_RX]!++;
        const ip = frameAt(ctx, h) + ETH_HLEN;
        if (!ip4HeaderOk(u8, ip, ctx.dataLen[h]! - ETH_HLEN)) {
          c[C.IP4_DROP_BAD_HEADER]!++;
          nexts[i] = E_DROP;
          continue;
        }
        ctx.dataLen[h] = ETH_HLEN + ip4TotalLen(u8, ip); // no Ethernet padding past the datagram
        if (ctx.tables.localIfindex(be32(u8, ip + IP4_DST)) === 0) {
          c[C.IP4_DROP_NOT_LOCAL]!++;
          nexts[i] = E_DROP;
          continue;
        }
        if (ip4IsFragment(u8, ip)) {
          c[C.IP4_DROP_FRAGMENT]!++;
          nexts[i] = E_DROP;
          continue;
        }
        const proto = u8[ip + IP4_PROTO]!;
        if (proto === IPPROTO_ICMP) nexts[i] = E_ICMP;
        else if (proto === IPPROTO_UDP) nexts[i] = E_UDP;
        else {
          c[C.IP4_DROP_PROTO]!++;
          nexts[i] = E_DROP;
        }
      }
      g.enqueueNexts(node, objs, nexts, n);
      return n;
    },
  };
}

/**
 * The IPv4 output node.
 *
 * @example
 * const output = ip4OutputNode(ctx);
 */
export function ip4OutputNode(ctx: StackCtx): NodeSpec {
  let tx: Int32Array = new Int32Array(0);
  const u8 = ctx.u8;
  const c = ctx.c;
  const arp = ctx.arp;
  const tables = ctx.tables;
  return {
    name: IP4_OUTPUT, next: txEdges(ctx),
    init: (g, node) => { tx = txEdgeTable(ctx, g, node); },
    process: (g, node, objs, n) => {
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        const off = frameAt(ctx, h);
        const dst = be32(u8, off + ETH_HLEN + IP4_DST);
        const nh = tables.route4(dst);
        const ifindex = nh === FIB_NO_ROUTE ? 0 : tables.nextHopIfindex(nh);
        const pid = ifindex === 0 ? -1 : pidOfIfindex(ctx, ifindex);
        if (pid < 0 || tx[pid]! < 0) {
          c[C.IP4_DROP_NO_ROUTE]!++;
          g.enqueue1(node, 0, h);
          continue;
        }
        const gw = tables.nextHopGateway(nh);
        const target = gw === 0 ? dst : gw;
        let s = arp.lookup(target);
        if (s >= 0 && arp.state(s) !== ARP_INCOMPLETE) {
          if (arp.probeOnce(s)) {
            // A stale entry is used and re-confirmed with one request (a reply makes it reachable again).
            const req = arpRequestFrame(ctx, pid, tables.sourceFor(ifindex), target);
            if (req >= 0) {
              c[C.ARP_REQ_OUT]!++;
              g.enqueue1(node, tx[pid]!, req);
            }
          }
          writeEther(ctx, off, s, pid, ETHERTYPE_IPV4);
          c[C.IP4_TX]!++;
          g.enqueue1(node, tx[pid]!, h);
          continue;
        }
        if (s < 0) {
          s = arp.insertIncomplete(target, ifindex, ctx.clock[0]!);
          if (s < 0) {
            c[C.ARP_TABLE_FULL]!++;
            g.enqueue1(node, 0, h);
            continue;
          }
          arp.retried(s, ctx.clock[0]!);
          const req = arpRequestFrame(ctx, pid, tables.sourceFor(ifindex), target);
          if (req >= 0) {
            c[C.ARP_REQ_OUT]!++;
            g.enqueue1(node, tx[pid]!, req);
          }
        }
        if (arp.hold(s, h)) c[C.ARP_PENDING_HELD]!++;
        else {
          c[C.ARP_PENDING_DROP_FULL]!++;
          g.enqueue1(node, 0, h);
        }
      }
      return n;
    },
  };
}

export { IP4_OUTPUT };

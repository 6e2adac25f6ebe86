/**
 * `ip4_input`: the RFC 1812 5.2.2 header checks (ip4HeaderOk), trims Ethernet padding, delivers datagrams
 * for one of our addresses by protocol (ICMP, UDP, TCP when the stack has it); fragments go to
 * `ip4_reasm` (frag/reasm-node.ts). Another protocol is answered with ICMP protocol unreachable (rate
 * limited, frag/icmp-rate.ts). With punting on (punt.ts), what the stack does not serve goes to
 * `punt_tap` instead: datagrams for addresses that are not ours (broadcasts included), other protocols
 * and their fragments. `ip4_output`: for a frame whose IPv4 header is complete, the route (FIB -> next
 * hop), fragmentation to the egress interface's MTU (frag/fragment.ts: a datagram larger than the MTU,
 * or a chain, is copied into fragments; DF on a TCP segment larger than the MTU drops it,
 * `ip4_frag_drop_df`; UDP and ICMP the stack sends are fragmented even with DF, as Linux's default
 * IP_PMTUDISC_WANT does for its own datagrams), the neighbour (ARP table: send, or queue on an
 * unresolved address and ask for it), the Ethernet header, and the lport's pktdev_tx.
 *
 * @example
 * const input = ip4InputNode(ctx);
 * const output = ip4OutputNode(ctx);
 */
import type { NodeSpec } from "../../graph/node.js";
import { PKT_DROP } from "../../graph/nodes/names.js";
import { be16, be32 } from "../../wire/bytes.js";
import { ETH_HLEN, ETHERTYPE_IPV4 } from "../../wire/ether.js";
import { IP4_DF, IP4_DST, IP4_FRAG, IP4_PROTO, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, ip4HeaderOk, ip4IsFragment, ip4TotalLen } from "../../wire/ipv4.js";
import { FIB_NO_ROUTE } from "../tables.js";
import { ARP_INCOMPLETE } from "../arp-table.js";
import { C } from "../counters.js";
import { arpRequestFrame, frameAt, writeEther, type StackCtx } from "../context.js";
import { fragment4, MAX_FRAGS_OUT } from "../frag/fragment.js";
import { pidOfIfindex, txEdges, txEdgeTable } from "./arp.js";
import { ICMP_PROTO_UNREACH, toUnreachable } from "./icmp4.js";
import { ICMP4_INPUT, IP4_INPUT, IP4_OUTPUT, IP4_REASM, PUNT_TAP, UDP4_INPUT } from "./names.js";

/** The TCP input node's name (names.ts TCP4_INPUT, the TCP engineer's). */
const TCP4_INPUT_NAME = "tcp4_input";

const E_DROP = 0;
const E_ICMP = 1;
const E_UDP = 2;
const E_REASM = 3;
const E_OUT = 4;

/**
 * The IPv4 input node; `tcp`: the graph has tcp4_input (proto 6 goes there).
 *
 * @example
 * const input = ip4InputNode(ctx, { tcp: false });
 */
export function ip4InputNode(ctx: StackCtx, o: { tcp?: boolean } = {}): NodeSpec {
  let nexts = new Uint16Array(256);
  const u8 = ctx.u8;
  const c = ctx.c;
  const punt = ctx.punt;
  const tcp = o.tcp ?? false;
  const next = [PKT_DROP, ICMP4_INPUT, UDP4_INPUT, IP4_REASM, IP4_OUTPUT];
  const ePunt = punt ? next.push(PUNT_TAP) - 1 : E_DROP;
  const eTcp = tcp ? next.push(TCP4_INPUT_NAME) - 1 : E_DROP;
  return {
    name: IP4_INPUT, next,
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
          nexts[i] = ePunt;
          continue;
        }
        const proto = u8[ip + IP4_PROTO]!;
        const served = proto === IPPROTO_UDP || proto === IPPROTO_ICMP || (tcp && proto === IPPROTO_TCP);
        if (ip4IsFragment(u8, ip)) {
          // Fragments of what the stack serves are reassembled; the kernel reassembles the others.
          nexts[i] = served || !punt ? E_REASM : ePunt;
          continue;
        }
        if (proto === IPPROTO_UDP) nexts[i] = E_UDP;
        else if (proto === IPPROTO_ICMP) nexts[i] = E_ICMP;
        else if (served) nexts[i] = eTcp;
        else {
          c[C.IP4_DROP_PROTO]!++;
          nexts[i] = punt ? ePunt : toUnreachable(ctx, h, ip, ICMP_PROTO_UNREACH) ? E_OUT : E_DROP;
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
  const io = ctx.chains;
  const frags = new Uint32Array(MAX_FRAGS_OUT);
  // The MTU of each lport (by pid), re-read when the tables change (interfaces() allocates: control rate).
  let mtuOf = new Int32Array(0);
  let mtuVersion = -1;
  const refreshMtu = (): void => {
    mtuVersion = tables.version();
    const m = new Int32Array(ctx.ifindexOf.length).fill(1500);
    for (const i of tables.interfaces()) {
      const pid = pidOfIfindex(ctx, i.ifindex);
      if (pid >= 0 && i.mtu >= 68) m[pid] = i.mtu;
    }
    mtuOf = m;
  };
  /** Neighbour and Ethernet header for frame `h` to `target` on lport `pid`, then pktdev_tx (or held, or dropped). */
  const resolve = (g: Parameters<NodeSpec["process"]>[0], node: number, h: number, pid: number, ifindex: number, target: number): void => {
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
      writeEther(ctx, frameAt(ctx, h), s, pid, ETHERTYPE_IPV4);
      c[C.IP4_TX]!++;
      g.enqueue1(node, tx[pid]!, h);
      return;
    }
    if (s < 0) {
      s = arp.insertIncomplete(target, ifindex, ctx.clock[0]!);
      if (s < 0) {
        c[C.ARP_TABLE_FULL]!++;
        g.enqueue1(node, 0, h);
        return;
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
  };
  return {
    name: IP4_OUTPUT, next: txEdges(ctx),
    init: (g, node) => {
      tx = txEdgeTable(ctx, g, node);
      refreshMtu();
    },
    process: (g, node, objs, n) => {
      if (tables.version() !== mtuVersion) refreshMtu();
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        const ip = frameAt(ctx, h) + ETH_HLEN;
        const dst = be32(u8, ip + IP4_DST);
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
        const mtu = mtuOf[pid]!;
        if (io.chained(h) || io.pktLen(h) - ETH_HLEN > mtu) {
          if ((be16(u8, ip + IP4_FRAG) & IP4_DF) !== 0 && io.pktLen(h) - ETH_HLEN > mtu && u8[ip + IP4_PROTO] === IPPROTO_TCP) {
            c[C.IP4_FRAG_DROP_DF]!++;
            g.enqueue1(node, 0, h);
            continue;
          }
          const k = fragment4(ctx, h, mtu, frags);
          ctx.mp.free(h); // the original: its bytes are in the copies (not a drop)
          if (k < 0) {
            c[C.IP4_FRAG_DROP_NO_BUF]!++;
            continue;
          }
          if (k > 1) {
            c[C.IP4_FRAG_OUT]!++;
            c[C.IP4_FRAG_CREATED] = c[C.IP4_FRAG_CREATED]! + k;
          }
          for (let j = 0; j < k; j++) resolve(g, node, frags[j]!, pid, ifindex, target);
          continue;
        }
        resolve(g, node, h, pid, ifindex, target);
      }
      return n;
    },
  };
}

export { IP4_OUTPUT };

/**
 * `ip6_output`: frames whose IPv6 header is complete (after a 14-byte gap for Ethernet) leave here. A
 * multicast destination goes to its 33:33 MAC (RFC 2464 7) and a link-local one is on-link, both on the
 * interface the frame names (`x.oif`, the one its request came in on); any other destination is looked up
 * in the IPv6 FIB (a gateway, or on-link). The neighbour is resolved through the ND table (RFC 4861 7.2.2):
 * a known one gets the Ethernet header and goes to its lport (a stale one is probed once with a unicast
 * solicitation); an unknown one gets an entry, a multicast solicitation from the frame's own source
 * address, and the frame waits in the entry's bounded queue (the timer node retries and gives up).
 *
 * @example
 * const output = ip6OutputNode(ctx, x);
 */
import type { NodeSpec } from "../../graph/node.js";
import { ETH_HLEN } from "../../wire/ether.js";
import { IP6_DST, IP6_SRC } from "../../wire/ipv6.js";
import { FIB_NO_ROUTE } from "../tables.js";
import { C } from "../counters.js";
import { frameAt, type StackCtx } from "../context.js";
import { pidOfIfindex, txEdgeTable, txEdges } from "../nodes/arp.js";
import { IP6_OUTPUT } from "../nodes/names.js";
import { writeEther6, writeEther6Multicast, type Ip6Ctx } from "./context.js";
import { ND_INCOMPLETE } from "./nd-table.js";
import { nsFrame } from "./nd.js";

/**
 * The IPv6 output node.
 *
 * @example
 * const output = ip6OutputNode(ctx, x);
 */
export function ip6OutputNode(ctx: StackCtx, x: Ip6Ctx): NodeSpec {
  let tx: Int32Array = new Int32Array(0);
  const u8 = ctx.u8;
  const c = ctx.c;
  const nd = x.nd;
  const tables = ctx.tables;
  const gw = x.tmp; // the gateway at tmp[16..32)
  return {
    name: IP6_OUTPUT, next: txEdges(ctx),
    init: (g, node) => { tx = txEdgeTable(ctx, g, node); },
    process: (g, node, objs, n) => {
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        const off = frameAt(ctx, h);
        const ip6 = off + ETH_HLEN;
        const dst = ip6 + IP6_DST;
        let ifindex = 0;
        let tBuf = u8;
        let tOff = dst;
        const first = u8[dst]!;
        if (first === 0xff || (first === 0xfe && (u8[dst + 1]! & 0xc0) === 0x80)) {
          ifindex = x.oif[h]!;
        } else {
          const nh = tables.route6(u8, dst);
          if (nh !== FIB_NO_ROUTE) {
            ifindex = tables.nextHop6Ifindex(nh);
            if (tables.nextHop6Gateway(nh, gw, 16)) {
              tBuf = gw;
              tOff = 16;
            }
          }
        }
        const pid = ifindex === 0 ? -1 : pidOfIfindex(ctx, ifindex);
        if (pid < 0 || tx[pid]! < 0) {
          c[C.IP6_DROP_NO_ROUTE]!++;
          g.enqueue1(node, 0, h);
          continue;
        }
        if (first === 0xff) {
          writeEther6Multicast(ctx, off, pid, dst);
          c[C.IP6_TX]!++;
          g.enqueue1(node, tx[pid]!, h);
          continue;
        }
        let s = nd.lookup(tBuf, tOff, ifindex);
        if (s >= 0 && nd.state(s) !== ND_INCOMPLETE) {
          if (nd.probeOnce(s)) {
            const probe = nsFrame(ctx, x, pid, u8, ip6 + IP6_SRC, tBuf, tOff, s);
            if (probe >= 0) {
              c[C.ND_PROBE_OUT]!++;
              g.enqueue1(node, tx[pid]!, probe);
            }
          }
          nd.copyMac(s, x.tmp, 48);
          writeEther6(ctx, off, pid, x.tmp, 48);
          c[C.IP6_TX]!++;
          g.enqueue1(node, tx[pid]!, h);
          continue;
        }
        if (s < 0) {
          s = nd.insertIncomplete(tBuf, tOff, ifindex, ctx.clock[0]!);
          if (s < 0) {
            c[C.ND_TABLE_FULL]!++;
            g.enqueue1(node, 0, h);
            continue;
          }
          nd.retried(s, ctx.clock[0]!);
          const ns = nsFrame(ctx, x, pid, u8, ip6 + IP6_SRC, tBuf, tOff, -1);
          if (ns >= 0) {
            c[C.ND_NS_OUT]!++;
            g.enqueue1(node, tx[pid]!, ns);
          }
        }
        if (nd.hold(s, h)) c[C.ND_PENDING_HELD]!++;
        else {
          c[C.ND_PENDING_DROP_FULL]!++;
          g.enqueue1(node, 0, h);
        }
      }
      return n;
    },
  };
}

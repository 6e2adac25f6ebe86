/**
 * `ip4_rewrite`: forwards routed IPv4 frames (CNDP's ip4_rewrite node): reads the next hop `ip4_lookup`
 * kept in the frame's `udata`, drops frames whose TTL would expire (TTL <= 1, RFC 1812 section 5.3.1:
 * counter `ttl_expired`) or whose next hop is unset or leads to no port of this graph (`no_next_hop`),
 * decrements the TTL with an incremental checksum update (RFC 1624), writes the next hop's MAC as the
 * destination and the tx port's own MAC as the source, and sends the frame to `pktdev_tx-<port>`.
 */
import type { Mempool } from "../../mem/mempool.js";
import { copyMac, ETH_HLEN, ETH_SRC } from "../../wire/ether.js";
import { ip4DecTtl, IP4_TTL } from "../../wire/ipv4.js";
import type { NodeDecl, NodeSpec } from "../node.js";
import { frameViews } from "./frame.js";
import { IP4_REWRITE, PKT_DROP, pktdevTxName } from "./names.js";
import { REWRITE_MAC_STRIDE, type RewriteTable } from "./rewrite-table.js";

/** Edge 0 of ip4_rewrite: pkt_drop; edge 1 + i: the i-th tx port given. */
export const IP4_REWRITE_NEXT_DROP = 0;

/** Options of {@link ip4RewriteNode}. */
export interface Ip4RewriteOptions {
  mempool: Mempool;
  /** Next-hop index -> (MAC, tx lport). */
  nextHops: RewriteTable;
  /** The tx ports of the graph, by lport index, with their own MACs (6 bytes each): one edge each. */
  ports: readonly { pid: number; mac: Uint8Array }[];
}

/**
 * The topology of `ip4_rewrite` for tx lports `pids`: edges pkt_drop, pktdev_tx-<pid>...
 *
 * @example
 * const d = ip4RewriteDecl([0, 1]); // next: ["pkt_drop", "pktdev_tx-0", "pktdev_tx-1"]
 */
export function ip4RewriteDecl(pids: readonly number[]): NodeDecl {
  return { name: IP4_REWRITE, next: [PKT_DROP, ...pids.map(pktdevTxName)], counters: ["ttl_expired", "no_next_hop"] };
}

/**
 * The rewrite node.
 *
 * @example
 * const nextHops = RewriteTable.create(16);
 * const rw = ip4RewriteNode({ mempool, nextHops, ports: [{ pid: 0, mac: new Uint8Array([2, 0, 0, 0, 0, 1]) }] });
 */
export function ip4RewriteNode(o: Ip4RewriteOptions): NodeSpec {
  const { u8, shift, dataOff, udata } = frameViews(o.mempool);
  const nhMac = o.nextHops.mac;
  const nhPort = o.nextHops.port;
  const cap = o.nextHops.capacity;
  const pids = o.ports.map((p) => p.pid);
  if (new Set(pids).size !== pids.length) throw new RangeError(`ip4_rewrite: a tx lport is given twice (${pids.join(", ")})`);
  // Per lport index: its edge (0 = none: drop) and its MAC.
  const maxPid = Math.max(0, ...pids);
  const portEdge = new Uint16Array(maxPid + 1);
  const portMac = new Uint8Array((maxPid + 1) * 6);
  o.ports.forEach((p, i) => {
    if (p.mac.length !== 6) throw new RangeError(`ip4_rewrite: MAC of lport ${p.pid} has ${p.mac.length} bytes, 6 expected`);
    portEdge[p.pid] = 1 + i;
    portMac.set(p.mac, p.pid * 6);
  });
  const nports = portEdge.length;
  let nexts = new Uint16Array(256);
  let ttlAt = 0;
  let noNhAt = 0;
  return {
    ...ip4RewriteDecl(pids),
    init: (g, node) => {
      ttlAt = g.counterIndex(node, "ttl_expired");
      noNhAt = g.counterIndex(node, "no_next_hop");
    },
    process: (g, node, objs, n) => {
      if (n > nexts.length) nexts = new Uint16Array(g.streamCapacity(node)); // warm-up only
      let expired = 0;
      let noNh = 0;
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        const nh = udata[h]!;
        const port = nh < cap ? nhPort[nh]! : -1;
        const edge = port >= 0 && port < nports ? portEdge[port]! : 0;
        if (edge === 0) {
          nexts[i] = IP4_REWRITE_NEXT_DROP;
          noNh++;
          continue;
        }
        const off = ((h << shift) >>> 0) + dataOff[h]!;
        const ip = off + ETH_HLEN;
        if (u8[ip + IP4_TTL]! <= 1) {
          nexts[i] = IP4_REWRITE_NEXT_DROP;
          expired++;
          continue;
        }
        ip4DecTtl(u8, ip);
        copyMac(u8, off, nhMac, nh * REWRITE_MAC_STRIDE);
        copyMac(u8, off + ETH_SRC, portMac, port * 6);
        nexts[i] = edge;
      }
      const c = g.counters;
      if (expired > 0) c[ttlAt] = c[ttlAt]! + expired;
      if (noNh > 0) c[noNhAt] = c[noNhAt]! + noNh;
      g.enqueueNexts(node, objs, nexts, n);
      return n;
    },
  };
}

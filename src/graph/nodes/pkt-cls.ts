/**
 * `pkt_cls`: sends each frame on by its packet type (CNDP's pkt_cls node): IPv4 over Ethernet (with or
 * without options) to `ip4_lookup`, everything else to `pkt_drop` or to a next node of the caller's
 * choice. The type is the one `pktdev_rx` put in `mbufs.ptype` (layer 2 and 3 bits).
 */
import type { Mempool } from "../../mem/mempool.js";
import { PTYPE_L2_ETHER, PTYPE_L2_MASK, PTYPE_L3_IPV4, PTYPE_L3_IPV4_EXT, PTYPE_L3_MASK } from "../../wire/ptype.js";
import type { NodeDecl, NodeSpec } from "../node.js";
import { IP4_LOOKUP, PKT_CLS, PKT_DROP } from "./names.js";

/** DPDK's RTE_PTYPE_L3_IPV4_EXT_UNKNOWN: IPv4, options not known to be absent. */
const PTYPE_L3_IPV4_EXT_UNKNOWN = 0x90;

/** Edge 0 of pkt_cls: pkt_drop. */
export const PKT_CLS_NEXT_DROP = 0;
/** Edge 1 of pkt_cls: ip4_lookup. */
export const PKT_CLS_NEXT_IP4 = 1;

/** Options of {@link pktClsNode}. */
export interface PktClsOptions {
  /** The pool whose frames are classified (its mbuf table holds the types). */
  mempool: Mempool;
  /** Where frames other than IPv4 go (default `pkt_drop`). */
  other?: string;
}

/**
 * The topology of `pkt_cls`: edges pkt_drop, ip4_lookup, then `other` when it is neither.
 *
 * @example
 * const d = pktClsDecl("arp_reply"); // next: ["pkt_drop", "ip4_lookup", "arp_reply"]
 */
export function pktClsDecl(other = PKT_DROP): NodeDecl {
  const next = [PKT_DROP, IP4_LOOKUP];
  if (!next.includes(other)) next.push(other);
  return { name: PKT_CLS, next };
}

/**
 * The classifier.
 *
 * @example
 * const cls = pktClsNode({ mempool });
 */
export function pktClsNode(o: PktClsOptions): NodeSpec {
  const decl = pktClsDecl(o.other);
  const otherEdge = decl.next.indexOf(o.other ?? PKT_DROP);
  // Edge per (layer 2 | layer 3) type, as CNDP's p_nxt table.
  const table = new Uint16Array(256).fill(otherEdge);
  for (const l3 of [PTYPE_L3_IPV4, PTYPE_L3_IPV4_EXT, PTYPE_L3_IPV4_EXT_UNKNOWN]) {
    table[l3] = PKT_CLS_NEXT_IP4;
    table[l3 | PTYPE_L2_ETHER] = PKT_CLS_NEXT_IP4;
  }
  const mask = PTYPE_L2_MASK | PTYPE_L3_MASK;
  const ptype = o.mempool.mbufs.ptype;
  let nexts = new Uint16Array(256);
  return {
    ...decl,
    process: (g, node, objs, n) => {
      if (n > nexts.length) nexts = new Uint16Array(g.streamCapacity(node)); // warm-up only: streams grow once
      for (let i = 0; i < n; i++) nexts[i] = table[ptype[objs[i]!]! & mask]!;
      g.enqueueNexts(node, objs, nexts, n);
      return n;
    },
  };
}

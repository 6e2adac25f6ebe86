/**
 * `pkt_drop`: frees every frame it gets to the mempool (CNDP's pkt_drop); its object count is the
 * graph's drops.
 */
import type { Mempool } from "../../mem/mempool.js";
import type { NodeDecl, NodeSpec } from "../node.js";
import { PKT_DROP } from "./names.js";

/**
 * The topology of `pkt_drop`.
 *
 * @example
 * const d = pktDropDecl(); // { name: "pkt_drop", next: [] }
 */
export function pktDropDecl(): NodeDecl {
  return { name: PKT_DROP, next: [] };
}

/**
 * The drop node.
 *
 * @example
 * const drop = pktDropNode({ mempool });
 */
export function pktDropNode(o: { mempool: Mempool }): NodeSpec {
  const mp = o.mempool;
  return {
    ...pktDropDecl(),
    process: (_g, _node, objs, n) => {
      mp.freeBulk(objs, n);
      return n;
    },
  };
}

/**
 * `pktdev_rx-<lport>`: a source node receiving a burst from an lport into its own stream, classifying
 * each frame's packet type into the mbuf table (`ptype`, DPDK's packet_type: AF_XDP gives none), and
 * handing the stream to its next node (`pkt_cls`) without a copy (CNDP's pktdev_rx node).
 */
import type { Lport } from "../../pktdev/lport.js";
import type { Mempool } from "../../mem/mempool.js";
import { parsePtype } from "../../wire/ptype.js";
import type { NodeDecl, NodeSpec } from "../node.js";
import { frameViews } from "./frame.js";
import { pktdevRxName, PKT_CLS } from "./names.js";

/** Options of {@link pktdevRxNode}. */
export interface PktdevRxOptions {
  port: Lport;
  /** Frames per burst (at most the graph's streamSize). */
  burst: number;
  /** The pool whose UMEM the port's frames are in (default: the port's own pool). */
  mempool?: Mempool;
  /** Parse each frame's packet type into `mbufs.ptype` (default true). */
  ptype?: boolean;
  /** The next node (default `pkt_cls`). */
  next?: string;
}

/**
 * The topology of `pktdev_rx-<pid>`.
 *
 * @example
 * const d = pktdevRxDecl(0); // { name: "pktdev_rx-0", next: ["pkt_cls"], source: true }
 */
export function pktdevRxDecl(pid: number, next = PKT_CLS): NodeDecl {
  return { name: pktdevRxName(pid), next: [next], source: true };
}

/**
 * The node receiving from `port`.
 *
 * @example
 * const rx = pktdevRxNode({ port, burst: 64 });
 */
export function pktdevRxNode(o: PktdevRxOptions): NodeSpec {
  const { port, burst } = o;
  const mp = o.mempool ?? port.pool;
  const classify = o.ptype ?? true;
  if (classify && mp === null) throw new RangeError(`pktdev_rx-${port.pid}: port '${port.name}' has no pool: give the mempool its frames come from`);
  if (!Number.isInteger(burst) || burst < 1) throw new RangeError(`pktdev_rx-${port.pid}: invalid burst ${burst}`);
  const f = mp ? frameViews(mp) : null;
  const u8 = f?.u8 ?? new Uint8Array(0);
  const shift = f?.shift ?? 11;
  const dataOff = f?.dataOff ?? new Uint16Array(0);
  const dataLen = f?.dataLen ?? new Uint16Array(0);
  const ptype = f?.ptype ?? new Uint32Array(0);
  return {
    ...pktdevRxDecl(port.pid, o.next),
    init: (g) => {
      if (burst > g.streamSize) throw new RangeError(`graph '${g.name}': pktdev_rx-${port.pid} bursts of ${burst} exceed the streamSize ${g.streamSize}`);
    },
    process: (g, node, objs) => {
      const n = port.rxBurst(objs, burst);
      if (n === 0) return 0;
      if (classify) {
        for (let i = 0; i < n; i++) {
          const h = objs[i]!;
          ptype[h] = parsePtype(u8, ((h << shift) >>> 0) + dataOff[h]!, dataLen[h]!);
        }
      }
      g.move(node, 0, n);
      return n;
    },
  };
}

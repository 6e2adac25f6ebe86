/**
 * `pktdev_tx-<lport>`: sends its stream on an lport (CNDP's pktdev_tx node); frames the port does not
 * take (TX ring full, admin down) go to `pkt_drop` (counted on that edge). For a port another thread
 * serves (one owner per ring), the frames go into that port's inbox instead, a multi-producer ring the
 * owner drains ({@link inboxNode}); what does not fit goes to `pkt_drop` too.
 */
import type { Lport } from "../../pktdev/lport.js";
import type { Ring } from "../../ring/ring.js";
import type { NodeDecl, NodeSpec } from "../node.js";
import { inboxName, pktdevTxName, PKT_DROP } from "./names.js";

/** Edge 0 of pktdev_tx: pkt_drop. */
export const PKTDEV_TX_NEXT_DROP = 0;

/**
 * The topology of `pktdev_tx-<pid>`.
 *
 * @example
 * const d = pktdevTxDecl(1); // { name: "pktdev_tx-1", next: ["pkt_drop"] }
 */
export function pktdevTxDecl(pid: number): NodeDecl {
  return { name: pktdevTxName(pid), next: [PKT_DROP] };
}

/**
 * The node sending on lport `pid`: through `port` when this thread serves it, else into `inbox`.
 *
 * @example
 * const tx = pktdevTxNode({ pid: port.pid, port });
 */
export function pktdevTxNode(o: { pid: number; port?: Lport; inbox?: Ring }): NodeSpec {
  const { port, inbox } = o;
  if ((port === undefined) === (inbox === undefined)) throw new RangeError(`pktdev_tx-${o.pid}: give exactly one of port and inbox`);
  if (port !== undefined && port.pid !== o.pid) throw new RangeError(`pktdev_tx-${o.pid}: port '${port.name}' is lport ${port.pid}`);
  return {
    ...pktdevTxDecl(o.pid),
    process: port !== undefined
      ? (g, node, objs, n) => {
        const sent = port.txBurst(objs, n);
        if (sent < n) g.enqueue(node, PKTDEV_TX_NEXT_DROP, objs, sent, n - sent);
        return n;
      }
      : (g, node, objs, n) => {
        const sent = inbox!.enqueueBurst(objs, n);
        if (sent < n) g.enqueue(node, PKTDEV_TX_NEXT_DROP, objs, sent, n - sent);
        return n;
      },
  };
}

/**
 * The topology of `inbox-<pid>`.
 *
 * @example
 * const d = inboxDecl(1); // { name: "inbox-1", next: ["pktdev_tx-1"], source: true }
 */
export function inboxDecl(pid: number): NodeDecl {
  return { name: inboxName(pid), next: [pktdevTxName(pid)], source: true };
}

/**
 * A source node draining the inbox of lport `pid` (frames other threads routed to it) into
 * `pktdev_tx-<pid>`, up to `burst` per walk.
 *
 * @example
 * const inbox = Ring.create({ size: 1024, multiProducer: true });
 * const drain = inboxNode({ pid: 1, inbox, burst: 64 });
 */
export function inboxNode(o: { pid: number; inbox: Ring; burst: number }): NodeSpec {
  const { inbox, burst } = o;
  return {
    ...inboxDecl(o.pid),
    init: (g) => {
      if (burst > g.streamSize) throw new RangeError(`graph '${g.name}': inbox-${o.pid} bursts of ${burst} exceed the streamSize ${g.streamSize}`);
    },
    process: (g, node, objs) => {
      const n = inbox.dequeueBurst(objs, burst);
      g.move(node, 0, n);
      return n;
    },
  };
}

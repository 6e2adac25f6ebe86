/**
 * The standard nodes' names (CNDP's): `pktdev_rx-<lport>`, `pkt_cls`, `ip4_lookup`, `ip4_rewrite`,
 * `pktdev_tx-<lport>`, `pkt_drop`, and `inbox-<lport>` (frames other threads hand over for a port this
 * thread serves: one owner per ring).
 */

/**
 * Name of the node receiving from lport `pid`.
 *
 * @example
 * pktdevRxName(0); // "pktdev_rx-0"
 */
export function pktdevRxName(pid: number): string {
  return `pktdev_rx-${pid}`;
}

/**
 * Name of the node sending on lport `pid`.
 *
 * @example
 * pktdevTxName(1); // "pktdev_tx-1"
 */
export function pktdevTxName(pid: number): string {
  return `pktdev_tx-${pid}`;
}

/**
 * Name of the source node draining the inbox of lport `pid` (frames other threads route to it).
 *
 * @example
 * inboxName(1); // "inbox-1"
 */
export function inboxName(pid: number): string {
  return `inbox-${pid}`;
}

/**
 * The classifier node's name.
 *
 * @example
 * console.log(PKT_CLS); // "pkt_cls"
 */
export const PKT_CLS = "pkt_cls";
/**
 * The IPv4 route lookup node's name.
 *
 * @example
 * console.log(IP4_LOOKUP); // "ip4_lookup"
 */
export const IP4_LOOKUP = "ip4_lookup";
/**
 * The IPv4 rewrite node's name.
 *
 * @example
 * console.log(IP4_REWRITE); // "ip4_rewrite"
 */
export const IP4_REWRITE = "ip4_rewrite";
/**
 * The drop node's name (CNDP's pkt_drop).
 *
 * @example
 * console.log(PKT_DROP); // "pkt_drop"
 */
export const PKT_DROP = "pkt_drop";

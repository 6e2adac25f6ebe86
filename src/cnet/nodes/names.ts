/**
 * The stack's node names (CNDP's cnet graph: eth_rx -> ptype -> arp / ip4_input -> icmp / udp_input, and
 * ip4_output towards pktdev_tx).
 *
 * @example
 * console.log(ETH_INPUT, ARP_INPUT, IP4_INPUT, ICMP4_INPUT, UDP4_INPUT, IP4_OUTPUT, CNET_TIMER, CHNL_TX);
 */

/** Ethernet input: destination MAC and packet type. */
export const ETH_INPUT = "eth_input";
/** ARP input: answers, learns, releases queued frames. */
export const ARP_INPUT = "arp_input";
/** IPv4 input: header checks, local delivery by protocol. */
export const IP4_INPUT = "ip4_input";
/** ICMP input: echo replies. */
export const ICMP4_INPUT = "icmp4_input";
/** UDP input: checksum, delivery to a channel, port unreachable. */
export const UDP4_INPUT = "udp4_input";
/** IPv4 output: route lookup, neighbour resolution, Ethernet header. */
export const IP4_OUTPUT = "ip4_output";
/** The timer source: neighbour feed, ARP retries and timeouts, gratuitous ARP. */
export const CNET_TIMER = "cnet_timer";
/** The channel send source: datagrams the application sent. */
export const CHNL_TX = "chnl_tx";

/**
 * Name of the node receiving from lport `pid`.
 *
 * @example
 * cnetRxName(0); // "cnet_rx-0"
 */
export function cnetRxName(pid: number): string {
  return `cnet_rx-${pid}`;
}

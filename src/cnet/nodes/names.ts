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
/** TCP input: checksum, the engine's state machine, segments it answers with to ip4_output. */
export const TCP4_INPUT = "tcp4_input";
/** TCP's timer source: RTO, delayed ACK, persist, keepalive, TIME_WAIT, and what channels sent. */
export const TCP_TIMER = "tcp_timer";
/** IPv6 input: header checks, extension headers, local delivery by next header (ip6/input.ts). */
export const IP6_INPUT = "ip6_input";
/** ICMPv6 input: echo replies, neighbour solicitations and advertisements (ip6/icmp6.ts). */
export const ICMP6_INPUT = "icmp6_input";
/** IPv6 output: route lookup, neighbour discovery, Ethernet header (ip6/output.ts). */
export const IP6_OUTPUT = "ip6_output";
/** UDP over IPv6 input: checksum (mandatory), delivery to a channel, port unreachable (ip6/udp6.ts). */
export const UDP6_INPUT = "udp6_input";
/** UDP over IPv6 output: UDP and IPv6 headers before what channels sent to IPv6 peers (ip6/udp6.ts). */
export const UDP6_OUTPUT = "udp6_output";
/** TCP over IPv6 input: checksum over the IPv6 pseudo-header, then the TCP engine (ip6/tcp6.ts). */
export const TCP6_INPUT = "tcp6_input";
/** The IPv6 timer source: ND feed, DAD, ND retries and ageing (ip6/timer.ts). */
export const ND6_TIMER = "nd6_timer";
/** IPv4 reassembly: fragments held until their datagram is whole (frag/reasm-node.ts). */
export const IP4_REASM = "ip4_reasm";
/** The reassembly timer source: expires datagrams (ICMP time exceeded, code 1). */
export const IP4_REASM_TIMER = "ip4_reasm_timer";
/** The punt: frames the stack does not handle, written to a TAP for the kernel (punt.ts). */
export const PUNT_TAP = "punt_tap";
/** The punt's return path: frames the kernel wrote to the TAP, sent on the stack's lport. */
export const PUNT_TAP_RX = "punt_tap_rx";

/**
 * Name of the node receiving from lport `pid`.
 *
 * @example
 * cnetRxName(0); // "cnet_rx-0"
 */
export function cnetRxName(pid: number): string {
  return `cnet_rx-${pid}`;
}

/**
 * wire: building, reading and rewriting frames: header views over a frame's bytes in the UMEM for
 * Ethernet, 802.1Q, ARP, IPv4, IPv6 (extension headers walked), ICMP, ICMPv6, UDP and TCP (offsets,
 * accessors, validators, in-place rewrites), Internet checksums full and incremental (RFC 1071, RFC 1624,
 * IPv4/IPv6 pseudo-headers), packet types as DPDK's ptype bits, test and generator frames, frame templates
 * copied into UMEM frames, VLAN tags, a per-flow counter. The hot-path functions allocate nothing: a frame
 * is a byte offset into `umem.u8`, never an object.
 *
 * @module
 */
export type { UdpFrameOptions } from "./udp-frame.js";
/**
 * An Ethernet/IPv4/UDP frame with addresses, ports and a sequence number (allocates: control path).
 *
 * @example
 * import { udpFrame } from "xdplane/wire";
 * const f = udpFrame({ dst: "02:00:00:00:00:02", src: "02:00:00:00:00:01", size: 64, seq: 1 });
 */
export { udpFrame } from "./udp-frame.js";
/**
 * The IPv4 header checksum (RFC 791) of `len` bytes at `off`.
 *
 * @example
 * const sum = ipv4Checksum(frame, 14); // 0 when the header's checksum is right
 */
export { ipv4Checksum } from "./udp-frame.js";
/**
 * Copies a template frame into a UMEM frame at byte offset `o` (32-bit words, then the tail).
 *
 * @example
 * const t8 = udpFrame({ size: 64 });
 * const t32 = new Uint32Array(t8.buffer);
 * copyTemplate(umem.u8, umem.u32, off, t32, t8, 64);
 */
export { copyTemplate } from "./frame-template.js";
// Header views: offsets and in-place accessors over a frame's bytes in the UMEM, one file per protocol
// (the hot path: no allocation). headers.ts re-exports the first of them under its old path.
export { be16, be32, setBe16, setBe32 } from "./bytes.js";
export {
  ETH_ALEN, ETH_HLEN, ETH_DST, ETH_SRC, ETH_TYPE, ETHERTYPE_IPV4, ETHERTYPE_ARP, ETHERTYPE_VLAN, ETHERTYPE_QINQ,
  ETHERTYPE_IPV6, etherType, copyMac, swapMac, macIsMulticast, l3Offset,
} from "./ether.js";
export {
  ARP_HLEN, ARP_HTYPE, ARP_PTYPE, ARP_HLN, ARP_PLN, ARP_OP, ARP_SHA, ARP_SPA, ARP_THA, ARP_TPA, ARP_HTYPE_ETHER,
  ARP_OP_REQUEST, ARP_OP_REPLY, arpOk, arpToReply,
} from "./arp.js";
export {
  IP4_HLEN, IP4_VER_IHL, IP4_TOS, IP4_TOTLEN, IP4_ID, IP4_FRAG, IP4_TTL, IP4_PROTO, IP4_CSUM, IP4_SRC, IP4_DST,
  IP4_DF, IP4_MF, IP4_OFFMASK, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP,
  ip4HdrLen, ip4TotalLen, ip4Src, ip4Dst, ip4IsFragment, ip4Cksum, ip4HeaderOk, ip4DecTtl, setIp4Ttl, setIp4Src,
  setIp4Dst, swapIp4, ipv4At, ipv4Payload,
} from "./ipv4.js";
export {
  IP6_HLEN, IP6_VTC_FLOW, IP6_PLEN, IP6_NXT, IP6_HLIM, IP6_SRC, IP6_DST, IPPROTO_HOPOPTS, IPPROTO_ROUTING,
  IPPROTO_FRAGMENT, IPPROTO_ESP, IPPROTO_AH, IPPROTO_ICMPV6, IPPROTO_NONE, IPPROTO_DSTOPTS, IP6_NOT_FRAGMENT,
  IP6_FIRST_FRAGMENT, IP6_LATER_FRAGMENT, ip6IsExtension, ip6L4Offset, ip6PayloadLen, ip6HeaderOk, ip6DecHopLimit,
  swapIp6,
} from "./ipv6.js";
export {
  ICMP_HLEN, ICMP_TYPE, ICMP_CODE, ICMP_CSUM, ICMP_ID, ICMP_SEQ, ICMP_ECHO_REPLY, ICMP_DEST_UNREACH,
  ICMP_ECHO_REQUEST, ICMP_TIME_EXCEEDED, icmp4Cksum, icmp4CksumOk, icmp4Len, icmpEchoToReply,
} from "./icmp.js";
export {
  ICMP6_HLEN, ICMP6_DEST_UNREACH, ICMP6_PACKET_TOO_BIG, ICMP6_TIME_EXCEEDED, ICMP6_ECHO_REQUEST, ICMP6_ECHO_REPLY,
  ICMP6_ROUTER_SOLICIT, ICMP6_ROUTER_ADVERT, ICMP6_NEIGHBOR_SOLICIT, ICMP6_NEIGHBOR_ADVERT, icmp6Cksum, icmp6CksumOk,
} from "./icmp6.js";
export {
  UDP_HLEN, UDP_SPORT, UDP_DPORT, UDP_LEN, UDP_CSUM, udpSport, udpDport, udpAt, swapUdpPorts, udp4Cksum,
  udp4CksumOk, udp6Cksum, udp6CksumOk, udpCksumAdjust16, udpCksumAdjust32, setUdpSport, setUdpDport,
} from "./udp.js";
export {
  TCP_HLEN, TCP_SPORT, TCP_DPORT, TCP_SEQ, TCP_ACK, TCP_DOFF, TCP_FLAGS, TCP_WIN, TCP_CSUM, TCP_URP, TCP_FLAG_FIN,
  TCP_FLAG_SYN, TCP_FLAG_RST, TCP_FLAG_PSH, TCP_FLAG_ACK, TCP_FLAG_URG, tcpHdrLen, tcp4Cksum, tcp4CksumOk,
  tcp6Cksum, tcp6CksumOk, setTcpSport, setTcpDport,
} from "./tcp.js";
// Internet checksums (RFC 1071): full sums, pseudo-headers, RFC 1624 incremental updates.
export {
  onesSum, cksumFold, cksum, cksumUpdate16, cksumUpdate32, cksumAdjust16, cksumAdjust32, pseudoSum4, pseudoSum6,
  sumWithout,
} from "./cksum.js";
// Packet types (DPDK rte_mbuf_ptype / CNDP CNE_PTYPE values) read from a frame.
export {
  PTYPE_UNKNOWN, PTYPE_L2_ETHER, PTYPE_L2_ETHER_ARP, PTYPE_L2_ETHER_VLAN, PTYPE_L2_ETHER_QINQ, PTYPE_L2_MASK,
  PTYPE_L3_IPV4, PTYPE_L3_IPV4_EXT, PTYPE_L3_IPV6, PTYPE_L3_IPV6_EXT, PTYPE_L3_MASK, PTYPE_L4_TCP, PTYPE_L4_UDP,
  PTYPE_L4_FRAG, PTYPE_L4_SCTP, PTYPE_L4_ICMP, PTYPE_L4_MASK, parsePtype,
} from "./ptype.js";
// IEEE 802.1Q tags inserted into the headroom and removed in place.
export { VLAN_HLEN, vlanInsert, vlanRemove, vlanId } from "./vlan.js";
// A per-flow (IPv4 5-tuple) packet and byte counter in shared memory.
export type { Flow } from "./flow-counter.js";
export { FlowCounter, flowName } from "./flow-counter.js";

/**
 * wire: building, reading and rewriting frames (Ethernet, 802.1Q, RFC 791 IPv4, RFC 768 UDP): test and
 * generator frames, header checksums, frame templates copied into UMEM frames, header accessors and in-place
 * rewrites (MAC/IP/port swaps, RFC 1624 checksum updates, VLAN tags), a per-flow counter; the hot-path ones
 * allocate nothing.
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
// Ethernet/IPv4/UDP header offsets and in-place accessors (the hot path: no allocation).
export {
  ETH_ALEN, ETH_HLEN, ETH_TYPE, ETHERTYPE_IPV4, ETHERTYPE_VLAN, IP4_HLEN, IP4_TTL, IP4_PROTO, IP4_CSUM, IP4_SRC, IP4_DST,
  UDP_HLEN, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP,
  be16, be32, setBe16, ipv4At, ipv4Payload, udpAt, swapMac, swapIp4, swapUdpPorts, cksumUpdate16, setIp4Ttl,
} from "./headers.js";
// IEEE 802.1Q tags inserted into the headroom and removed in place.
export { VLAN_HLEN, vlanInsert, vlanRemove, vlanId } from "./vlan.js";
// A per-flow (IPv4 5-tuple) packet and byte counter in shared memory.
export type { Flow } from "./flow-counter.js";
export { FlowCounter, flowName } from "./flow-counter.js";

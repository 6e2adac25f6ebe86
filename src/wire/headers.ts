/**
 * The first header accessors of `xdplane/wire`, kept under their old module path: Ethernet (ether.ts),
 * IPv4 (ipv4.ts), UDP (udp.ts), big-endian fields (bytes.ts) and the RFC 1624 update (cksum.ts) now live in
 * one file per protocol; this module re-exports what it used to define.
 *
 * @example
 * const ip = off + ETH_HLEN;
 * const ttl = umem.u8[ip + IP4_TTL]!;
 */
export { be16, be32, setBe16 } from "./bytes.js";
export { cksumUpdate16 } from "./cksum.js";
export { ETH_ALEN, ETH_HLEN, ETH_TYPE, ETHERTYPE_IPV4, ETHERTYPE_VLAN, swapMac } from "./ether.js";
export {
  IP4_HLEN, IP4_TTL, IP4_PROTO, IP4_CSUM, IP4_SRC, IP4_DST, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP,
  ipv4At, ipv4Payload, swapIp4, setIp4Ttl,
} from "./ipv4.js";
export { UDP_HLEN, udpAt, swapUdpPorts } from "./udp.js";

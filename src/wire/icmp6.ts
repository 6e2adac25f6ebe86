/**
 * ICMPv6 (RFC 4443) and the Neighbor Discovery types (RFC 4861): message types and the checksum over the
 * IPv6 pseudo-header with next header 58. The header offsets are ICMP's (ICMP_TYPE, ICMP_CODE,
 * ICMP_CSUM). `l4` is the byte offset of the ICMPv6 header in `umem.u8`; nothing here allocates.
 *
 * @example
 * const ip6 = off + ETH_HLEN, l4 = ip6 + IP6_HLEN;
 * if (umem.u8[l4 + ICMP_TYPE] === ICMP6_NEIGHBOR_SOLICIT) console.log("neighbor solicitation");
 */
import { be16 } from "./bytes.js";
import { cksumFold, pseudoSum6, sumWithout } from "./cksum.js";
import { ICMP_CSUM } from "./icmp.js";
import { IP6_HLEN, IP6_PLEN, IPPROTO_ICMPV6 } from "./ipv6.js";

/** Bytes of the common ICMPv6 header: type, code, checksum (the message body follows). */
export const ICMP6_HLEN = 4;
/** ICMPv6 type: destination unreachable. */
export const ICMP6_DEST_UNREACH = 1;
/** ICMPv6 type: packet too big. */
export const ICMP6_PACKET_TOO_BIG = 2;
/** ICMPv6 type: time exceeded (code 0: hop limit exceeded in transit). */
export const ICMP6_TIME_EXCEEDED = 3;
/** ICMPv6 type: echo request. */
export const ICMP6_ECHO_REQUEST = 128;
/** ICMPv6 type: echo reply. */
export const ICMP6_ECHO_REPLY = 129;
/** ICMPv6 type: router solicitation (RFC 4861). */
export const ICMP6_ROUTER_SOLICIT = 133;
/** ICMPv6 type: router advertisement (RFC 4861). */
export const ICMP6_ROUTER_ADVERT = 134;
/** ICMPv6 type: neighbor solicitation (RFC 4861). */
export const ICMP6_NEIGHBOR_SOLICIT = 135;
/** ICMPv6 type: neighbor advertisement (RFC 4861). */
export const ICMP6_NEIGHBOR_ADVERT = 136;

/**
 * The ICMPv6 checksum the message at `l4` should carry over the IPv6 header at `ip6` (`l4` after any
 * extension headers; the message runs to the end of the payload), the checksum field counted as zero.
 *
 * @example
 * const ip6 = off + ETH_HLEN, l4 = ip6 + IP6_HLEN;
 * setBe16(umem.u8, l4 + ICMP_CSUM, icmp6Cksum(umem.u8, ip6, l4));
 */
export function icmp6Cksum(u8: Uint8Array, ip6: number, l4: number): number {
  const len = IP6_HLEN + be16(u8, ip6 + IP6_PLEN) - (l4 - ip6);
  return ~sumWithout(u8, l4, len, ICMP_CSUM, pseudoSum6(u8, ip6, IPPROTO_ICMPV6, len)) & 0xffff;
}

/**
 * Whether the ICMPv6 message at `l4` over the IPv6 header at `ip6` has a valid checksum.
 *
 * @example
 * const ip6 = off + ETH_HLEN;
 * const ok = icmp6CksumOk(umem.u8, ip6, ip6 + IP6_HLEN);
 */
export function icmp6CksumOk(u8: Uint8Array, ip6: number, l4: number): boolean {
  const len = IP6_HLEN + be16(u8, ip6 + IP6_PLEN) - (l4 - ip6);
  return cksumFold(sumWithout(u8, l4, len, ICMP_CSUM, pseudoSum6(u8, ip6, IPPROTO_ICMPV6, len)) + be16(u8, l4 + ICMP_CSUM)) === 0xffff;
}

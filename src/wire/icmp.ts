/**
 * ICMP for IPv4 (RFC 792): offsets, message types, the checksum (over the ICMP message alone: no
 * pseudo-header), and turning an echo request into its reply in place. `l4` is the byte offset of the
 * ICMP header in `umem.u8`; nothing here allocates.
 *
 * @example
 * const ip = off + ETH_HLEN, l4 = ip + ip4HdrLen(umem.u8, ip);
 * if (umem.u8[l4 + ICMP_TYPE] === ICMP_ECHO_REQUEST) icmpEchoToReply(umem.u8, l4);
 */
import { be16 } from "./bytes.js";
import { cksumAdjust16, cksumFold, sumWithout } from "./cksum.js";
import { IP4_TOTLEN } from "./ipv4.js";

/** Bytes of an ICMP header: type, code, checksum, and 4 bytes that depend on the type. */
export const ICMP_HLEN = 8;
/** Offset of the type (ICMP and ICMPv6). */
export const ICMP_TYPE = 0;
/** Offset of the code (ICMP and ICMPv6). */
export const ICMP_CODE = 1;
/** Offset of the checksum (ICMP and ICMPv6). */
export const ICMP_CSUM = 2;
/** Offset of an echo message's identifier (ICMP and ICMPv6). */
export const ICMP_ID = 4;
/** Offset of an echo message's sequence number (ICMP and ICMPv6). */
export const ICMP_SEQ = 6;
/** ICMP type: echo reply. */
export const ICMP_ECHO_REPLY = 0;
/** ICMP type: destination unreachable. */
export const ICMP_DEST_UNREACH = 3;
/** ICMP type: echo request. */
export const ICMP_ECHO_REQUEST = 8;
/** ICMP type: time exceeded (code 0: TTL exceeded in transit, what a router sends). */
export const ICMP_TIME_EXCEEDED = 11;

/**
 * The ICMP checksum the message of `len` bytes at `l4` should carry (the checksum field counted as zero).
 * Over IPv4 the message is the rest of the datagram: `ip4TotalLen - ip4HdrLen` bytes ({@link icmp4Len}).
 *
 * @example
 * const ip = off + ETH_HLEN, l4 = ip + IP4_HLEN;
 * setBe16(umem.u8, l4 + ICMP_CSUM, icmp4Cksum(umem.u8, l4, icmp4Len(umem.u8, ip, l4)));
 */
export function icmp4Cksum(u8: Uint8Array, l4: number, len: number): number {
  return ~sumWithout(u8, l4, len, ICMP_CSUM, 0) & 0xffff;
}

/**
 * Whether the ICMP message of `len` bytes at `l4` has a valid checksum.
 *
 * @example
 * const ip = off + ETH_HLEN, l4 = ip + IP4_HLEN;
 * const ok = icmp4CksumOk(umem.u8, l4, icmp4Len(umem.u8, ip, l4));
 */
export function icmp4CksumOk(u8: Uint8Array, l4: number, len: number): boolean {
  return cksumFold(sumWithout(u8, l4, len, ICMP_CSUM, 0) + be16(u8, l4 + ICMP_CSUM)) === 0xffff;
}

/**
 * The length of the ICMP message at `l4` of the IPv4 datagram at `ip`: its total length minus the bytes
 * before `l4`.
 *
 * @example
 * const ip = off + ETH_HLEN;
 * const len = icmp4Len(umem.u8, ip, ip + IP4_HLEN);
 */
export function icmp4Len(u8: Uint8Array, ip: number, l4: number): number {
  return be16(u8, ip + IP4_TOTLEN) - (l4 - ip);
}

/**
 * Turns the ICMP echo request at `l4` into an echo reply in place (type 8 to 0, checksum updated by
 * RFC 1624). The IP addresses and Ethernet header are the caller's to swap.
 *
 * @example
 * const u8 = umem.u8, ip = off + ETH_HLEN, l4 = ip + IP4_HLEN;
 * if (u8[l4 + ICMP_TYPE] === ICMP_ECHO_REQUEST) {
 *   icmpEchoToReply(u8, l4);
 *   swapIp4(u8, ip);
 *   swapMac(u8, off);
 * }
 */
export function icmpEchoToReply(u8: Uint8Array, l4: number): void {
  const code = u8[l4 + ICMP_CODE]!;
  cksumAdjust16(u8, l4 + ICMP_CSUM, (ICMP_ECHO_REQUEST << 8) | code, (ICMP_ECHO_REPLY << 8) | code);
  u8[l4 + ICMP_TYPE] = ICMP_ECHO_REPLY;
}

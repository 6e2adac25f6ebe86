/**
 * TCP header view (RFC 9293): offsets, flags, the header length, ports, and the checksum over the IPv4
 * or IPv6 pseudo-header, full and incremental. The segment's length comes from the IP header (IPv4 total
 * length minus its header; IPv6 payload length minus the extension headers before `l4`). `l4` is the
 * byte offset of the TCP header in `umem.u8`; nothing here allocates.
 *
 * @example
 * const ip = off + ETH_HLEN, l4 = ip + ip4HdrLen(umem.u8, ip);
 * if ((umem.u8[l4 + TCP_FLAGS]! & TCP_FLAG_SYN) !== 0) console.log("SYN to port", be16(umem.u8, l4 + TCP_DPORT));
 */
import { be16, setBe16 } from "./bytes.js";
import { cksumAdjust16, cksumFold, pseudoSum4, pseudoSum6, sumWithout } from "./cksum.js";
import { IPPROTO_TCP, IP4_TOTLEN } from "./ipv4.js";
import { IP6_HLEN, IP6_PLEN } from "./ipv6.js";

/** Bytes of a TCP header without options (data offset 5). */
export const TCP_HLEN = 20;
/** Offset of the source port in a TCP header. */
export const TCP_SPORT = 0;
/** Offset of the destination port in a TCP header. */
export const TCP_DPORT = 2;
/** Offset of the sequence number (32 bits). */
export const TCP_SEQ = 4;
/** Offset of the acknowledgment number (32 bits). */
export const TCP_ACK = 8;
/** Offset of the data offset (high 4 bits: the header length in 32-bit words). */
export const TCP_DOFF = 12;
/** Offset of the flags byte (CWR, ECE, URG, ACK, PSH, RST, SYN, FIN). */
export const TCP_FLAGS = 13;
/** Offset of the window (16 bits). */
export const TCP_WIN = 14;
/** Offset of the checksum in a TCP header. */
export const TCP_CSUM = 16;
/** Offset of the urgent pointer. */
export const TCP_URP = 18;
/** TCP flag FIN (in the byte at {@link TCP_FLAGS}). */
export const TCP_FLAG_FIN = 0x01;
/** TCP flag SYN. */
export const TCP_FLAG_SYN = 0x02;
/** TCP flag RST. */
export const TCP_FLAG_RST = 0x04;
/** TCP flag PSH. */
export const TCP_FLAG_PSH = 0x08;
/** TCP flag ACK. */
export const TCP_FLAG_ACK = 0x10;
/** TCP flag URG. */
export const TCP_FLAG_URG = 0x20;

/**
 * The header length in bytes (data offset times 4: 20 to 60) of the TCP header at `l4`.
 *
 * @example
 * const l4 = off + ETH_HLEN + IP4_HLEN;
 * const data = l4 + tcpHdrLen(umem.u8, l4);
 */
export function tcpHdrLen(u8: Uint8Array, l4: number): number {
  return (u8[l4 + TCP_DOFF]! >>> 4) << 2;
}

/**
 * The TCP checksum the segment at `l4` should carry over the IPv4 header at `ip`: pseudo-header, header
 * and data (total length minus the IPv4 header), the checksum field counted as zero.
 *
 * @example
 * const ip = off + ETH_HLEN, l4 = ip + IP4_HLEN;
 * setBe16(umem.u8, l4 + TCP_CSUM, tcp4Cksum(umem.u8, ip, l4));
 */
export function tcp4Cksum(u8: Uint8Array, ip: number, l4: number): number {
  const len = be16(u8, ip + IP4_TOTLEN) - (l4 - ip);
  return ~sumWithout(u8, l4, len, TCP_CSUM, pseudoSum4(u8, ip, IPPROTO_TCP, len)) & 0xffff;
}

/**
 * Whether the TCP segment at `l4` over the IPv4 header at `ip` has a valid checksum.
 *
 * @example
 * const ip = off + ETH_HLEN;
 * const ok = tcp4CksumOk(umem.u8, ip, ip + ip4HdrLen(umem.u8, ip));
 */
export function tcp4CksumOk(u8: Uint8Array, ip: number, l4: number): boolean {
  const len = be16(u8, ip + IP4_TOTLEN) - (l4 - ip);
  return cksumFold(sumWithout(u8, l4, len, TCP_CSUM, pseudoSum4(u8, ip, IPPROTO_TCP, len)) + be16(u8, l4 + TCP_CSUM)) === 0xffff;
}

/**
 * The TCP checksum the segment at `l4` should carry over the IPv6 header at `ip6` (`l4` after any
 * extension headers, whose bytes do not count): pseudo-header with next header 6, header and data.
 *
 * @example
 * const ip6 = off + ETH_HLEN, l4 = ip6 + IP6_HLEN;
 * setBe16(umem.u8, l4 + TCP_CSUM, tcp6Cksum(umem.u8, ip6, l4));
 */
export function tcp6Cksum(u8: Uint8Array, ip6: number, l4: number): number {
  const len = IP6_HLEN + be16(u8, ip6 + IP6_PLEN) - (l4 - ip6);
  return ~sumWithout(u8, l4, len, TCP_CSUM, pseudoSum6(u8, ip6, IPPROTO_TCP, len)) & 0xffff;
}

/**
 * Whether the TCP segment at `l4` over the IPv6 header at `ip6` has a valid checksum.
 *
 * @example
 * const ip6 = off + ETH_HLEN;
 * const ok = tcp6CksumOk(umem.u8, ip6, ip6 + IP6_HLEN);
 */
export function tcp6CksumOk(u8: Uint8Array, ip6: number, l4: number): boolean {
  const len = IP6_HLEN + be16(u8, ip6 + IP6_PLEN) - (l4 - ip6);
  return cksumFold(sumWithout(u8, l4, len, TCP_CSUM, pseudoSum6(u8, ip6, IPPROTO_TCP, len)) + be16(u8, l4 + TCP_CSUM)) === 0xffff;
}

/**
 * Sets the source port of the TCP header at `l4`, keeping its checksum valid (RFC 1624).
 *
 * @example
 * setTcpSport(umem.u8, off + 34, 40000);
 */
export function setTcpSport(u8: Uint8Array, l4: number, port: number): void {
  cksumAdjust16(u8, l4 + TCP_CSUM, be16(u8, l4 + TCP_SPORT), port);
  setBe16(u8, l4 + TCP_SPORT, port);
}

/**
 * Sets the destination port of the TCP header at `l4`, keeping its checksum valid (RFC 1624).
 *
 * @example
 * setTcpDport(umem.u8, off + 34, 8080);
 */
export function setTcpDport(u8: Uint8Array, l4: number, port: number): void {
  cksumAdjust16(u8, l4 + TCP_CSUM, be16(u8, l4 + TCP_DPORT), port);
  setBe16(u8, l4 + TCP_DPORT, port);
}

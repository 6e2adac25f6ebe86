/**
 * UDP header view (RFC 768): offsets, ports, and the checksum over the IPv4 or IPv6 pseudo-header, full
 * and incremental. A UDP checksum of 0 means "none" over IPv4 (a computed 0 is sent as 0xffff) and is
 * invalid over IPv6 (RFC 8200 section 8.1). `l4` is the byte offset of the UDP header in `umem.u8`;
 * nothing here allocates.
 *
 * @example
 * const ip = off + ETH_HLEN, l4 = ip + IP4_HLEN;
 * setBe16(umem.u8, l4 + UDP_CSUM, udp4Cksum(umem.u8, ip, l4));
 */
import { be16, setBe16 } from "./bytes.js";
import { cksumFold, cksumUpdate16, cksumUpdate32, pseudoSum4, pseudoSum6, sumWithout } from "./cksum.js";
import { IP4_HLEN, IP4_PROTO, IPPROTO_UDP, ipv4At, ipv4Payload } from "./ipv4.js";
import { ETH_HLEN } from "./ether.js";

/** Bytes of a UDP header: source port, destination port, length, checksum. */
export const UDP_HLEN = 8;
/** Offset of the source port in a UDP header. */
export const UDP_SPORT = 0;
/** Offset of the destination port in a UDP header. */
export const UDP_DPORT = 2;
/** Offset of the length (header and data) in a UDP header. */
export const UDP_LEN = 4;
/** Offset of the checksum in a UDP header. */
export const UDP_CSUM = 6;

/**
 * The source port of the UDP header at `l4`.
 *
 * @example
 * const sport = udpSport(umem.u8, off + 34);
 */
export function udpSport(u8: Uint8Array, l4: number): number {
  return (u8[l4]! << 8) | u8[l4 + 1]!;
}

/**
 * The destination port of the UDP header at `l4`.
 *
 * @example
 * if (udpDport(umem.u8, off + 34) === 53) console.log("DNS");
 */
export function udpDport(u8: Uint8Array, l4: number): number {
  return (u8[l4 + UDP_DPORT]! << 8) | u8[l4 + UDP_DPORT + 1]!;
}

/**
 * The offset of the UDP header in the untagged Ethernet/IPv4 frame of `len` bytes at `o`, or -1 when the
 * frame is not IPv4/UDP, is shorter than 42 bytes, or its UDP header does not fit in `len`.
 *
 * @example
 * const l4 = udpAt(umem.u8, off, 64);
 * if (l4 >= 0) console.log(be16(umem.u8, l4 + UDP_DPORT));
 */
export function udpAt(u8: Uint8Array, o: number, len: number): number {
  const ip = ipv4At(u8, o, len);
  if (ip < 0 || len < ETH_HLEN + IP4_HLEN + UDP_HLEN || u8[ip + IP4_PROTO] !== IPPROTO_UDP) return -1;
  const l4 = ipv4Payload(u8, ip);
  return l4 + UDP_HLEN <= o + len ? l4 : -1;
}

/**
 * Swaps the source and destination ports of the UDP header at `l4` (TCP's ports sit at the same offsets).
 * The UDP checksum, 0 or not, stays valid.
 *
 * @example
 * const l4 = udpAt(umem.u8, off, 64);
 * if (l4 >= 0) swapUdpPorts(umem.u8, l4);
 */
export function swapUdpPorts(u8: Uint8Array, l4: number): void {
  const a = u8[l4]!, b = u8[l4 + 1]!;
  u8[l4] = u8[l4 + 2]!;
  u8[l4 + 1] = u8[l4 + 3]!;
  u8[l4 + 2] = a;
  u8[l4 + 3] = b;
}

/**
 * The UDP checksum the datagram at `l4` should carry over IPv4 (the header at `ip`): pseudo-header, UDP
 * header and data (the UDP length field's bytes), the checksum field counted as zero; 0xffff for a
 * computed 0. The caller checked that the UDP length fits in the frame.
 *
 * @example
 * const ip = off + ETH_HLEN, l4 = ip + IP4_HLEN;
 * setBe16(umem.u8, l4 + UDP_CSUM, udp4Cksum(umem.u8, ip, l4));
 */
export function udp4Cksum(u8: Uint8Array, ip: number, l4: number): number {
  const len = be16(u8, l4 + UDP_LEN);
  const c = ~sumWithout(u8, l4, len, UDP_CSUM, pseudoSum4(u8, ip, IPPROTO_UDP, len)) & 0xffff;
  return c === 0 ? 0xffff : c;
}

/**
 * Whether the UDP datagram at `l4` over the IPv4 header at `ip` has a valid checksum, or none (0).
 *
 * @example
 * const ip = off + ETH_HLEN;
 * const ok = udp4CksumOk(umem.u8, ip, ip + IP4_HLEN);
 */
export function udp4CksumOk(u8: Uint8Array, ip: number, l4: number): boolean {
  const field = be16(u8, l4 + UDP_CSUM);
  if (field === 0) return true;
  const len = be16(u8, l4 + UDP_LEN);
  return cksumFold(sumWithout(u8, l4, len, UDP_CSUM, pseudoSum4(u8, ip, IPPROTO_UDP, len)) + field) === 0xffff;
}

/**
 * The UDP checksum the datagram at `l4` should carry over the IPv6 header at `ip6` (`l4` after any
 * extension headers): pseudo-header with next header 17, UDP header and data, the field counted as zero;
 * 0xffff for a computed 0.
 *
 * @example
 * const ip6 = off + ETH_HLEN, l4 = ip6 + IP6_HLEN;
 * setBe16(umem.u8, l4 + UDP_CSUM, udp6Cksum(umem.u8, ip6, l4));
 */
export function udp6Cksum(u8: Uint8Array, ip6: number, l4: number): number {
  const len = be16(u8, l4 + UDP_LEN);
  const c = ~sumWithout(u8, l4, len, UDP_CSUM, pseudoSum6(u8, ip6, IPPROTO_UDP, len)) & 0xffff;
  return c === 0 ? 0xffff : c;
}

/**
 * Whether the UDP datagram at `l4` over the IPv6 header at `ip6` has a valid checksum (0, "none", is not
 * valid over IPv6).
 *
 * @example
 * const ip6 = off + ETH_HLEN;
 * const ok = udp6CksumOk(umem.u8, ip6, ip6 + IP6_HLEN);
 */
export function udp6CksumOk(u8: Uint8Array, ip6: number, l4: number): boolean {
  const field = be16(u8, l4 + UDP_CSUM);
  if (field === 0) return false;
  const len = be16(u8, l4 + UDP_LEN);
  return cksumFold(sumWithout(u8, l4, len, UDP_CSUM, pseudoSum6(u8, ip6, IPPROTO_UDP, len)) + field) === 0xffff;
}

/**
 * Updates the UDP checksum of the header at `l4` after a 16-bit word it covers changed from `oldWord` to
 * `newWord` (RFC 1624), leaving a 0 ("no checksum") alone and writing a computed 0 as 0xffff.
 *
 * @example
 * const u8 = umem.u8, l4 = off + 34;
 * udpCksumAdjust16(u8, l4, udpDport(u8, l4), 5353);
 * setBe16(u8, l4 + UDP_DPORT, 5353);
 */
export function udpCksumAdjust16(u8: Uint8Array, l4: number, oldWord: number, newWord: number): void {
  const old = (u8[l4 + UDP_CSUM]! << 8) | u8[l4 + UDP_CSUM + 1]!;
  if (old === 0) return;
  const s = cksumUpdate16(old, oldWord, newWord) || 0xffff;
  setBe16(u8, l4 + UDP_CSUM, s);
}

/**
 * Updates the UDP checksum of the header at `l4` after a 32-bit field it covers (an IPv4 address of the
 * pseudo-header) changed from `oldValue` to `newValue`, leaving a 0 alone and writing a computed 0 as
 * 0xffff.
 *
 * @example
 * const u8 = umem.u8, ip = off + ETH_HLEN;
 * udpCksumAdjust32(u8, ip + IP4_HLEN, be32(u8, ip + IP4_SRC), 0xc0000201);
 * setIp4Src(u8, ip, 0xc0000201);
 */
export function udpCksumAdjust32(u8: Uint8Array, l4: number, oldValue: number, newValue: number): void {
  const old = (u8[l4 + UDP_CSUM]! << 8) | u8[l4 + UDP_CSUM + 1]!;
  if (old === 0) return;
  const s = cksumUpdate32(old, oldValue, newValue) || 0xffff;
  setBe16(u8, l4 + UDP_CSUM, s);
}

/**
 * Sets the source port of the UDP header at `l4`, keeping its checksum valid ({@link udpCksumAdjust16}).
 *
 * @example
 * setUdpSport(umem.u8, off + 34, 40000);
 */
export function setUdpSport(u8: Uint8Array, l4: number, port: number): void {
  udpCksumAdjust16(u8, l4, udpSport(u8, l4), port);
  setBe16(u8, l4 + UDP_SPORT, port);
}

/**
 * Sets the destination port of the UDP header at `l4`, keeping its checksum valid.
 *
 * @example
 * setUdpDport(umem.u8, off + 34, 53);
 */
export function setUdpDport(u8: Uint8Array, l4: number, port: number): void {
  udpCksumAdjust16(u8, l4, udpDport(u8, l4), port);
  setBe16(u8, l4 + UDP_DPORT, port);
}

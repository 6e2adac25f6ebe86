/**
 * The Internet checksum (RFC 1071): one's-complement sums over byte ranges, the IPv4 and IPv6
 * pseudo-headers of UDP, TCP and ICMPv6 (RFC 768, RFC 9293, RFC 8200 section 8.1), and incremental
 * updates after a field changes (RFC 1624 eqn. 3, which never turns a valid sum into the 0x0000/0xffff
 * mistake of RFC 1141). Sums are numbers; nothing here allocates.
 *
 * Conventions: {@link onesSum} returns a folded sum (0 to 0xffff, 0 only for all-zero bytes) that is not
 * complemented; a checksum is `~sum & 0xffff`. The protocol views' `...Cksum` functions count their own
 * checksum field as zero (the value to write), their `...CksumOk` functions do the receiver's check (the
 * sum over the header with the field is 0xffff).
 *
 * @example
 * const ip = off + ETH_HLEN;
 * const ok = cksumFold(onesSum(umem.u8, ip, 20)) === 0xffff; // an IPv4 header without options
 */

/**
 * The one's-complement sum of the big-endian 16-bit words of the `len` bytes at `off` (an odd last byte
 * is the high byte of a word whose low byte is 0), folded to 16 bits and not complemented: 0 only when
 * every byte is 0. Add sums with `+` and fold the total with {@link cksumFold}.
 *
 * @example
 * const sum = onesSum(umem.u8, off + 34, 8); // a UDP header
 */
export function onesSum(u8: Uint8Array, off: number, len: number): number {
  if (len >= WIDE) return onesSumWide(u8, off, len);
  let s = 0;
  const last = off + len - 1;
  let i = off;
  for (; i < last; i += 2) {
    s += (u8[i]! << 8) | u8[i + 1]!;
    if (s >= 0x40000000) s = (s & 0xffff) + (s >>> 16);
  }
  if (i === last) s += u8[i]! << 8;
  s = (s & 0xffff) + (s >>> 16);
  return (s & 0xffff) + (s >>> 16);
}

/** Ranges at least this long are summed four bytes a load. */
const WIDE = 64;
let last8: Uint8Array | null = null;
let lastDv: DataView | null = null;
let prev8: Uint8Array | null = null;
let prevDv: DataView | null = null;

/** A DataView over the same bytes as `u8`; the last two are kept (a stack sums over one UMEM). */
function viewOf(u8: Uint8Array): DataView {
  if (u8 === last8) return lastDv!;
  if (u8 === prev8) return prevDv!;
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  prev8 = last8;
  prevDv = lastDv;
  last8 = u8;
  lastDv = dv;
  return dv;
}

/**
 * {@link onesSum} four bytes a load: each 32-bit little-endian word is the sum (modulo 0xffff, as
 * 65536 = 1) of two byte-swapped 16-bit words of the range, so the total, folded, is the range's sum
 * byte-swapped (RFC 1071 section 2(B): the sum is byte-order independent); swapped back at the end. A
 * double holds the total exactly (2^32 per word, < 2^47 for any 64 KiB range).
 */
function onesSumWide(u8: Uint8Array, off: number, len: number): number {
  const dv = viewOf(u8);
  const end = Math.min(off + len, u8.length); // bytes past the view count as zero, as in the byte loop
  const last = end - 16;
  let s = 0;
  let i = off;
  for (; i <= last; i += 16) s += dv.getUint32(i, true) + dv.getUint32(i + 4, true) + dv.getUint32(i + 8, true) + dv.getUint32(i + 12, true);
  for (; i + 4 <= end; i += 4) s += dv.getUint32(i, true);
  if (end - i >= 2) {
    s += u8[i]! | (u8[i + 1]! << 8);
    i += 2;
  }
  if (i < end) s += u8[i]!;
  const f = cksumFold(s);
  return ((f & 0xff) << 8) | (f >>> 8);
}

/**
 * Folds a sum of 16-bit words (any integer from 0 to 2^53) to 16 bits with end-around carries.
 *
 * @example
 * const sum = cksumFold(onesSum(umem.u8, off, 10) + onesSum(umem.u8, off + 12, 8)); // 20 bytes but bytes 10-11
 */
export function cksumFold(sum: number): number {
  let s = sum;
  while (s > 0xffffffff) {
    const hi = Math.floor(s / 0x10000);
    s = s - hi * 0x10000 + hi;
  }
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return (s & 0xffff) + (s >>> 16);
}

/**
 * The Internet checksum of the `len` bytes at `off`: `~onesSum & 0xffff`. Over a header whose checksum
 * field is filled in, 0 when the field is right; over a header whose field is 0, the value to write.
 *
 * @example
 * const bad = cksum(umem.u8, off + ETH_HLEN, 20) !== 0; // an IPv4 header without options
 */
export function cksum(u8: Uint8Array, off: number, len: number): number {
  return ~onesSum(u8, off, len) & 0xffff;
}

/**
 * The Internet checksum after one 16-bit word it covers changes from `oldWord` to `newWord`, without
 * summing the rest again: RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m').
 *
 * @example
 * // The IPv4 TTL (with the protocol, one word) becomes 64:
 * const u8 = umem.u8, ip = off + ETH_HLEN;
 * const sum = cksumUpdate16(be16(u8, ip + IP4_CSUM), be16(u8, ip + IP4_TTL), (64 << 8) | u8[ip + IP4_PROTO]!);
 */
export function cksumUpdate16(oldSum: number, oldWord: number, newWord: number): number {
  let sum = (~oldSum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * The Internet checksum after a 32-bit field it covers (an IPv4 address, a TCP sequence number) changes
 * from `oldValue` to `newValue` (RFC 1624 eqn. 3 over both of its words).
 *
 * @example
 * // A NAT rewrites the IPv4 source address to 192.0.2.1; the TCP checksum covers it (pseudo-header):
 * const u8 = umem.u8, ip = off + ETH_HLEN, l4 = ip + 20;
 * const sum = cksumUpdate32(be16(u8, l4 + TCP_CSUM), be32(u8, ip + IP4_SRC), 0xc0000201);
 */
export function cksumUpdate32(oldSum: number, oldValue: number, newValue: number): number {
  let sum = (~oldSum & 0xffff) + (~oldValue >>> 16) + (~oldValue & 0xffff) + (newValue >>> 16) + (newValue & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Updates the checksum field at `at` in place after a 16-bit word it covers changed from `oldWord` to
 * `newWord` ({@link cksumUpdate16}); the caller writes the word itself.
 *
 * @example
 * const u8 = umem.u8, l4 = off + ETH_HLEN + 20;
 * cksumAdjust16(u8, l4 + TCP_CSUM, be16(u8, l4 + TCP_DPORT), 8080);
 * setBe16(u8, l4 + TCP_DPORT, 8080);
 */
export function cksumAdjust16(u8: Uint8Array, at: number, oldWord: number, newWord: number): void {
  const s = cksumUpdate16((u8[at]! << 8) | u8[at + 1]!, oldWord, newWord);
  u8[at] = s >>> 8;
  u8[at + 1] = s & 0xff;
}

/**
 * Updates the checksum field at `at` in place after a 32-bit field it covers changed from `oldValue` to
 * `newValue` ({@link cksumUpdate32}); the caller writes the field itself.
 *
 * @example
 * const u8 = umem.u8, ip = off + ETH_HLEN;
 * cksumAdjust32(u8, ip + 20 + TCP_CSUM, be32(u8, ip + IP4_DST), 0x0a000002); // before setIp4Dst
 */
export function cksumAdjust32(u8: Uint8Array, at: number, oldValue: number, newValue: number): void {
  const s = cksumUpdate32((u8[at]! << 8) | u8[at + 1]!, oldValue, newValue);
  u8[at] = s >>> 8;
  u8[at + 1] = s & 0xff;
}

/**
 * The folded sum of the IPv4 pseudo-header (RFC 768, RFC 9293 section 3.1) of the header at `ip`: source
 * and destination address, protocol `proto`, upper-layer length `l4len`.
 *
 * @example
 * const ip = off + ETH_HLEN;
 * const sum = cksumFold(pseudoSum4(umem.u8, ip, IPPROTO_UDP, 8) + onesSum(umem.u8, ip + 20, 8));
 */
export function pseudoSum4(u8: Uint8Array, ip: number, proto: number, l4len: number): number {
  return cksumFold(onesSum(u8, ip + 12, 8) + proto + l4len);
}

/**
 * The folded sum of the IPv6 pseudo-header (RFC 8200 section 8.1) of the header at `ip6`: source and
 * destination address, upper-layer length `l4len` (32 bits), next header `proto` (the upper-layer
 * protocol, after any extension headers).
 *
 * @example
 * const ip6 = off + ETH_HLEN;
 * const sum = pseudoSum6(umem.u8, ip6, IPPROTO_ICMPV6, 8);
 */
export function pseudoSum6(u8: Uint8Array, ip6: number, proto: number, l4len: number): number {
  return cksumFold(onesSum(u8, ip6 + 8, 32) + proto + (l4len >>> 16) + (l4len & 0xffff));
}

/**
 * The folded sum of the `len` bytes at `l4` with the 16-bit checksum field at `l4 + csumAt` counted as
 * zero (`csumAt` even, as every checksum field is), plus `init` (a pseudo-header sum or 0).
 *
 * @example
 * const l4 = off + ETH_HLEN + 20;
 * const sum = sumWithout(umem.u8, l4, 8, 6, 0); // a UDP header, its checksum left out
 */
export function sumWithout(u8: Uint8Array, l4: number, len: number, csumAt: number, init: number): number {
  return cksumFold(init + onesSum(u8, l4, csumAt) + onesSum(u8, l4 + csumAt + 2, len - csumAt - 2));
}

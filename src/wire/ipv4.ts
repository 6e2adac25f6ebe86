/**
 * IPv4 header view (RFC 791): offsets, field getters and setters that keep the header checksum valid
 * (RFC 1624 incremental updates), the RFC 1812 section 5.2.2 validity check a router makes before
 * forwarding, and the TTL decrement. Over a frame's bytes in the UMEM (`ip` is the byte offset of the IPv4
 * header in `umem.u8`); nothing here allocates.
 *
 * @example
 * const ip = off + ETH_HLEN;
 * if (ip4HeaderOk(umem.u8, ip, 64 - ETH_HLEN) && umem.u8[ip + IP4_TTL]! > 1) ip4DecTtl(umem.u8, ip);
 */
import { be16, be32, setBe32 } from "./bytes.js";
import { cksumFold, cksumUpdate16, cksumUpdate32, onesSum } from "./cksum.js";
import { ETH_HLEN, ETH_TYPE } from "./ether.js";

/** Bytes of an IPv4 header without options (IHL 5). */
export const IP4_HLEN = 20;
/** Offset of the version (high 4 bits) and header length in 32-bit words (IHL, low 4 bits). */
export const IP4_VER_IHL = 0;
/** Offset of the type of service (DSCP and ECN). */
export const IP4_TOS = 1;
/** Offset of the total length (header and payload, 16 bits). */
export const IP4_TOTLEN = 2;
/** Offset of the identification (16 bits). */
export const IP4_ID = 4;
/** Offset of the flags (3 bits) and fragment offset (13 bits, in 8-byte units). */
export const IP4_FRAG = 6;
/** Offset of the TTL in an IPv4 header (the protocol follows it in the same 16-bit word). */
export const IP4_TTL = 8;
/** Offset of the protocol in an IPv4 header. */
export const IP4_PROTO = 9;
/** Offset of the header checksum in an IPv4 header. */
export const IP4_CSUM = 10;
/** Offset of the source address in an IPv4 header (the destination follows at 16). */
export const IP4_SRC = 12;
/** Offset of the destination address in an IPv4 header. */
export const IP4_DST = 16;
/** The Don't Fragment flag in the 16-bit word at {@link IP4_FRAG}. */
export const IP4_DF = 0x4000;
/** The More Fragments flag in the 16-bit word at {@link IP4_FRAG}. */
export const IP4_MF = 0x2000;
/** The fragment offset (8-byte units) in the 16-bit word at {@link IP4_FRAG}. */
export const IP4_OFFMASK = 0x1fff;
/** IP protocol number of ICMP. */
export const IPPROTO_ICMP = 1;
/** IP protocol number of TCP. */
export const IPPROTO_TCP = 6;
/** IP protocol number of UDP. */
export const IPPROTO_UDP = 17;
/** IP protocol number of SCTP. */
export const IPPROTO_SCTP = 132;

/**
 * The header length in bytes of the IPv4 header at `ip` (IHL times 4: 20 to 60).
 *
 * @example
 * const l4 = off + ETH_HLEN + ip4HdrLen(umem.u8, off + ETH_HLEN);
 */
export function ip4HdrLen(u8: Uint8Array, ip: number): number {
  return (u8[ip]! & 0x0f) << 2;
}

/**
 * The total length (header and payload) of the IPv4 header at `ip`.
 *
 * @example
 * const payload = ip4TotalLen(umem.u8, off + ETH_HLEN) - IP4_HLEN;
 */
export function ip4TotalLen(u8: Uint8Array, ip: number): number {
  return (u8[ip + IP4_TOTLEN]! << 8) | u8[ip + IP4_TOTLEN + 1]!;
}

/**
 * The source address of the IPv4 header at `ip`, as an unsigned 32-bit number (10.0.0.1 -> 0x0a000001).
 *
 * @example
 * const src = ip4Src(umem.u8, off + ETH_HLEN);
 */
export function ip4Src(u8: Uint8Array, ip: number): number {
  return be32(u8, ip + IP4_SRC);
}

/**
 * The destination address of the IPv4 header at `ip`, as an unsigned 32-bit number: the key of a route
 * lookup.
 *
 * @example
 * const dst = ip4Dst(umem.u8, off + ETH_HLEN);
 */
export function ip4Dst(u8: Uint8Array, ip: number): number {
  return be32(u8, ip + IP4_DST);
}

/**
 * Whether the IPv4 header at `ip` is a fragment (More Fragments set or a fragment offset): a first
 * fragment too, though it carries the layer 4 header.
 *
 * @example
 * if (ip4IsFragment(umem.u8, off + ETH_HLEN)) console.log("reassembly needed");
 */
export function ip4IsFragment(u8: Uint8Array, ip: number): boolean {
  return (be16(u8, ip + IP4_FRAG) & (IP4_MF | IP4_OFFMASK)) !== 0;
}

/**
 * The header checksum the IPv4 header at `ip` should carry: over its IHL times 4 bytes with the checksum
 * field counted as zero (RFC 791).
 *
 * @example
 * const ip = off + ETH_HLEN;
 * setBe16(umem.u8, ip + IP4_CSUM, ip4Cksum(umem.u8, ip));
 */
export function ip4Cksum(u8: Uint8Array, ip: number): number {
  const hl = (u8[ip]! & 0x0f) << 2;
  return ~cksumFold(onesSum(u8, ip, IP4_CSUM) + onesSum(u8, ip + IP4_CSUM + 2, hl - IP4_CSUM - 2)) & 0xffff;
}

/**
 * Whether a router may forward the IPv4 header at `ip`, of which `avail` bytes are in the frame (the
 * frame's length minus the layer 2 header): the checks of RFC 1812 section 5.2.2: at least 20 bytes,
 * version 4, IHL at least 5, the header within `avail`, a total length of at least IHL times 4 and at most
 * `avail`, and a valid header checksum. Reads nothing past `ip + avail`.
 *
 * @example
 * const ip = off + ETH_HLEN;
 * if (!ip4HeaderOk(umem.u8, ip, 60 - ETH_HLEN)) console.log("drop");
 */
export function ip4HeaderOk(u8: Uint8Array, ip: number, avail: number): boolean {
  if (avail < IP4_HLEN) return false;
  const vihl = u8[ip]!;
  const hl = (vihl & 0x0f) << 2;
  if (vihl >>> 4 !== 4 || hl < IP4_HLEN || hl > avail) return false;
  const tot = (u8[ip + IP4_TOTLEN]! << 8) | u8[ip + IP4_TOTLEN + 1]!;
  if (tot < hl || tot > avail) return false;
  return onesSum(u8, ip, hl) === 0xffff;
}

/**
 * Decrements the TTL of the IPv4 header at `ip` and updates its checksum incrementally (RFC 1624). The
 * caller checks that the TTL is above 1 first (RFC 1812 section 5.3.1: a router drops the packet then).
 *
 * @example
 * const u8 = umem.u8, ip = off + ETH_HLEN;
 * if (u8[ip + IP4_TTL]! > 1) ip4DecTtl(u8, ip);
 */
export function ip4DecTtl(u8: Uint8Array, ip: number): void {
  const w = (u8[ip + IP4_TTL]! << 8) | u8[ip + IP4_PROTO]!;
  const s = cksumUpdate16((u8[ip + IP4_CSUM]! << 8) | u8[ip + IP4_CSUM + 1]!, w, w - 0x100);
  u8[ip + IP4_TTL] = (w >>> 8) - 1;
  u8[ip + IP4_CSUM] = s >>> 8;
  u8[ip + IP4_CSUM + 1] = s & 0xff;
}

/**
 * Sets the TTL of the IPv4 header at `ip` and updates its header checksum incrementally (RFC 1624).
 *
 * @example
 * setIp4Ttl(umem.u8, off + ETH_HLEN, 64);
 */
export function setIp4Ttl(u8: Uint8Array, ip: number, ttl: number): void {
  const proto = u8[ip + IP4_PROTO]!;
  const s = cksumUpdate16(be16(u8, ip + IP4_CSUM), be16(u8, ip + IP4_TTL), (ttl << 8) | proto);
  u8[ip + IP4_CSUM] = s >>> 8;
  u8[ip + IP4_CSUM + 1] = s & 0xff;
  u8[ip + IP4_TTL] = ttl;
}

/**
 * Sets the source address of the IPv4 header at `ip` (an unsigned 32-bit number) and updates its header
 * checksum incrementally. A UDP or TCP checksum covers the address too (pseudo-header): update it with
 * {@link cksumAdjust32} (or {@link udpCksumAdjust32}) before, from the old address.
 *
 * @example
 * setIp4Src(umem.u8, off + ETH_HLEN, 0xc0000201); // 192.0.2.1
 */
export function setIp4Src(u8: Uint8Array, ip: number, addr: number): void {
  const s = cksumUpdate32(be16(u8, ip + IP4_CSUM), be32(u8, ip + IP4_SRC), addr);
  u8[ip + IP4_CSUM] = s >>> 8;
  u8[ip + IP4_CSUM + 1] = s & 0xff;
  setBe32(u8, ip + IP4_SRC, addr);
}

/**
 * Sets the destination address of the IPv4 header at `ip` and updates its header checksum incrementally
 * (see {@link setIp4Src} for the layer 4 checksum).
 *
 * @example
 * setIp4Dst(umem.u8, off + ETH_HLEN, 0x0a000002); // 10.0.0.2
 */
export function setIp4Dst(u8: Uint8Array, ip: number, addr: number): void {
  const s = cksumUpdate32(be16(u8, ip + IP4_CSUM), be32(u8, ip + IP4_DST), addr);
  u8[ip + IP4_CSUM] = s >>> 8;
  u8[ip + IP4_CSUM + 1] = s & 0xff;
  setBe32(u8, ip + IP4_DST, addr);
}

/**
 * Swaps the source and destination addresses of the IPv4 header at `ip`. The header checksum stays valid
 * (a one's-complement sum does not depend on the order of its words), and so does a UDP or TCP checksum.
 *
 * @example
 * swapIp4(umem.u8, off + ETH_HLEN);
 */
export function swapIp4(u8: Uint8Array, ip: number): void {
  for (let k = 0; k < 4; k++) {
    const t = u8[ip + IP4_SRC + k]!;
    u8[ip + IP4_SRC + k] = u8[ip + IP4_DST + k]!;
    u8[ip + IP4_DST + k] = t;
  }
}

/**
 * The offset of the IPv4 header of the untagged Ethernet frame of `len` bytes at `o` (`o + ETH_HLEN`), or
 * -1 when it is not IPv4: shorter than 34 bytes, another EtherType, or IP version not 4. The header length
 * field (IHL) is not checked: {@link udpAt} checks what it needs, {@link ip4HeaderOk} everything.
 *
 * @example
 * const ip = ipv4At(umem.u8, off, 60);
 * if (ip >= 0) console.log(umem.u8[ip + IP4_PROTO]);
 */
export function ipv4At(u8: Uint8Array, o: number, len: number): number {
  const ip = o + ETH_HLEN;
  return len >= ETH_HLEN + IP4_HLEN && u8[o + ETH_TYPE] === 0x08 && u8[o + ETH_TYPE + 1] === 0x00 && u8[ip]! >> 4 === 4 ? ip : -1;
}

/**
 * The offset of the layer 4 header after the IPv4 header at `ip` (its IHL times 4 bytes).
 *
 * @example
 * const l4 = ipv4Payload(umem.u8, off + ETH_HLEN);
 */
export function ipv4Payload(u8: Uint8Array, ip: number): number {
  return ip + ((u8[ip]! & 0x0f) << 2);
}

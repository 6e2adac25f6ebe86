/**
 * Ethernet (IEEE 802.3), IPv4 (RFC 791) and UDP (RFC 768) header offsets and in-place accessors over a
 * frame's bytes in the UMEM (`umem.u8` at the frame's offset): what a worker's hot loop reads and rewrites.
 * Nothing here allocates.
 *
 * @example
 * const ip = off + ETH_HLEN;
 * const ttl = umem.u8[ip + IP4_TTL]!;
 */

/** Bytes of a MAC address. */
export const ETH_ALEN = 6;
/** Bytes of an Ethernet header: destination MAC, source MAC, EtherType. */
export const ETH_HLEN = 14;
/** Offset of the EtherType in an untagged Ethernet header. */
export const ETH_TYPE = 12;
/** The EtherType of IPv4. */
export const ETHERTYPE_IPV4 = 0x0800;
/** The EtherType (TPID) of an IEEE 802.1Q VLAN tag. */
export const ETHERTYPE_VLAN = 0x8100;
/** Bytes of an IPv4 header without options. */
export const IP4_HLEN = 20;
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
/** Bytes of a UDP header: source port, destination port, length, checksum. */
export const UDP_HLEN = 8;
/** IP protocol number of ICMP. */
export const IPPROTO_ICMP = 1;
/** IP protocol number of TCP. */
export const IPPROTO_TCP = 6;
/** IP protocol number of UDP. */
export const IPPROTO_UDP = 17;

/**
 * The big-endian 16-bit word at `o`.
 *
 * @example
 * const etherType = be16(umem.u8, off + ETH_TYPE);
 */
export function be16(u8: Uint8Array, o: number): number {
  return (u8[o]! << 8) | u8[o + 1]!;
}

/**
 * The big-endian 32-bit word at `o`, unsigned (an IPv4 address as a number).
 *
 * @example
 * const src = be32(umem.u8, off + ETH_HLEN + IP4_SRC); // 10.0.0.1 -> 0x0a000001
 */
export function be32(u8: Uint8Array, o: number): number {
  return ((u8[o]! << 24) | (u8[o + 1]! << 16) | (u8[o + 2]! << 8) | u8[o + 3]!) >>> 0;
}

/**
 * Writes `v` (16 bits) big-endian at `o`.
 *
 * @example
 * setBe16(umem.u8, off + ETH_TYPE, ETHERTYPE_IPV4);
 */
export function setBe16(u8: Uint8Array, o: number, v: number): void {
  u8[o] = (v >>> 8) & 0xff;
  u8[o + 1] = v & 0xff;
}

/**
 * The offset of the IPv4 header of the untagged Ethernet frame of `len` bytes at `o` (`o + ETH_HLEN`), or
 * -1 when it is not IPv4: shorter than 34 bytes, another EtherType, or IP version not 4. The header length
 * field (IHL) is not checked: {@link udpAt} checks what it needs.
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
  return ip + (u8[ip]! & 0x0f) * 4;
}

/**
 * The offset of the UDP header in the untagged Ethernet/IPv4 frame of `len` bytes at `o`, or -1 when the
 * frame is not IPv4/UDP, is shorter than 42 bytes, or its UDP header does not fit in `len`.
 *
 * @example
 * const l4 = udpAt(umem.u8, off, 64);
 * if (l4 >= 0) console.log(be16(umem.u8, l4 + 2)); // the destination port
 */
export function udpAt(u8: Uint8Array, o: number, len: number): number {
  const ip = ipv4At(u8, o, len);
  if (ip < 0 || len < ETH_HLEN + IP4_HLEN + UDP_HLEN || u8[ip + IP4_PROTO] !== IPPROTO_UDP) return -1;
  const l4 = ipv4Payload(u8, ip);
  return l4 + UDP_HLEN <= o + len ? l4 : -1;
}

function swap(u8: Uint8Array, a: number, b: number, len: number): void {
  for (let k = 0; k < len; k++) {
    const t = u8[a + k]!;
    u8[a + k] = u8[b + k]!;
    u8[b + k] = t;
  }
}

/**
 * Swaps the destination and source MAC addresses of the Ethernet frame at `o` (a reflector's rewrite).
 *
 * @example
 * swapMac(umem.u8, off);
 */
export function swapMac(u8: Uint8Array, o: number): void {
  swap(u8, o, o + ETH_ALEN, ETH_ALEN);
}

/**
 * Swaps the source and destination addresses of the IPv4 header at `ip`. The header checksum stays valid
 * (a one's-complement sum does not depend on the order of its words), and so does a UDP or TCP checksum.
 *
 * @example
 * swapIp4(umem.u8, off + ETH_HLEN);
 */
export function swapIp4(u8: Uint8Array, ip: number): void {
  swap(u8, ip + IP4_SRC, ip + IP4_DST, 4);
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
  swap(u8, l4, l4 + 2, 2);
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
 * Sets the TTL of the IPv4 header at `ip` and updates its header checksum incrementally ({@link cksumUpdate16}).
 *
 * @example
 * setIp4Ttl(umem.u8, off + ETH_HLEN, 64);
 */
export function setIp4Ttl(u8: Uint8Array, ip: number, ttl: number): void {
  const proto = u8[ip + IP4_PROTO]!;
  setBe16(u8, ip + IP4_CSUM, cksumUpdate16(be16(u8, ip + IP4_CSUM), be16(u8, ip + IP4_TTL), (ttl << 8) | proto));
  u8[ip + IP4_TTL] = ttl;
}

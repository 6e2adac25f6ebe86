/**
 * Ethernet II (IEEE 802.3) header view: offsets, EtherTypes, MAC copies and swaps, and the offset of the
 * layer 3 header after up to two 802.1Q/802.1ad tags. Everything works on a frame's bytes in the UMEM
 * (`umem.u8` at the frame's offset) and allocates nothing.
 *
 * @example
 * const ip = l3Offset(umem.u8, off, 64);
 * if (ip >= 0 && be16(umem.u8, ip - 2) === ETHERTYPE_IPV4) console.log("IPv4 at", ip);
 */

/** Bytes of a MAC address. */
export const ETH_ALEN = 6;
/** Bytes of an Ethernet header: destination MAC, source MAC, EtherType. */
export const ETH_HLEN = 14;
/** Offset of the destination MAC in an Ethernet header. */
export const ETH_DST = 0;
/** Offset of the source MAC in an Ethernet header. */
export const ETH_SRC = 6;
/** Offset of the EtherType in an untagged Ethernet header. */
export const ETH_TYPE = 12;
/** The EtherType of IPv4. */
export const ETHERTYPE_IPV4 = 0x0800;
/** The EtherType of ARP (RFC 826). */
export const ETHERTYPE_ARP = 0x0806;
/** The EtherType (TPID) of an IEEE 802.1Q VLAN tag. */
export const ETHERTYPE_VLAN = 0x8100;
/** The EtherType (TPID) of an IEEE 802.1ad service tag (the outer tag of QinQ). */
export const ETHERTYPE_QINQ = 0x88a8;
/** The EtherType of IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;

/**
 * The EtherType of the untagged Ethernet header at `o` (a TPID when the frame is tagged).
 *
 * @example
 * if (etherType(umem.u8, off) === ETHERTYPE_ARP) console.log("ARP");
 */
export function etherType(u8: Uint8Array, o: number): number {
  return (u8[o + ETH_TYPE]! << 8) | u8[o + ETH_TYPE + 1]!;
}

/**
 * Copies the 6-byte MAC address at `src[sOff]` to `dst[dOff]` (a next hop's address into a frame, or a
 * port's own as the source).
 *
 * @example
 * const nextHop = new Uint8Array([2, 0, 0, 0, 0, 2]);
 * copyMac(umem.u8, off + ETH_DST, nextHop, 0);
 */
export function copyMac(dst: Uint8Array, dOff: number, src: Uint8Array, sOff: number): void {
  dst[dOff] = src[sOff]!;
  dst[dOff + 1] = src[sOff + 1]!;
  dst[dOff + 2] = src[sOff + 2]!;
  dst[dOff + 3] = src[sOff + 3]!;
  dst[dOff + 4] = src[sOff + 4]!;
  dst[dOff + 5] = src[sOff + 5]!;
}

/**
 * Swaps the destination and source MAC addresses of the Ethernet frame at `o` (a reflector's rewrite).
 *
 * @example
 * swapMac(umem.u8, off);
 */
export function swapMac(u8: Uint8Array, o: number): void {
  for (let k = 0; k < ETH_ALEN; k++) {
    const t = u8[o + k]!;
    u8[o + k] = u8[o + ETH_ALEN + k]!;
    u8[o + ETH_ALEN + k] = t;
  }
}

/**
 * Whether the MAC address at `o` is a group address (multicast or broadcast: the I/G bit, the low bit of
 * its first byte).
 *
 * @example
 * if (macIsMulticast(umem.u8, off + ETH_DST)) console.log("not for one host");
 */
export function macIsMulticast(u8: Uint8Array, o: number): boolean {
  return (u8[o]! & 1) !== 0;
}

/**
 * The offset of the layer 3 header of the Ethernet frame of `len` bytes at `o`: after the 14-byte header
 * and up to two VLAN tags (TPID 0x8100 or 0x88a8), so `o + 14`, `o + 18` or `o + 22`. Its EtherType is
 * the 16-bit word just before it (`be16(u8, l3 - 2)`). -1 when the headers do not fit in `len` or there
 * are more than two tags. Reads nothing past `o + len`.
 *
 * @example
 * const l3 = l3Offset(umem.u8, off, 60);
 * if (l3 >= 0 && be16(umem.u8, l3 - 2) === ETHERTYPE_IPV6) console.log("IPv6");
 */
export function l3Offset(u8: Uint8Array, o: number, len: number): number {
  if (len < ETH_HLEN) return -1;
  let p = o + ETH_HLEN;
  const end = o + len;
  for (let tags = 0; ; tags++) {
    const t = (u8[p - 2]! << 8) | u8[p - 1]!;
    if (t !== ETHERTYPE_VLAN && t !== ETHERTYPE_QINQ) return p;
    if (tags === 2 || p + 4 > end) return -1;
    p += 4;
  }
}

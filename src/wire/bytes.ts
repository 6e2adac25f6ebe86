/**
 * Big-endian (network order) 8/16/32-bit fields of a frame in the UMEM (`umem.u8` at the frame's offset):
 * the accessors every header view of this folder is written with. Nothing here allocates.
 *
 * @example
 * const etherType = be16(umem.u8, off + 12);
 */

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
 * Writes `v` (32 bits, signed or unsigned) big-endian at `o`.
 *
 * @example
 * setBe32(umem.u8, off + ETH_HLEN + IP4_DST, 0x0a000002); // 10.0.0.2
 */
export function setBe32(u8: Uint8Array, o: number, v: number): void {
  u8[o] = (v >>> 24) & 0xff;
  u8[o + 1] = (v >>> 16) & 0xff;
  u8[o + 2] = (v >>> 8) & 0xff;
  u8[o + 3] = v & 0xff;
}

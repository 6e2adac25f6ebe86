/**
 * IEEE 802.1Q VLAN tags inserted into and removed from a frame in place: the 12 bytes of MAC addresses move
 * 4 bytes (copyWithin, no allocation), into the frame's headroom or out of it. The caller moves the frame's
 * start and length with them (`Pktmbuf.prepend`/`adj`, or `mbufs.dataOff`/`dataLen` by VLAN_HLEN).
 *
 * @example
 * const o = vlanInsert(umem.u8, off, 100);   // off - 4: the tagged frame starts there, 4 bytes longer
 * vlanRemove(umem.u8, o);                    // off again: the untagged frame
 */
import { ETH_HLEN, ETH_TYPE, ETHERTYPE_VLAN } from "./ether.js";

/** Bytes of an 802.1Q tag: TPID (0x8100) and TCI (PCP, DEI, VID). */
export const VLAN_HLEN = 4;

/**
 * Inserts an 802.1Q tag with TCI `tci` (PCP 0, DEI 0 when it is just a VID) into the Ethernet frame at `o`,
 * in the 4 bytes of headroom before it; returns the tagged frame's offset (`o - 4`).
 *
 * @example
 * const tagged = vlanInsert(umem.u8, off, 100); // the caller adds 4 to the frame's length
 */
export function vlanInsert(u8: Uint8Array, o: number, tci: number): number {
  const t = o - VLAN_HLEN;
  u8.copyWithin(t, o, o + ETH_TYPE);
  u8[t + ETH_TYPE] = ETHERTYPE_VLAN >>> 8;
  u8[t + ETH_TYPE + 1] = ETHERTYPE_VLAN & 0xff;
  u8[t + ETH_TYPE + 2] = (tci >>> 8) & 0xff;
  u8[t + ETH_TYPE + 3] = tci & 0xff;
  return t;
}

/**
 * Removes the 802.1Q tag of the frame at `o` (check it with {@link vlanId} first); returns the untagged
 * frame's offset (`o + 4`).
 *
 * @example
 * const untagged = vlanRemove(umem.u8, off); // the caller takes 4 from the frame's length
 */
export function vlanRemove(u8: Uint8Array, o: number): number {
  u8.copyWithin(o + VLAN_HLEN, o, o + ETH_TYPE);
  return o + VLAN_HLEN;
}

/**
 * The VLAN id (12 bits of the TCI) of the 802.1Q-tagged frame of `len` bytes at `o`, or -1 when the frame
 * has no 802.1Q tag (shorter than 18 bytes or another EtherType).
 *
 * @example
 * if (vlanId(umem.u8, off, 64) === 100) vlanRemove(umem.u8, off);
 */
export function vlanId(u8: Uint8Array, o: number, len: number): number {
  if (len < ETH_HLEN + VLAN_HLEN || u8[o + ETH_TYPE] !== 0x81 || u8[o + ETH_TYPE + 1] !== 0x00) return -1;
  return ((u8[o + ETH_TYPE + 2]! & 0x0f) << 8) | u8[o + ETH_TYPE + 3]!;
}

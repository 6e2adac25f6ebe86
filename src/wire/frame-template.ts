/**
 * Copying a frame template into a packet buffer, as tx-only generators do per packet: 32-bit stores when
 * the destination offset is 4-byte aligned (the usual case: frames start at the 256-byte headroom), byte
 * stores otherwise. The template's 32-bit view is padded to whole words, so an aligned copy may write up
 * to 3 bytes of zero padding past `len` (inside the frame: callers size frames for it).
 *
 * @example
 * const t8 = udpFrame({ size: 61 });
 * const t32 = new Uint32Array(t8.buffer);   // udpFrame pads its buffer (not t8.byteLength) to whole words
 * copyTemplate(umem.u8, umem.u32, off, t32, t8, 61);
 */
export function copyTemplate(u8: Uint8Array, u32: Uint32Array, o: number, t32: Uint32Array, t8: Uint8Array, len: number): void {
  if ((o & 3) === 0) {
    const w = o >>> 2;
    const words = t32.length;
    for (let j = 0; j < words; j++) u32[w + j] = t32[j]!;
  } else {
    for (let j = 0; j < len; j++) u8[o + j] = t8[j]!;
  }
}

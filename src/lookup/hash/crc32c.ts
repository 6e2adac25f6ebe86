/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78) as DPDK's `rte_hash_crc` computes it: the value the
 * SSE4.2 `crc32` instruction and DPDK's software tables give, with the caller's initial value and no
 * final inversion (a hash, not the iSCSI checksum: `~crc32c(data, 0xffffffff)` is RFC 3720's CRC). Bytes
 * are taken in memory order, so `rte_hash_crc_4byte(x, init)` of a little-endian word `x` equals
 * {@link crc32c} over its four bytes, and the 8/4/2/1-byte steps `rte_hash_crc` chains give the same
 * value as one pass over the bytes. (Older DPDK releases zero-padded a short tail to 4 or then 8 bytes
 * instead, which gives other values for lengths that are not a multiple of 4; these are current DPDK's.)
 *
 * Software slicing-by-4 tables (4 x 256 words), built on the first call, not at import. Hot path: no
 * allocation. Results are the 32 CRC bits as a signed 32-bit integer (`crc >>> 0` is DPDK's `uint32_t`
 * value), which never allocates, as the jhash functions do.
 *
 * @example
 * const data = new TextEncoder().encode("123456789");
 * console.log((~crc32c(data, 0, 9, 0xffffffff) >>> 0).toString(16)); // "e3069283", the CRC-32C check value
 */

/** Table k maps a byte to its CRC contribution k bytes further on (slicing-by-4), all in one array. */
let T: Int32Array | null = null;

function tables(): Int32Array {
  const t = new Int32Array(4 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 4; k++) {
      const p = t[(k - 1) * 256 + i]!;
      t[k * 256 + i] = (p >>> 8) ^ t[p & 0xff]!;
    }
  }
  T = t;
  return t;
}

/** One little-endian 32-bit word into the running CRC `c`. */
function word(t: Int32Array, c: number, w: number): number {
  c ^= w;
  return t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
}

/**
 * `rte_hash_crc(data, data_len, init_val)`: CRC32C of `len` bytes of `u8` from `off`, starting from `init`.
 *
 * @example
 * const h = crc32c(umem.u8, off + 26, 12, 0); // IPv4 source, destination and ports of a frame
 */
export function crc32c(u8: Uint8Array, off: number, len: number, init: number): number {
  const t = T ?? tables();
  let c = init | 0;
  let o = off;
  const end4 = off + (len & ~3);
  while (o < end4) {
    c = word(t, c, u8[o]! | (u8[o + 1]! << 8) | (u8[o + 2]! << 16) | (u8[o + 3]! << 24));
    o += 4;
  }
  const end = off + len;
  while (o < end) {
    c = t[(c ^ u8[o]!) & 0xff]! ^ (c >>> 8);
    o++;
  }
  return c | 0;
}

/**
 * `rte_hash_crc_1byte(data, init_val)`.
 *
 * @example
 * const h = crc32c1(0x11, 0);
 */
export function crc32c1(data: number, init: number): number {
  const t = T ?? tables();
  return t[(init ^ data) & 0xff]! ^ (init >>> 8);
}

/**
 * `rte_hash_crc_2byte(data, init_val)`: a 16-bit value, its low byte first (as a little-endian host
 * stores it).
 *
 * @example
 * const h = crc32c2(0x2211, 0);
 */
export function crc32c2(data: number, init: number): number {
  const t = T ?? tables();
  let c = init | 0;
  c = t[(c ^ data) & 0xff]! ^ (c >>> 8);
  c = t[(c ^ (data >>> 8)) & 0xff]! ^ (c >>> 8);
  return c | 0;
}

/**
 * `rte_hash_crc_4byte(data, init_val)`: a 32-bit value, its low byte first.
 *
 * @example
 * const h = crc32c4(0x44332211, 0);
 */
export function crc32c4(data: number, init: number): number {
  return word(T ?? tables(), init | 0, data | 0);
}

/**
 * `rte_hash_crc_8byte(data, init_val)`: a 64-bit value given as its low and high 32-bit halves (JavaScript
 * numbers hold 53 bits; `lo` is hashed first, as a little-endian host stores the u64).
 *
 * @example
 * const h = crc32c8(0x44332211, 0x88776655, 0); // the u64 0x8877665544332211
 */
export function crc32c8(lo: number, hi: number, init: number): number {
  const t = T ?? tables();
  return word(t, word(t, init | 0, lo | 0), hi | 0);
}

/**
 * {@link crc32c} of `len` bytes held little-endian in 32-bit words (`words[off]` holds bytes 0..3, and
 * so on; bytes of the last word beyond `len` are ignored): the same value as over the bytes. For keys
 * already gathered into words, as the hash table's bulk lookup does.
 *
 * @example
 * const w = new Int32Array([0x03020100, 0x07060504]);
 * const h = crc32cWords(w, 0, 7, 0); // = crc32c(Uint8Array.of(0, 1, 2, 3, 4, 5, 6), 0, 7, 0)
 */
export function crc32cWords(words: Int32Array | Uint32Array, off: number, len: number, init: number): number {
  const t = T ?? tables();
  let c = init | 0;
  let o = off;
  const full = len >> 2;
  for (let i = 0; i < full; i++) c = word(t, c, words[o++]! | 0);
  const rem = len & 3;
  if (rem !== 0) {
    const w = words[o]! | 0;
    for (let b = 0; b < rem; b++) c = t[(c ^ (w >>> (8 * b))) & 0xff]! ^ (c >>> 8);
  }
  return c | 0;
}

/**
 * Bob Jenkins' lookup3 hash as DPDK's `rte_jhash` and CNDP's `cne_jhash` compute it (lookup3.c, May 2006,
 * public domain; http://burtleburtle.net/bob/hash/): the same 32-bit value for the same key bytes and
 * initial value, on a little-endian host (the key is read as little-endian 32-bit words, a short tail
 * zero-padded, as `rte_jhash` does on x86 and arm64).
 *
 * Hot path: integer arithmetic over `(u8, off, len)` (a frame in the UMEM or a key array), no allocation.
 * Results are the 32 hash bits as a signed 32-bit integer (`h >>> 0` is DPDK's `uint32_t` value): V8 keeps
 * those as small integers, so a call never allocates, even where it is not inlined (an unsigned result
 * of 2^31 or more would be a heap number there). Initial values may be given either way.
 *
 * @example
 * const key = new Uint8Array([0, 1, 2, 3]);
 * console.log((jhash(key, 0, 4, 0) >>> 0).toString(16)); // "e4cf1d42" (DPDK's test_hash_functions.c)
 */

/** `RTE_JHASH_GOLDEN_RATIO`, the arbitrary start value of lookup3's state. */
const GOLDEN = 0xdeadbeef | 0;

/**
 * `rte_jhash(key, length, initval)`: lookup3's `hashlittle` over `len` bytes of `u8` from `off`.
 *
 * @example
 * const h = jhash(umem.u8, off + 26, 12, 0); // IPv4 source, destination and ports of a frame
 */
export function jhash(u8: Uint8Array, off: number, len: number, initval: number): number {
  let a = (GOLDEN + len + initval) | 0;
  let b = a;
  let c = a;
  let o = off;
  let n = len;
  while (n > 12) {
    a = (a + (u8[o]! | (u8[o + 1]! << 8) | (u8[o + 2]! << 16) | (u8[o + 3]! << 24))) | 0;
    b = (b + (u8[o + 4]! | (u8[o + 5]! << 8) | (u8[o + 6]! << 16) | (u8[o + 7]! << 24))) | 0;
    c = (c + (u8[o + 8]! | (u8[o + 9]! << 8) | (u8[o + 10]! << 16) | (u8[o + 11]! << 24))) | 0;
    // mix(a, b, c)
    a = (a - c) | 0; a ^= (c << 4) | (c >>> 28); c = (c + b) | 0;
    b = (b - a) | 0; b ^= (a << 6) | (a >>> 26); a = (a + c) | 0;
    c = (c - b) | 0; c ^= (b << 8) | (b >>> 24); b = (b + a) | 0;
    a = (a - c) | 0; a ^= (c << 16) | (c >>> 16); c = (c + b) | 0;
    b = (b - a) | 0; b ^= (a << 19) | (a >>> 13); a = (a + c) | 0;
    c = (c - b) | 0; c ^= (b << 4) | (b >>> 28); b = (b + a) | 0;
    o += 12;
    n -= 12;
  }
  if (n === 0) return c | 0; // zero-length keys take no final mixing (only possible when len is 0)
  a = (a + tailWord(u8, o, n)) | 0;
  if (n > 4) b = (b + tailWord(u8, o + 4, n - 4)) | 0;
  if (n > 8) c = (c + tailWord(u8, o + 8, n - 8)) | 0;
  return final(a, b, c);
}

/** Up to 4 bytes from `o` as a little-endian word, the missing high bytes zero (lookup3's masked read). */
function tailWord(u8: Uint8Array, o: number, n: number): number {
  if (n >= 4) return u8[o]! | (u8[o + 1]! << 8) | (u8[o + 2]! << 16) | (u8[o + 3]! << 24);
  if (n === 3) return u8[o]! | (u8[o + 1]! << 8) | (u8[o + 2]! << 16);
  if (n === 2) return u8[o]! | (u8[o + 1]! << 8);
  return u8[o]!;
}

/** lookup3's `final(a, b, c)`; returns c. */
function final(a: number, b: number, c: number): number {
  c ^= b; c = (c - ((b << 14) | (b >>> 18))) | 0;
  a ^= c; a = (a - ((c << 11) | (c >>> 21))) | 0;
  b ^= a; b = (b - ((a << 25) | (a >>> 7))) | 0;
  c ^= b; c = (c - ((b << 16) | (b >>> 16))) | 0;
  a ^= c; a = (a - ((c << 4) | (c >>> 28))) | 0;
  b ^= a; b = (b - ((a << 14) | (a >>> 18))) | 0;
  c ^= b; c = (c - ((b << 24) | (b >>> 8))) | 0;
  return c | 0;
}

/**
 * `rte_jhash_32b(k, length, initval)`: lookup3's `hashword` over `nWords` 32-bit words of `words` from
 * index `off` (the same value as {@link jhash} over those words' little-endian bytes).
 *
 * @example
 * const tuple = new Uint32Array([0x0a000001, 0x0a000002, (1234 << 16) | 80]);
 * const h = jhash32b(tuple, 0, 3, 0);
 */
export function jhash32b(words: Uint32Array | Int32Array, off: number, nWords: number, initval: number): number {
  // hashword's rounds and tail are jhashWords' over whole words: length in bytes = 4 * nWords.
  return jhashWords(words, off, nWords << 2, initval);
}

/**
 * {@link jhash} of `len` bytes held little-endian in 32-bit words (`words[off]` holds bytes 0..3, and so
 * on; the bytes of the last word beyond `len` must be zero, as a zero-padded key slot has them): the same
 * value as over the bytes. For keys already gathered into words, as the hash table's bulk lookup does.
 *
 * @example
 * const w = new Int32Array([0x03020100, 0x00060504]);
 * const h = jhashWords(w, 0, 7, 0); // = jhash(Uint8Array.of(0, 1, 2, 3, 4, 5, 6), 0, 7, 0)
 */
export function jhashWords(words: Int32Array | Uint32Array, off: number, len: number, initval: number): number {
  let a = (GOLDEN + len + initval) | 0;
  let b = a;
  let c = a;
  let o = off;
  let n = len;
  while (n > 12) {
    a = (a + words[o]!) | 0;
    b = (b + words[o + 1]!) | 0;
    c = (c + words[o + 2]!) | 0;
    a = (a - c) | 0; a ^= (c << 4) | (c >>> 28); c = (c + b) | 0;
    b = (b - a) | 0; b ^= (a << 6) | (a >>> 26); a = (a + c) | 0;
    c = (c - b) | 0; c ^= (b << 8) | (b >>> 24); b = (b + a) | 0;
    a = (a - c) | 0; a ^= (c << 16) | (c >>> 16); c = (c + b) | 0;
    b = (b - a) | 0; b ^= (a << 19) | (a >>> 13); a = (a + c) | 0;
    c = (c - b) | 0; c ^= (b << 4) | (b >>> 28); b = (b + a) | 0;
    o += 3;
    n -= 12;
  }
  if (n === 0) return c | 0;
  a = (a + words[o]!) | 0;
  if (n > 4) b = (b + words[o + 1]!) | 0;
  if (n > 8) c = (c + words[o + 2]!) | 0;
  return final(a, b, c);
}

/**
 * `rte_jhash_3words(a, b, c, initval)`: the hash of exactly three 32-bit words (equal to {@link jhash32b}
 * over them).
 *
 * @example
 * const h = jhash3words(0x0a000001, 0x0a000002, 0x04d20050, 0);
 */
export function jhash3words(a: number, b: number, c: number, initval: number): number {
  const s = (GOLDEN + initval) | 0;
  return final((a + 12 + s) | 0, (b + 12 + s) | 0, (c + 12 + s) | 0);
}

/**
 * `rte_jhash_2words(a, b, initval)`: the hash of exactly two 32-bit words.
 *
 * @example
 * const h = jhash2words(0x0a000001, 0x0a000002, 0);
 */
export function jhash2words(a: number, b: number, initval: number): number {
  const s = (GOLDEN + initval) | 0;
  return final((a + 8 + s) | 0, (b + 8 + s) | 0, (8 + s) | 0);
}

/**
 * `rte_jhash_1word(a, initval)`: the hash of one 32-bit word.
 *
 * @example
 * const h = jhash1word(0x0a000001, 0);
 */
export function jhash1word(a: number, initval: number): number {
  const s = (GOLDEN + initval) | 0;
  return final((a + 4 + s) | 0, (4 + s) | 0, (4 + s) | 0);
}

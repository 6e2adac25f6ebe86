/**
 * The Toeplitz hash of receive-side scaling (RSS), as NICs compute it and DPDK's `rte_softrss` does in
 * software: for every set bit of the input (most significant bit of the first byte first), the 32 key bits
 * starting at that bit position are XORed into the result. Microsoft's "RSS hashing" specification
 * defines it and its verification suite (also in the Intel 82599 datasheet, section 7.1.2.8.3, and DPDK's
 * app/test/test_thash.c) gives the values the tests check.
 *
 * The input is the tuple in network byte order: IPv4 source address, destination address (8 bytes;
 * 12 with source and destination ports), IPv6 likewise (32 bytes; 36 with ports). {@link toeplitz} reads
 * those bytes straight from a frame or key array; {@link softrss} takes DPDK's tuple of host-order 32-bit
 * words (`union rte_thash_tuple`); {@link ToeplitzHash} precomputes a table per key for speed (one lookup
 * and XOR per input byte). The key is 40 bytes by default ({@link rssKeyDefault}, the key of Microsoft's
 * verification suite and the default of most NICs). Hot path: no allocation. Results are the 32 hash bits
 * as a signed 32-bit integer (`h >>> 0` is the unsigned value NICs report), which never allocates.
 *
 * @example
 * const t = new Uint8Array([66, 9, 149, 187, 161, 142, 100, 80, 0x0a, 0xea, 0x06, 0xe6]);
 * console.log((toeplitz(t, 0, 8) >>> 0).toString(16));  // "323e8fc2" (IPv4 66.9.149.187 -> 161.142.100.80)
 * console.log((toeplitz(t, 0, 12) >>> 0).toString(16)); // "51ccc178" (with ports 2794 -> 1766)
 */

/** Input lengths in 32-bit words, as DPDK's `RTE_THASH_V4_L3_LEN`: IPv4 source and destination. */
export const THASH_V4_L3_LEN = 2;
/** `RTE_THASH_V4_L4_LEN`: IPv4 addresses and the source and destination ports. */
export const THASH_V4_L4_LEN = 3;
/** `RTE_THASH_V6_L3_LEN`: IPv6 source and destination. */
export const THASH_V6_L3_LEN = 8;
/** `RTE_THASH_V6_L4_LEN`: IPv6 addresses and ports. */
export const THASH_V6_L4_LEN = 9;

const DEFAULT_KEY = [
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
  0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
  0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/**
 * A new copy of the default 40-byte RSS key (Microsoft's verification key; `6d5a56da...01fa`).
 *
 * @example
 * const key = rssKeyDefault(); // 40 bytes
 */
export function rssKeyDefault(): Uint8Array {
  return Uint8Array.from(DEFAULT_KEY);
}

let defaultKey: Uint8Array | null = null;

function keyOrDefault(key: Uint8Array | undefined): Uint8Array {
  if (key !== undefined) return key;
  return defaultKey ?? (defaultKey = rssKeyDefault());
}

/**
 * The Toeplitz hash of `len` bytes of `u8` from `off` (network order) with `key` (default
 * {@link rssKeyDefault}); the key needs `len + 4` bytes. Bit by bit: a reference and for one-off use;
 * {@link ToeplitzHash} is some 20 times faster (a table lookup per byte).
 *
 * @example
 * const h = toeplitz(umem.u8, off + 26, 12); // IPv4 addresses and ports of a frame, default key
 */
export function toeplitz(u8: Uint8Array, off: number, len: number, key?: Uint8Array): number {
  const k = keyOrDefault(key);
  if (len + 4 > k.length) throw new RangeError(`Toeplitz input of ${len} bytes needs a key of at least ${len + 4} bytes, not ${k.length}`);
  let v = (k[0]! << 24) | (k[1]! << 16) | (k[2]! << 8) | k[3]!; // the 32 key bits at the current input bit
  let r = 0;
  for (let p = 0; p < len; p++) {
    const b = u8[off + p]!;
    const next = k[p + 4]!;
    for (let i = 7; i >= 0; i--) {
      if ((b >>> i) & 1) r ^= v;
      v = (v << 1) | ((next >>> i) & 1);
    }
  }
  return r | 0;
}

/**
 * DPDK's `rte_softrss(input_tuple, input_len, rss_key)`: the Toeplitz hash of `nWords` host-order 32-bit
 * words of `tuple` from index `off` (each word's most significant bit first: the same value as
 * {@link toeplitz} over the words' big-endian bytes). `key` needs `4 * nWords + 4` bytes.
 *
 * @example
 * const tuple = new Uint32Array([0x420995bb, 0xa18e6450, (2794 << 16) | 1766]); // src, dst, sport << 16 | dport
 * console.log((softrss(tuple, 0, THASH_V4_L4_LEN) >>> 0).toString(16)); // "51ccc178"
 */
export function softrss(tuple: Uint32Array | Int32Array, off: number, nWords: number, key?: Uint8Array): number {
  const k = keyOrDefault(key);
  if (4 * nWords + 4 > k.length) throw new RangeError(`softrss input of ${nWords} words needs a key of at least ${4 * nWords + 4} bytes, not ${k.length}`);
  let r = 0;
  for (let j = 0; j < nWords; j++) {
    const w = tuple[off + j]! | 0;
    if (w === 0) continue;
    const q = 4 * j;
    const hi = (k[q]! << 24) | (k[q + 1]! << 16) | (k[q + 2]! << 8) | k[q + 3]!;
    const lo = (k[q + 4]! << 24) | (k[q + 5]! << 16) | (k[q + 6]! << 8) | k[q + 7]!;
    for (let i = 31; i >= 0; i--) {
      if ((w >>> i) & 1) {
        const s = 31 - i; // key bits from bit s of `hi`
        r ^= s === 0 ? hi : (hi << s) | (lo >>> (32 - s));
      }
    }
  }
  return r | 0;
}

/**
 * A Toeplitz hash with a fixed key, precomputed for inputs up to `maxLen` bytes: entry (p, x) of the
 * table is the XOR the byte value x contributes at input position p, so a hash is one table lookup and
 * XOR per byte (4 KB of table per input byte: 144 KB for IPv6 with ports). Same values as
 * {@link toeplitz}.
 *
 * @example
 * const rss = ToeplitzHash.create(rssKeyDefault(), 12);
 * const h = rss.hash(umem.u8, off + 26, 12); // IPv4 addresses and ports
 */
export class ToeplitzHash {
  /** The longest input, in bytes. */
  readonly maxLen: number;
  private readonly t: Int32Array;

  private constructor(t: Int32Array, maxLen: number) {
    this.t = t;
    this.maxLen = maxLen;
  }

  /**
   * Precomputes the table for `key` (default {@link rssKeyDefault}) and inputs up to `maxLen` bytes (at
   * most `key.length - 4`; default that).
   *
   * @example
   * const rss6 = ToeplitzHash.create(undefined, 36); // IPv6 with ports, default key
   */
  static create(key?: Uint8Array, maxLen?: number): ToeplitzHash {
    const k = Uint8Array.from(keyOrDefault(key));
    const max = maxLen ?? k.length - 4;
    if (!Number.isInteger(max) || max < 1 || max > k.length - 4) {
      throw new RangeError(`Invalid Toeplitz input length ${maxLen}: 1 to ${k.length - 4} with a key of ${k.length} bytes`);
    }
    const t = new Int32Array(max * 256);
    for (let p = 0; p < max; p++) {
      // the 32 key bits starting at each of the 8 bit positions of input byte p
      const w = new Int32Array(8);
      const hi = (k[p]! << 24) | (k[p + 1]! << 16) | (k[p + 2]! << 8) | k[p + 3]!;
      const nx = k[p + 4]!;
      for (let s = 0; s < 8; s++) w[s] = s === 0 ? hi : (hi << s) | (nx >>> (8 - s));
      for (let x = 1; x < 256; x++) {
        let r = 0;
        for (let i = 7; i >= 0; i--) if ((x >>> i) & 1) r ^= w[7 - i]!;
        t[p * 256 + x] = r;
      }
    }
    return new ToeplitzHash(t, max);
  }

  /**
   * The hash of `len` bytes of `u8` from `off`. Hot path: no allocation; a `len` above
   * {@link ToeplitzHash.maxLen} is a programming error and throws a RangeError.
   *
   * @example
   * const rss = ToeplitzHash.create();
   * const q = rss.hash(umem.u8, off + 26, 12) & 0x7f; // RSS redirection table index
   */
  hash(u8: Uint8Array, off: number, len: number): number {
    if (len > this.maxLen) throw new RangeError(`Toeplitz input of ${len} bytes is longer than this table's ${this.maxLen}`);
    const t = this.t;
    let r = 0;
    for (let p = 0; p < len; p++) r ^= t[(p << 8) | u8[off + p]!]!;
    return r | 0;
  }
}

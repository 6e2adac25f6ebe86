/**
 * Hashing for lookups: a cuckoo hash table with bulk lookup shared with worker threads ({@link CuckooHash}),
 * and the hash functions DPDK and CNDP use: {@link jhash} (lookup3), {@link crc32c} (`rte_hash_crc`) and
 * the RSS Toeplitz hash ({@link toeplitz}, {@link softrss}, {@link ToeplitzHash}).
 *
 * @example
 * const flows = CuckooHash.create({ entries: 1 << 16, keyLen: 13 });
 * const h = crc32c(new Uint8Array(13), 0, 13, 0);
 */
export { CuckooHash, HASH_MISS, HASH_FULL, type CuckooHashOptions, type CuckooHashShared, type HashFunctionName } from "./cuckoo.js";
export { jhash, jhashWords, jhash32b, jhash1word, jhash2words, jhash3words } from "./jhash.js";
export { crc32c, crc32cWords, crc32c1, crc32c2, crc32c4, crc32c8 } from "./crc32c.js";
export { toeplitz, softrss, ToeplitzHash, rssKeyDefault, THASH_V4_L3_LEN, THASH_V4_L4_LEN, THASH_V6_L3_LEN, THASH_V6_L4_LEN } from "./toeplitz.js";

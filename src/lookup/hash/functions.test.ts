/**
 * The hash functions against published values:
 * - jhash and CRC32C: DPDK app/test/test_hash_functions.c (`hash_values_jhash`, `hash_values_crc`: keys
 *   0, 1, 2, ... of 1, 2, 4, 8, 16, 32, 48, 64, 9, 13, 37, 40 bytes, initial values 0 and 0xdeadbeef; the
 *   table of current DPDK, where rte_hash_crc ends with 4/2/1-byte steps; older releases zero-padded the
 *   tail and gave other values for lengths that are not a multiple of 4 or 8), and its checks
 *   that rte_jhash_32b / rte_jhash_{1,2,3}words agree with rte_jhash.
 * - CRC32C: RFC 3720 appendix B.4 (iSCSI; initial value ~0, result inverted) and the CRC catalogue's
 *   check value for "123456789" (0xe3069283), plus a bit-by-bit reference over random inputs.
 * - Toeplitz: Microsoft's RSS verification suite ("Verifying the RSS Hash Calculation", the same values
 *   as the Intel 82599 datasheet 7.1.2.8.3 and DPDK app/test/test_thash.c) for IPv4 and IPv6 with and
 *   without ports, through the byte, word (rte_softrss) and table forms.
 * The functions return the hash bits as signed 32-bit integers; `>>> 0` gives the published unsigned value.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { jhash, jhashWords, jhash32b, jhash1word, jhash2words, jhash3words } from "./jhash.js";
import { crc32c, crc32cWords, crc32c1, crc32c2, crc32c4, crc32c8 } from "./crc32c.js";
import { toeplitz, softrss, ToeplitzHash, rssKeyDefault, THASH_V4_L3_LEN, THASH_V4_L4_LEN, THASH_V6_L3_LEN, THASH_V6_L4_LEN } from "./toeplitz.js";

const LENS = [1, 2, 4, 8, 16, 32, 48, 64, 9, 13, 37, 40];
const INITS = [0, 0xdeadbeef];
const JHASH = [
  [0x8ba9414b, 0xdf0d39c9, 0xe4cf1d42, 0xd4ccb93c, 0x5e84eafc, 0x21362cfe, 0x2f4775ab, 0x9ff036cc, 0xeca51474, 0xbc9d6816, 0x12926a31, 0x1c9fa888],
  [0x5c62c303, 0x1b8cf784, 0x8270ac65, 0x05fa6668, 0x762df861, 0xda088f2f, 0x59614cd4, 0x7a94f690, 0xdc1e4993, 0x30825494, 0x91d0e462, 0x768087fc],
];
const CRC = [
  [0x00000000, 0xf26b8303, 0x91545164, 0x06040eb1, 0x9bb99201, 0xcc4c4fe4, 0x14a90993, 0xf8a5dd8c, 0xcaa1ad0b, 0x7ac1e03e, 0x43f44466, 0x4a11475e],
  [0xbdfd3980, 0x70204542, 0x98cd4c70, 0xd52c702f, 0x41fc0e1c, 0x3905f65c, 0x94bff47f, 0x1bab102d, 0xf4a2c645, 0xbf441539, 0x789c104f, 0x53028d3e],
];

/** A seeded xorshift32, so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** CRC32C one bit at a time: the definition, as an oracle. */
function crcBitwise(u8: Uint8Array, init: number): number {
  let c = init >>> 0;
  for (const b of u8) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return c >>> 0;
}

const seq = Uint8Array.from({ length: 64 }, (_, i) => i);

/** `len` bytes from `off` as little-endian words, the last one zero-padded (as a key slot holds a key). */
function toWords(u8: Uint8Array, off: number, len: number): Int32Array {
  const w = new Int32Array((len + 3) >> 2);
  new Uint8Array(w.buffer).set(u8.subarray(off, off + len));
  return w;
}
const le32 = (u8: Uint8Array, o: number) => (u8[o]! | (u8[o + 1]! << 8) | (u8[o + 2]! << 16) | (u8[o + 3]! << 24)) >>> 0;

describe("lookup/hash: jhash", () => {
  it("matches DPDK's precalculated rte_jhash values", () => {
    INITS.forEach((init, j) => LENS.forEach((len, i) => {
      assert.equal(jhash(seq, 0, len, init) >>> 0, JHASH[j]![i], `jhash of ${len} bytes, initval ${init.toString(16)}`);
    }));
  });

  it("rte_jhash_32b and the 1/2/3-word forms agree with rte_jhash; offsets do not matter", () => {
    const r = rng(7);
    const buf = Uint8Array.from({ length: 80 }, () => r() & 0xff);
    const words = new Uint32Array(16);
    for (const init of [0, 0xdeadbeef, 0x12345678]) {
      for (let off = 0; off < 4; off++) {
        for (let w = 0; w < 16; w++) words[w] = le32(buf, off + 4 * w);
        for (let n = 0; n <= 16; n++) assert.equal(jhash32b(words, 0, n, init), jhash(buf, off, 4 * n, init), `${n} words at offset ${off}`);
        assert.equal(jhash1word(words[0]!, init), jhash(buf, off, 4, init));
        assert.equal(jhash2words(words[0]!, words[1]!, init), jhash(buf, off, 8, init));
        assert.equal(jhash3words(words[0]!, words[1]!, words[2]!, init), jhash(buf, off, 12, init));
        for (let len = 0; len <= 64; len++) assert.equal(jhash(buf, off, len, init), jhash(buf.slice(off, off + len), 0, len, init));
      }
    }
    assert.equal(jhash(seq, 0, 0, 5), (0xdeadbeef + 5) | 0, "an empty key is the initial state");
  });

  it("jhashWords over zero-padded words equals jhash over the bytes, every length 0..64", () => {
    const r = rng(8);
    const buf = Uint8Array.from({ length: 70 }, () => r() & 0xff);
    for (let len = 0; len <= 64; len++) {
      const init = r();
      assert.equal(jhashWords(toWords(buf, 3, len), 0, len, init), jhash(buf, 3, len, init), `${len} bytes`);
    }
  });
});

describe("lookup/hash: crc32c", () => {
  it("matches DPDK's precalculated rte_hash_crc values", () => {
    INITS.forEach((init, j) => LENS.forEach((len, i) => {
      assert.equal(crc32c(seq, 0, len, init) >>> 0, CRC[j]![i], `crc of ${len} bytes, init ${init.toString(16)}`);
    }));
  });

  it("matches RFC 3720's iSCSI vectors and the CRC-32C check value", () => {
    const iscsi = (data: Uint8Array) => (~crc32c(data, 0, data.length, 0xffffffff)) >>> 0;
    assert.equal(iscsi(new Uint8Array(32)), 0x8a9136aa);
    assert.equal(iscsi(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
    assert.equal(iscsi(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
    assert.equal(iscsi(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
    assert.equal(iscsi(new TextEncoder().encode("123456789")), 0xe3069283);
  });

  it("equals the bit-by-bit definition for every length 0..100 at every alignment", () => {
    const r = rng(11);
    const buf = Uint8Array.from({ length: 110 }, () => r() & 0xff);
    for (let off = 0; off < 4; off++) {
      for (let len = 0; len <= 100; len++) {
        const init = r();
        assert.equal(crc32c(buf, off, len, init) >>> 0, crcBitwise(buf.subarray(off, off + len), init), `${len} bytes at ${off}`);
      }
    }
  });

  it("crc32cWords equals crc32c over the bytes, every length 0..64, with or without padding", () => {
    const r = rng(9);
    const buf = Uint8Array.from({ length: 70 }, () => r() & 0xff);
    for (let len = 0; len <= 64; len++) {
      const init = r();
      const w = toWords(buf, 1, len);
      assert.equal(crc32cWords(w, 0, len, init), crc32c(buf, 1, len, init), `${len} bytes`);
      if (len & 3) w[w.length - 1] = w[w.length - 1]! | (0xff << 24); // bytes past len are ignored
      if ((len & 3) !== 0) assert.equal(crc32cWords(w, 0, len, init), crc32c(buf, 1, len, init));
    }
  });

  it("the 1/2/4/8-byte steps equal the byte stream (rte_hash_crc_{1,2,4,8}byte on a little-endian host)", () => {
    const r = rng(3);
    for (let t = 0; t < 1000; t++) {
      const b = Uint8Array.from({ length: 8 }, () => r() & 0xff);
      const init = r();
      assert.equal(crc32c1(b[0]!, init), crc32c(b, 0, 1, init));
      assert.equal(crc32c2(b[0]! | (b[1]! << 8), init), crc32c(b, 0, 2, init));
      assert.equal(crc32c4(le32(b, 0), init), crc32c(b, 0, 4, init));
      assert.equal(crc32c8(le32(b, 0), le32(b, 4), init), crc32c(b, 0, 8, init));
    }
  });
});

/** Microsoft's RSS verification suite: destination, source (address, port), then the IPv4/IPv6 hashes. */
const V4: [string, number, string, number, number, number][] = [
  ["161.142.100.80", 1766, "66.9.149.187", 2794, 0x323e8fc2, 0x51ccc178],
  ["65.69.140.83", 4739, "199.92.111.2", 14230, 0xd718262a, 0xc626b0ea],
  ["12.22.207.184", 38024, "24.19.198.95", 12898, 0xd2d0a5de, 0x5c2b394a],
  ["209.142.163.6", 2217, "38.27.205.30", 48228, 0x82989176, 0xafc7327f],
  ["202.188.127.2", 1303, "153.39.163.191", 44251, 0x5d1809c5, 0x10e828a2],
];
const V6: [string, number, string, number, number, number][] = [
  ["3ffe:2501:200:3::1", 1766, "3ffe:2501:200:1fff::7", 2794, 0x2cc18cd5, 0x40207d3d],
  ["ff02::1", 4739, "3ffe:501:8::260:97ff:fe40:efab", 14230, 0x0f0c461c, 0xdde51bbf],
  ["fe80::200:f8ff:fe21:67cf", 38024, "3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251, 0x4b61e985, 0x02d1feef],
];

const v4bytes = (s: string) => s.split(".").map(Number);
function v6bytes(s: string): number[] {
  const [l, r] = s.split("::") as [string, string | undefined];
  const groups = (x: string | undefined) => (x ? x.split(":").map((g) => parseInt(g, 16)) : []);
  const a = groups(l);
  const b = groups(r);
  const all = [...a, ...new Array<number>(8 - a.length - b.length).fill(0), ...b];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}
const port = (p: number) => [p >> 8, p & 0xff];
const words = (b: number[]) => Uint32Array.from({ length: b.length / 4 }, (_, i) => ((b[4 * i]! << 24) | (b[4 * i + 1]! << 16) | (b[4 * i + 2]! << 8) | b[4 * i + 3]!) >>> 0);

describe("lookup/hash: toeplitz (RSS)", () => {
  const table = ToeplitzHash.create();
  const key = rssKeyDefault();

  it("matches Microsoft's verification suite for IPv4, with and without ports", () => {
    for (const [dst, dport, src, sport, l3, l4] of V4) {
      const b = [...v4bytes(src), ...v4bytes(dst), ...port(sport), ...port(dport)];
      const u8 = Uint8Array.from([0xee, ...b]); // at offset 1: reads in place
      assert.equal(toeplitz(u8, 1, 8) >>> 0, l3, `${src} -> ${dst}`);
      assert.equal(toeplitz(u8, 1, 12, key) >>> 0, l4, `${src}:${sport} -> ${dst}:${dport}`);
      assert.equal(table.hash(u8, 1, 8) >>> 0, l3);
      assert.equal(table.hash(u8, 1, 12) >>> 0, l4);
      const t = words(b);
      assert.equal(softrss(t, 0, THASH_V4_L3_LEN) >>> 0, l3);
      assert.equal(softrss(t, 0, THASH_V4_L4_LEN, key) >>> 0, l4);
    }
  });

  it("matches Microsoft's verification suite for IPv6, with and without ports", () => {
    for (const [dst, dport, src, sport, l3, l4] of V6) {
      const b = [...v6bytes(src), ...v6bytes(dst), ...port(sport), ...port(dport)];
      const u8 = Uint8Array.from(b);
      assert.equal(toeplitz(u8, 0, 32) >>> 0, l3, `${src} -> ${dst}`);
      assert.equal(toeplitz(u8, 0, 36) >>> 0, l4, `${src}.${sport} -> ${dst}.${dport}`);
      assert.equal(table.hash(u8, 0, 32) >>> 0, l3);
      assert.equal(table.hash(u8, 0, 36) >>> 0, l4);
      const t = words(b);
      assert.equal(softrss(t, 0, THASH_V6_L3_LEN) >>> 0, l3);
      assert.equal(softrss(t, 0, THASH_V6_L4_LEN) >>> 0, l4);
    }
  });

  it("the three forms agree on random inputs and keys; lengths beyond the key are refused", () => {
    const r = rng(5);
    for (let t = 0; t < 200; t++) {
      const k = Uint8Array.from({ length: 52 }, () => r() & 0xff);
      const tab = ToeplitzHash.create(k, 48);
      const b = Array.from({ length: 48 }, () => r() & 0xff);
      const u8 = Uint8Array.from(b);
      const len = 4 * (1 + (r() % 12));
      const want = toeplitz(u8, 0, len, k);
      assert.equal(tab.hash(u8, 0, len), want);
      assert.equal(softrss(words(b), 0, len / 4, k), want);
    }
    assert.throws(() => toeplitz(new Uint8Array(40), 0, 37), /Toeplitz input of 37 bytes needs a key of at least 41 bytes, not 40/);
    assert.throws(() => ToeplitzHash.create(undefined, 37), /Invalid Toeplitz input length 37: 1 to 36/);
    assert.throws(() => table.hash(new Uint8Array(40), 0, 37), /longer than this table's 36/);
  });
});

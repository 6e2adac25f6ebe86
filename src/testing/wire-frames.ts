/**
 * Frame builders for the wire tests (not part of the library): headers as plain byte arrays composed
 * from the inside out (`eth(0x0800, ip4({ proto: 17 }, udp(1000, 53, payload)))`), lengths filled in from
 * what they wrap, checksums left 0 unless asked for (the tests compute them with an independent oracle).
 * Slow and allocating on purpose.
 */

export type Bytes = number[];

const w16 = (v: number): Bytes => [(v >>> 8) & 0xff, v & 0xff];
const w32 = (v: number): Bytes => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

/** An Ethernet header (dst 02:..:02, src 02:..:01) with VLAN tags `tags` ([tpid, tci] pairs), then `rest`. */
export function eth(type: number, rest: Bytes = [], tags: [number, number][] = []): Bytes {
  const h = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
  for (const [tpid, tci] of tags) h.push(...w16(tpid), ...w16(tci));
  return [...h, ...w16(type), ...rest];
}

export interface Ip4Opts {
  proto: number;
  /** Bytes of options (a multiple of 4, up to 40); filled with NOPs (1) and an end (0). */
  options?: number;
  /** The 16-bit flags + fragment offset word. */
  frag?: number;
  ttl?: number;
  id?: number;
  src?: number;
  dst?: number;
  /** Total length to write instead of the real one. */
  totLen?: number;
  /** Version/IHL byte to write instead of the real one. */
  verIhl?: number;
}

/** An IPv4 header (checksum 0) around `rest`. */
export function ip4(o: Ip4Opts, rest: Bytes = []): Bytes {
  const opt = o.options ?? 0;
  const hl = 20 + opt;
  const h = [
    o.verIhl ?? 0x40 | (hl >>> 2), 0, ...w16(o.totLen ?? hl + rest.length), ...w16(o.id ?? 0x1234), ...w16(o.frag ?? 0),
    o.ttl ?? 64, o.proto, 0, 0, ...w32(o.src ?? 0x0a000001), ...w32(o.dst ?? 0x0a000002),
  ];
  for (let i = 0; i < opt; i++) h.push(i === opt - 1 ? 0 : 1);
  return [...h, ...rest];
}

/** The source and destination addresses of {@link ip6} by default: fd00::1 and fd00::2. */
export const FD00_1 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
export const FD00_2 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

/** An IPv6 header with next header `nh` around `rest` (extension headers and the upper layer). */
export function ip6(nh: number, rest: Bytes = [], o: { src?: Bytes; dst?: Bytes; plen?: number; hlim?: number } = {}): Bytes {
  return [0x60, 0, 0, 0, ...w16(o.plen ?? rest.length), nh, o.hlim ?? 64, ...(o.src ?? FD00_1), ...(o.dst ?? FD00_2), ...rest];
}

/** A Hop-by-Hop, Routing or Destination Options header (`len8`: its length in 8-byte units minus 1). */
export function ext6(nh: number, len8 = 0, rest: Bytes = []): Bytes {
  const h = [nh, len8];
  while (h.length < (len8 + 1) * 8) h.push(h.length === 2 ? 1 : 0); // a PadN option, then zeros
  return [...h, ...rest];
}

/** A Fragment header: offset in 8-byte units, M flag. */
export function frag6(nh: number, offset: number, more: boolean, rest: Bytes = []): Bytes {
  return [nh, 0, ...w16((offset << 3) | (more ? 1 : 0)), ...w32(0xabcd), ...rest];
}

/** An Authentication Header of `words` 32-bit words in all (RFC 4302: its length field is words - 2). */
export function ah6(nh: number, words = 6, rest: Bytes = []): Bytes {
  const h = [nh, words - 2, 0, 0];
  while (h.length < words * 4) h.push(0x5a);
  return [...h, ...rest];
}

/** A UDP header (length filled in, checksum 0) and `payload`. */
export function udp(sport: number, dport: number, payload: Bytes = []): Bytes {
  return [...w16(sport), ...w16(dport), ...w16(8 + payload.length), 0, 0, ...payload];
}

/** A TCP header (data offset from `options` bytes, ACK set, checksum 0) and `payload`. */
export function tcp(sport: number, dport: number, payload: Bytes = [], options = 0, flags = 0x10): Bytes {
  const h = [...w16(sport), ...w16(dport), ...w32(0x01020304), ...w32(0x05060708), ((20 + options) >>> 2) << 4, flags, ...w16(8192), 0, 0, 0, 0];
  for (let i = 0; i < options; i++) h.push(1);
  return [...h, ...payload];
}

/** An ICMP (or ICMPv6) header of type and code, id and sequence, checksum 0, and `payload`. */
export function icmp(type: number, code: number, payload: Bytes = [], id = 0x4242, seq = 1): Bytes {
  return [type, code, 0, 0, ...w16(id), ...w16(seq), ...payload];
}

/** `n` pseudo-random bytes from `rnd`. */
export function randomBytes(n: number, rnd: () => number): Bytes {
  return Array.from({ length: n }, () => Math.floor(rnd() * 256));
}

/** A seeded PRNG (mulberry32): tests print their seed and replay it. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `bytes` at offset `at` of a bigger zero-filled buffer (a UMEM frame with headroom and tailroom). */
export function inBuffer(bytes: Bytes | Uint8Array, at = 64, tail = 64): Uint8Array {
  const u8 = new Uint8Array(at + bytes.length + tail);
  u8.set(bytes, at);
  return u8;
}

/**
 * A Uint8Array that records the highest and lowest index read through it (a Proxy: slow, tests only), to
 * check that a parser reads nothing past the length it was given.
 */
export function readTracker(u8: Uint8Array): { view: Uint8Array; min(): number; max(): number; reset(): void } {
  let lo = Infinity;
  let hi = -Infinity;
  const view = new Proxy(u8, {
    get(t, k) {
      if (typeof k === "string" && /^-?\d+$/.test(k)) {
        const i = Number(k);
        if (i < lo) lo = i;
        if (i > hi) hi = i;
      }
      const v = (t as unknown as Record<string | symbol, unknown>)[k];
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
  return { view, min: () => lo, max: () => hi, reset() { lo = Infinity; hi = -Infinity; } };
}

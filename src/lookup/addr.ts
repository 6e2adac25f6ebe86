/**
 * Addresses as the lookup tables use them: IPv4 as a u32 number (host order of the value, network order of
 * the text: "10.0.0.1" is 0x0a000001), IPv6 as 16 bytes (network order), Ethernet MACs as 6 bytes, and
 * prefixes ("10.0.0.0/8", "fd00::/16") with the host bits masked off. Control path: these parse text
 * from configs, the app socket and the REST API and throw a RangeError naming the text and what is wrong.
 *
 * Text forms: dotted-quad IPv4 with decimal octets and no leading zeros (as inet_pton); IPv6 as RFC 4291
 * section 2.2 (with "::" and an embedded IPv4 tail), printed as RFC 5952 (lowercase, the longest run of at
 * least two zero groups as "::"); a MAC as six groups of one or two hex digits separated by ':' or '-'.
 *
 * @example
 * const ip = parseIp4("10.0.0.1");        // 0x0a000001
 * const p = parsePrefix4("10.1.2.3/8");   // { ip: 0x0a000000, depth: 8 }
 * console.log(formatIp4(p.ip), formatIp6(parseIp6("fd00::1")), formatMac(parseMac("02:00:00:00:00:01")));
 */

const DEC = /^(0|[1-9][0-9]{0,2})$/;

/**
 * An IPv4 address as a u32 (a non-negative number): "10.0.0.1" -> 0x0a000001.
 *
 * @example
 * const ip = parseIp4("192.168.1.1"); // 0xc0a80101
 */
export function parseIp4(s: string): number {
  if (typeof s !== "string") throw new RangeError(`Invalid IPv4 address ${String(s)}: not a string`);
  const parts = s.split(".");
  if (parts.length !== 4) throw new RangeError(`Invalid IPv4 address '${s}': expected four dotted decimal octets`);
  let v = 0;
  for (const p of parts) {
    if (!DEC.test(p)) throw new RangeError(`Invalid IPv4 address '${s}': octet '${p}' is not a decimal 0 to 255 without leading zeros`);
    const o = Number(p);
    if (o > 255) throw new RangeError(`Invalid IPv4 address '${s}': octet ${o} is above 255`);
    v = v * 256 + o;
  }
  return v;
}

/**
 * Dotted-quad text of a u32 IPv4 address (any integer is taken modulo 2^32, as `>>> 0`).
 *
 * @example
 * console.log(formatIp4(0x0a000001)); // "10.0.0.1"
 */
export function formatIp4(n: number): string {
  const v = n >>> 0;
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

/** The u32 mask of the first `depth` bits (depth 0 to 32). */
function mask4(depth: number): number {
  return depth === 0 ? 0 : (0xffffffff << (32 - depth)) >>> 0;
}

/** Splits "addr/depth"; the depth is a decimal 0..max. */
function splitPrefix(s: string, max: number, family: string): { addr: string; depth: number } {
  if (typeof s !== "string") throw new RangeError(`Invalid ${family} prefix ${String(s)}: not a string`);
  const slash = s.indexOf("/");
  if (slash < 0) throw new RangeError(`Invalid ${family} prefix '${s}': expected <address>/<depth>`);
  const d = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(d) || Number(d) > max) {
    throw new RangeError(`Invalid ${family} prefix '${s}': depth '${d}' is not 0 to ${max}`);
  }
  return { addr: s.slice(0, slash), depth: Number(d) };
}

/**
 * An IPv4 prefix "a.b.c.d/depth" (depth 0 to 32); host bits are allowed and masked off.
 *
 * @example
 * const { ip, depth } = parsePrefix4("10.1.2.3/8"); // ip 0x0a000000, depth 8
 */
export function parsePrefix4(s: string): { ip: number; depth: number } {
  const { addr, depth } = splitPrefix(s, 32, "IPv4");
  let ip: number;
  try {
    ip = parseIp4(addr);
  } catch (e) {
    throw new RangeError(`Invalid IPv4 prefix '${s}': ${(e as Error).message}`);
  }
  return { ip: (ip & mask4(depth)) >>> 0, depth };
}

const HEX16 = /^[0-9a-fA-F]{1,4}$/;

/**
 * An IPv6 address as 16 bytes (network order). Accepts "::" and an embedded IPv4 tail ("::ffff:1.2.3.4").
 *
 * @example
 * const b = parseIp6("fd00::1"); // Uint8Array(16) [0xfd, 0, ..., 1]
 */
export function parseIp6(s: string): Uint8Array {
  if (typeof s !== "string") throw new RangeError(`Invalid IPv6 address ${String(s)}: not a string`);
  const bad = (why: string): RangeError => new RangeError(`Invalid IPv6 address '${s}': ${why}`);
  const dbl = s.indexOf("::");
  if (dbl >= 0 && s.indexOf("::", dbl + 1) >= 0) throw bad("more than one '::'");
  const groups: number[] = [];
  const parseSide = (text: string, last: boolean): number[] => {
    if (text === "") return [];
    const out: number[] = [];
    const parts = text.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as string;
      if (last && i === parts.length - 1 && p.includes(".")) {
        let v4: number;
        try {
          v4 = parseIp4(p);
        } catch {
          throw bad(`embedded IPv4 part '${p}' is not a dotted quad`);
        }
        out.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!HEX16.test(p)) throw bad(p === "" ? "empty group" : `group '${p}' is not 1 to 4 hex digits`);
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  if (dbl < 0) {
    groups.push(...parseSide(s, true));
    if (groups.length !== 8) throw bad(`${groups.length} groups, expected 8 (or '::')`);
  } else {
    const head = parseSide(s.slice(0, dbl), false);
    const tail = parseSide(s.slice(dbl + 2), true);
    if (head.length + tail.length > 7) throw bad(`too many groups with '::'`);
    groups.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  }
  const b = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i] as number;
    b[2 * i] = g >>> 8;
    b[2 * i + 1] = g & 0xff;
  }
  return b;
}

/**
 * RFC 5952 text of the 16-byte IPv6 address at `b[off]`.
 *
 * @example
 * console.log(formatIp6(parseIp6("FD00:0:0:0:0:0:0:1"))); // "fd00::1"
 */
export function formatIp6(b: Uint8Array, off = 0): string {
  if (!(Number.isInteger(off) && off >= 0 && off + 16 <= b.length)) {
    throw new RangeError(`Invalid IPv6 address position: offset ${off} + 16 bytes outside ${b.length} bytes`);
  }
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(((b[off + 2 * i] as number) << 8) | (b[off + 2 * i + 1] as number));
  let best = -1;
  let bestLen = 1; // RFC 5952 4.2.2: a single zero group is not shortened
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/**
 * An IPv6 prefix "addr/depth" (depth 0 to 128); host bits are allowed and masked off.
 *
 * @example
 * const { ip, depth } = parsePrefix6("fd00:1::5/32"); // ip = fd00:1::, depth 32
 */
export function parsePrefix6(s: string): { ip: Uint8Array; depth: number } {
  const { addr, depth } = splitPrefix(s, 128, "IPv6");
  let ip: Uint8Array;
  try {
    ip = parseIp6(addr);
  } catch (e) {
    throw new RangeError(`Invalid IPv6 prefix '${s}': ${(e as Error).message}`);
  }
  for (let i = 0; i < 16; i++) {
    const keep = depth - 8 * i; // bits of this byte inside the prefix
    if (keep <= 0) ip[i] = 0;
    else if (keep < 8) ip[i] = (ip[i] as number) & ((0xff << (8 - keep)) & 0xff);
  }
  return { ip, depth };
}

const MAC = /^([0-9a-fA-F]{1,2})([:-])([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})$/;

/**
 * An Ethernet MAC "02:00:01:02:03:04" (or with '-') as 6 bytes.
 *
 * @example
 * const mac = parseMac("02:00:01:02:03:04");
 */
export function parseMac(s: string): Uint8Array {
  const m = typeof s === "string" ? MAC.exec(s) : null;
  if (m === null) throw new RangeError(`Invalid MAC address '${String(s)}': expected six hex bytes separated by ':' (02:00:01:02:03:04)`);
  const b = new Uint8Array(6);
  const idx = [1, 3, 4, 5, 6, 7];
  for (let i = 0; i < 6; i++) b[i] = parseInt(m[idx[i] as number] as string, 16);
  return b;
}

/**
 * Lowercase text "02:00:01:02:03:04" of the 6-byte MAC at `b[off]`.
 *
 * @example
 * console.log(formatMac(new Uint8Array([2, 0, 1, 2, 3, 4]))); // "02:00:01:02:03:04"
 */
export function formatMac(b: Uint8Array, off = 0): string {
  if (!(Number.isInteger(off) && off >= 0 && off + 6 <= b.length)) {
    throw new RangeError(`Invalid MAC address position: offset ${off} + 6 bytes outside ${b.length} bytes`);
  }
  let s = "";
  for (let i = 0; i < 6; i++) s += (i ? ":" : "") + (b[off + i] as number).toString(16).padStart(2, "0");
  return s;
}

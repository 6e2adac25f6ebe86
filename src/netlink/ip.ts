/**
 * IPv4/IPv6 addresses as bytes and text, and CIDR prefixes ("10.0.0.1/24", "fd00::1/64"), for the address
 * and route requests. Text forms: RFC 4291 section 2.2 for parsing IPv6, RFC 5952 for printing it.
 */
import { isIPv4, isIPv6 } from "node:net";

/** An address family by IP version. */
export type IpFamily = 4 | 6;

export const AF_INET = 2;
export const AF_INET6 = 10;

/** The AF_* number of an IP version. */
export function afOf(family: IpFamily): number {
  return family === 4 ? AF_INET : AF_INET6;
}

/** The IP version of an AF_* number, or undefined. */
export function familyOfAf(af: number): IpFamily | undefined {
  return af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined;
}

/** The address as 4 or 16 bytes (network order). */
export function parseIp(s: string): Uint8Array {
  if (isIPv4(s)) return Uint8Array.from(s.split("."), Number);
  if (!isIPv6(s)) throw new SyntaxError(`Cannot parse IP address '${s}'`);
  let text = s;
  const out = new Uint8Array(16);
  // An embedded IPv4 tail ("::ffff:1.2.3.4") becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const b = parseIp(v4[1]);
    text = text.slice(0, -v4[1].length) + `${(((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16)}:${(((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const hs = head === "" ? [] : head.split(":");
  const ts = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? hs : [...hs, ...new Array<string>(8 - hs.length - ts.length).fill("0"), ...ts];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** Text of a 4- or 16-byte address; IPv6 in RFC 5952 form (lowercase, longest zero run as "::"). */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join(".");
  if (b.length !== 16) throw new RangeError(`Invalid IP address: ${b.length} bytes`);
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  // Longest run of at least two zero groups (the first on a tie).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** An address with a prefix length. */
export interface Cidr {
  family: IpFamily;
  /** The address as written (not masked). */
  address: string;
  prefixLen: number;
}

/** Parses "10.1.2.3/24" or "fd00::1/64"; without "/len" the prefix is the full length. */
export function parseCidr(s: string): Cidr {
  const slash = s.indexOf("/");
  const addr = slash < 0 ? s : s.slice(0, slash);
  const bytes = parseIp(addr);
  const max = bytes.length * 8;
  const prefixLen = slash < 0 ? max : Number(s.slice(slash + 1));
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > max || (slash >= 0 && !/^\d+$/.test(s.slice(slash + 1)))) {
    throw new SyntaxError(`Cannot parse prefix '${s}': length must be 0 to ${max}`);
  }
  return { family: bytes.length === 4 ? 4 : 6, address: formatIp(bytes), prefixLen };
}

/** The network of a CIDR ("10.1.2.3/24" -> "10.1.2.0/24"). */
export function networkOf(c: Cidr): string {
  const b = parseIp(c.address);
  for (let i = 0; i < b.length; i++) {
    const bits = Math.max(0, Math.min(8, c.prefixLen - i * 8));
    b[i] = (b[i] ?? 0) & ((0xff << (8 - bits)) & 0xff);
  }
  return `${formatIp(b)}/${c.prefixLen}`;
}

/**
 * The frame a txgen port sends, built from its settings: Ethernet II, IPv4 (RFC 791), then UDP (RFC 768),
 * TCP (RFC 9293) or ICMP echo (RFC 792), a payload pattern, and optionally the latency tag.
 *
 * Besides the bytes, a {@link FramePlan} says what changes from packet to packet (range fields, the tag)
 * and how the checksums follow: every checksum is a base sum over the frame with the varying fields
 * zeroed, plus the 16-bit words of the fields' current values (RFC 1071 / RFC 1624 incremental form).
 * Both engines use the plan: the AF_XDP engine patches each frame in JavaScript (tx-frames.ts, which
 * {@link patchFrame} calls too), the live-frames engine compiles the same arithmetic into its XDP program
 * (live-prog.ts).
 */
import { type PortSettings, type Range, FCS, TAG_LEN, TAG_MAGIC, macBytes, rangeCount, tagOffset } from "./settings.js";
import { TemplateFrames, compilePlan } from "./tx-frames.js";

export const ETH_HLEN = 14;
export const IP_OFF = 14;
export const L4_OFF = 34;
export const IP_CSUM_OFF = 24;
export const IP_SRC_OFF = 26;
export const IP_DST_OFF = 30;
export const SPORT_OFF = 34;
export const DPORT_OFF = 36;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** Field flags in a plan: contributes to the IPv4 header checksum / the L4 checksum. */
export const F_IP = 1;
export const F_L4 = 2;

/** A field that takes the values of a range, one step per packet (wrapping), as txgen's range mode. */
export interface FieldPlan {
  name: "src ip" | "dst ip" | "sport" | "dport";
  off: number;
  bytes: 2 | 4;
  min: number;
  n: number;
  step: number;
  flags: number;
}

export interface FramePlan {
  /** The frame for sequence 0 (first values of every range, tag with seq 0 and time 0), checksums valid. */
  frame: Uint8Array;
  /** Frame length (size - FCS). */
  len: number;
  proto: number;
  fields: FieldPlan[];
  /** Offset of the latency tag, or -1 without. */
  tagOff: number;
  /** Sender port id written into the tag. */
  portId: number;
  /** Folded (not complemented) sum of the IPv4 header with varying fields and the checksum zeroed. */
  ipBase: number;
  /** Offset of the L4 checksum, or -1 when it is not computed (UDP with cksum off). */
  l4CsumOff: number;
  l4Base: number;
  /** UDP: a computed 0 is sent as 0xffff. */
  l4Udp: boolean;
  /** Whether anything changes between packets (else the frame is sent as is). */
  varies: boolean;
}

/** One's complement sum of 16-bit big-endian words of b[start, end) (odd tail padded with 0), unfolded. */
export function sum16(b: Uint8Array, start: number, end: number): number {
  let s = 0;
  let i = start;
  for (; i + 1 < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (i < end) s += b[i]! << 8;
  return s;
}

/** Folds a sum to 16 bits (end-around carry). */
export function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** The checksum of a sum: ~fold(s) & 0xffff. */
export function csum(s: number): number {
  return ~fold(s) & 0xffff;
}

function put16(f: Uint8Array, off: number, v: number): void {
  f[off] = (v >>> 8) & 0xff;
  f[off + 1] = v & 0xff;
}

function put32(f: Uint8Array, off: number, v: number): void {
  f[off] = (v >>> 24) & 0xff;
  f[off + 1] = (v >>> 16) & 0xff;
  f[off + 2] = (v >>> 8) & 0xff;
  f[off + 3] = v & 0xff;
}

function protoNum(p: PortSettings["proto"]): number {
  return p === "udp" ? IPPROTO_UDP : p === "tcp" ? IPPROTO_TCP : IPPROTO_ICMP;
}

/** Offset of the L4 checksum field for a protocol. */
export function l4CsumOffset(proto: number): number {
  return proto === IPPROTO_UDP ? L4_OFF + 6 : proto === IPPROTO_TCP ? L4_OFF + 16 : L4_OFF + 2;
}

function l4HeaderLen(proto: number): number {
  return proto === IPPROTO_TCP ? 20 : 8;
}

/**
 * Builds the frame and its plan. `srcMac`/`dstMac` are the resolved addresses (settings may leave them
 * to the port). Throws a RangeError when the frame cannot hold what was asked.
 */
export function buildFrame(s: PortSettings, o: { pid: number; srcMac: string; dstMac: string }): FramePlan {
  const len = s.size - FCS;
  const proto = protoNum(s.proto);
  const l4h = l4HeaderLen(proto);
  if (len < L4_OFF + l4h) throw new RangeError(`Invalid size ${s.size} for ${s.proto}: at least ${L4_OFF + l4h + FCS}`);
  const f = new Uint8Array(len);
  f.set(macBytes(o.dstMac), 0);
  f.set(macBytes(o.srcMac), 6);
  put16(f, 12, 0x0800);
  // IPv4 header.
  f[14] = 0x45;
  put16(f, 16, len - ETH_HLEN);
  put16(f, 18, o.pid & 0xffff); // identification
  f[22] = s.ttl;
  f[23] = proto;
  put32(f, IP_SRC_OFF, s.srcIp.min);
  put32(f, IP_DST_OFF, s.dstIp.min);
  // L4 header.
  const l4len = len - L4_OFF;
  if (proto === IPPROTO_UDP) {
    put16(f, SPORT_OFF, s.sport.min);
    put16(f, DPORT_OFF, s.dport.min);
    put16(f, L4_OFF + 4, l4len);
  } else if (proto === IPPROTO_TCP) {
    put16(f, SPORT_OFF, s.sport.min);
    put16(f, DPORT_OFF, s.dport.min);
    put32(f, L4_OFF + 4, 0x12345678); // txgen's DEFAULT_PKT_NUMBER
    put32(f, L4_OFF + 8, 0x12345690); // DEFAULT_ACK_NUMBER
    f[L4_OFF + 12] = 5 << 4;
    f[L4_OFF + 13] = 0x10; // ACK
    put16(f, L4_OFF + 14, 8192); // DEFAULT_WND_SIZE
  } else {
    f[L4_OFF] = 8; // echo request
    put16(f, L4_OFF + 4, (0x5800 + o.pid) & 0xffff); // identifier
  }
  // Payload pattern.
  const pay = L4_OFF + l4h;
  if (s.pattern === "abc") for (let i = pay; i < len; i++) f[i] = 0x61 + ((i - pay) % 26);
  else if (s.pattern === "user" && s.userPattern.length > 0) {
    const u = new TextEncoder().encode(s.userPattern);
    for (let i = pay; i < len; i++) f[i] = u[(i - pay) % u.length]!;
  }
  // The tag (seq 0, time 0).
  let tagOff = -1;
  if (s.latency) {
    tagOff = tagOffset(s.proto);
    if (tagOff + TAG_LEN > len) throw new RangeError(`Invalid size ${s.size}: latency with ${s.proto} needs size >= ${tagOff + TAG_LEN + FCS}`);
    f.fill(0, tagOff, tagOff + TAG_LEN);
    put16(f, tagOff, TAG_MAGIC);
    put16(f, tagOff + 2, o.pid & 0xffff);
  }

  const hasPorts = proto !== IPPROTO_ICMP;
  const l4CsumOff = proto === IPPROTO_UDP && !s.cksum ? -1 : l4CsumOffset(proto);
  const pseudo = proto !== IPPROTO_ICMP;
  const fields: FieldPlan[] = [];
  const add = (name: FieldPlan["name"], off: number, bytes: 2 | 4, r: Range, flags: number) => {
    const n = rangeCount(r);
    if (n > 1) fields.push({ name, off, bytes, min: r.min, n, step: r.step, flags });
  };
  add("src ip", IP_SRC_OFF, 4, s.srcIp, F_IP | (pseudo ? F_L4 : 0));
  add("dst ip", IP_DST_OFF, 4, s.dstIp, F_IP | (pseudo ? F_L4 : 0));
  if (hasPorts) {
    add("sport", SPORT_OFF, 2, s.sport, F_L4);
    add("dport", DPORT_OFF, 2, s.dport, F_L4);
  }

  // Base sums: varying fields and checksum fields zeroed.
  const z = f.slice();
  for (const fp of fields) z.fill(0, fp.off, fp.off + fp.bytes);
  if (tagOff >= 0) z.fill(0, tagOff + 4, tagOff + TAG_LEN);
  put16(z, IP_CSUM_OFF, 0);
  const ipBase = fold(sum16(z, IP_OFF, L4_OFF));
  let l4Base = 0;
  if (l4CsumOff >= 0) {
    put16(z, l4CsumOff, 0);
    let sum = sum16(z, L4_OFF, len);
    if (pseudo) sum += sum16(z, IP_SRC_OFF, IP_SRC_OFF + 8) + proto + l4len;
    l4Base = fold(sum);
  }
  const plan: FramePlan = {
    frame: f, len, proto, fields, tagOff, portId: o.pid, ipBase, l4CsumOff, l4Base, l4Udp: proto === IPPROTO_UDP,
    varies: fields.length > 0 || tagOff >= 0,
  };
  // Checksums of the sequence-0 frame.
  patchFrame(plan, f, 0, 0, 0);
  return plan;
}

/**
 * Writes the varying fields of packet `seq` (tag time `tsNs`) and the checksums into the frame at
 * `b[o..]` (a UMEM view or a plain frame). Control-path form (it compiles the plan on every call) of the
 * routine the AF_XDP worker runs per packet: {@link TemplateFrames.patchAt} (tx-frames.ts).
 */
export function patchFrame(p: FramePlan, b: Uint8Array, o: number, seq: number, tsNs: number): void {
  const t = new TemplateFrames(compilePlan(p), null, seq);
  t.setTime(tsNs);
  // The frame as buffer 0 of a one-buffer "UMEM" starting at b[o].
  t.patchAt(new DataView(b.buffer, b.byteOffset + o, b.byteLength - o), 0, 0, new Uint16Array(1));
}

/**
 * Checks the IPv4 header and L4 checksums of an Ethernet/IPv4 frame (tests and diagnostics). Returns
 * null when both are right (a UDP checksum of 0 means "none" and passes), else what is wrong.
 */
export function verifyChecksums(f: Uint8Array): string | null {
  if (f.length < L4_OFF || ((f[12]! << 8) | f[13]!) !== 0x0800) return "not an IPv4 frame";
  const ihl = (f[14]! & 0x0f) * 4;
  if (fold(sum16(f, IP_OFF, IP_OFF + ihl)) !== 0xffff) return "bad IPv4 header checksum";
  const totLen = (f[16]! << 8) | f[17]!;
  const l4 = IP_OFF + ihl;
  const end = IP_OFF + totLen;
  if (end > f.length) return "IPv4 total length beyond the frame";
  const proto = f[23]!;
  if (proto === IPPROTO_UDP && f[l4 + 6] === 0 && f[l4 + 7] === 0) return null;
  let s = sum16(f, l4, end);
  if (proto === IPPROTO_UDP || proto === IPPROTO_TCP) s += sum16(f, IP_SRC_OFF, IP_SRC_OFF + 8) + proto + (end - l4);
  return fold(s) === 0xffff ? null : `bad ${proto === IPPROTO_UDP ? "UDP" : proto === IPPROTO_TCP ? "TCP" : "ICMP"} checksum`;
}

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
import { setBe16, setBe32 } from "../../wire/bytes.js";
import { cksumFold, onesSum, pseudoSum4 } from "../../wire/cksum.js";
import { ETH_DST, ETH_HLEN, ETH_SRC, ETH_TYPE, ETHERTYPE_IPV4, etherType } from "../../wire/ether.js";
import {
  IP4_CSUM, IP4_DST, IP4_HLEN, IP4_ID, IP4_PROTO, IP4_SRC, IP4_TOTLEN, IP4_TTL, IP4_VER_IHL, IPPROTO_ICMP, IPPROTO_TCP,
  IPPROTO_UDP, ip4HdrLen, ip4TotalLen,
} from "../../wire/ipv4.js";
import { UDP_CSUM, UDP_DPORT, UDP_HLEN, UDP_LEN, UDP_SPORT, udp4CksumOk } from "../../wire/udp.js";
import { TCP_ACK, TCP_CSUM, TCP_DOFF, TCP_DPORT, TCP_FLAGS, TCP_FLAG_ACK, TCP_HLEN, TCP_SEQ, TCP_SPORT, TCP_WIN, tcp4CksumOk } from "../../wire/tcp.js";
import { ICMP_CSUM, ICMP_ECHO_REQUEST, ICMP_HLEN, ICMP_ID, ICMP_TYPE, icmp4CksumOk } from "../../wire/icmp.js";

export { ETH_HLEN, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP };
/** Offset of the IPv4 header in txgen's frame (untagged Ethernet). */
export const IP_OFF = ETH_HLEN;
/** Offset of the layer 4 header (IPv4 without options). */
export const L4_OFF = IP_OFF + IP4_HLEN;
export const IP_CSUM_OFF = IP_OFF + IP4_CSUM;
export const IP_SRC_OFF = IP_OFF + IP4_SRC;
export const IP_DST_OFF = IP_OFF + IP4_DST;
/** Offsets of the ports (UDP's and TCP's are at the same place). */
export const SPORT_OFF = L4_OFF + UDP_SPORT;
export const DPORT_OFF = L4_OFF + UDP_DPORT;

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

function protoNum(p: PortSettings["proto"]): number {
  return p === "udp" ? IPPROTO_UDP : p === "tcp" ? IPPROTO_TCP : IPPROTO_ICMP;
}

/** Offset of the L4 checksum field for a protocol. */
export function l4CsumOffset(proto: number): number {
  return L4_OFF + (proto === IPPROTO_UDP ? UDP_CSUM : proto === IPPROTO_TCP ? TCP_CSUM : ICMP_CSUM);
}

function l4HeaderLen(proto: number): number {
  return proto === IPPROTO_TCP ? TCP_HLEN : proto === IPPROTO_UDP ? UDP_HLEN : ICMP_HLEN;
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
  f.set(macBytes(o.dstMac), ETH_DST);
  f.set(macBytes(o.srcMac), ETH_SRC);
  setBe16(f, ETH_TYPE, ETHERTYPE_IPV4);
  // IPv4 header.
  f[IP_OFF + IP4_VER_IHL] = 0x45;
  setBe16(f, IP_OFF + IP4_TOTLEN, len - ETH_HLEN);
  setBe16(f, IP_OFF + IP4_ID, o.pid & 0xffff);
  f[IP_OFF + IP4_TTL] = s.ttl;
  f[IP_OFF + IP4_PROTO] = proto;
  setBe32(f, IP_SRC_OFF, s.srcIp.min);
  setBe32(f, IP_DST_OFF, s.dstIp.min);
  // L4 header.
  const l4len = len - L4_OFF;
  if (proto === IPPROTO_UDP) {
    setBe16(f, L4_OFF + UDP_SPORT, s.sport.min);
    setBe16(f, L4_OFF + UDP_DPORT, s.dport.min);
    setBe16(f, L4_OFF + UDP_LEN, l4len);
  } else if (proto === IPPROTO_TCP) {
    setBe16(f, L4_OFF + TCP_SPORT, s.sport.min);
    setBe16(f, L4_OFF + TCP_DPORT, s.dport.min);
    setBe32(f, L4_OFF + TCP_SEQ, 0x12345678); // txgen's DEFAULT_PKT_NUMBER
    setBe32(f, L4_OFF + TCP_ACK, 0x12345690); // DEFAULT_ACK_NUMBER
    f[L4_OFF + TCP_DOFF] = (TCP_HLEN >>> 2) << 4;
    f[L4_OFF + TCP_FLAGS] = TCP_FLAG_ACK;
    setBe16(f, L4_OFF + TCP_WIN, 8192); // DEFAULT_WND_SIZE
  } else {
    f[L4_OFF + ICMP_TYPE] = ICMP_ECHO_REQUEST;
    setBe16(f, L4_OFF + ICMP_ID, (0x5800 + o.pid) & 0xffff);
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
    setBe16(f, tagOff, TAG_MAGIC);
    setBe16(f, tagOff + 2, o.pid & 0xffff);
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
  setBe16(z, IP_CSUM_OFF, 0);
  const ipBase = onesSum(z, IP_OFF, IP4_HLEN);
  let l4Base = 0;
  if (l4CsumOff >= 0) {
    setBe16(z, l4CsumOff, 0);
    l4Base = cksumFold(onesSum(z, L4_OFF, l4len) + (pseudo ? pseudoSum4(z, IP_OFF, proto, l4len) : 0));
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
  if (f.length < L4_OFF || etherType(f, 0) !== ETHERTYPE_IPV4) return "not an IPv4 frame";
  const ihl = ip4HdrLen(f, IP_OFF);
  if (onesSum(f, IP_OFF, ihl) !== 0xffff) return "bad IPv4 header checksum";
  const l4 = IP_OFF + ihl;
  const end = IP_OFF + ip4TotalLen(f, IP_OFF);
  if (end > f.length) return "IPv4 total length beyond the frame";
  const proto = f[IP_OFF + IP4_PROTO]!;
  if (proto === IPPROTO_UDP) return udp4CksumOk(f, IP_OFF, l4) ? null : "bad UDP checksum";
  if (proto === IPPROTO_TCP) return tcp4CksumOk(f, IP_OFF, l4) ? null : "bad TCP checksum";
  return icmp4CksumOk(f, l4, end - l4) ? null : "bad ICMP checksum";
}

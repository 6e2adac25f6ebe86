/**
 * Neighbour Discovery messages (RFC 4861 section 4.3, 4.4, 4.6.1): option parsing and the frames the stack
 * originates, a neighbour solicitation (address resolution, a unicast probe of a stale entry, or DAD from
 * the unspecified address, RFC 4862 5.4.2) and an unsolicited neighbour advertisement to all-nodes
 * (RFC 4861 7.2.6). Frames come from the pool; nothing else allocates.
 *
 * @example
 * const h2 = nsFrame(ctx, x, 0, null, 0, parseIp6("2001:db8::1"), 0, -1); // a DAD probe
 */
import { setBe16, setBe32 } from "../../wire/bytes.js";
import { ETH_HLEN } from "../../wire/ether.js";
import { ICMP_CSUM } from "../../wire/icmp.js";
import { IP6_DST, IP6_HLIM, IP6_NXT, IP6_PLEN, IP6_SRC, IPPROTO_ICMPV6 } from "../../wire/ipv6.js";
import { ICMP6_NEIGHBOR_ADVERT, ICMP6_NEIGHBOR_SOLICIT, icmp6Cksum } from "../../wire/icmp6.js";
import { C } from "../counters.js";
import { frameAt, type StackCtx } from "../context.js";
import { writeEther6, writeEther6Multicast, type Ip6Ctx } from "./context.js";

/** Offset of the target address in a solicitation or an advertisement. */
export const ND_TARGET = 8;
/** Bytes of a solicitation or an advertisement before its options. */
export const ND_HLEN = 24;
/** Option: source link-layer address. */
export const ND_OPT_SLLA = 1;
/** Option: target link-layer address. */
export const ND_OPT_TLLA = 2;
/** Advertisement flags (the byte at offset 4): router, solicited, override. */
export const ND_NA_ROUTER = 0x80;
export const ND_NA_SOLICITED = 0x40;
export const ND_NA_OVERRIDE = 0x20;
/** Bytes of an ND message with one link-layer address option (Ethernet). */
const ND_MSG_LEN = ND_HLEN + 8;

/**
 * Checks the options of an ND message in `u8[start..end)` (RFC 4861 7.1: no option of length 0, none
 * past the end); writes the offset of the source link-layer address's 6 bytes in `out[0]` and the
 * target link-layer address's in `out[1]` (-1 when absent). False when the options are malformed.
 *
 * @example
 * const opts = new Int32Array(2); // once
 * const l4 = off + 54, end = off + 86;             // an NS with one option
 * if (ndOptions(umem.u8, l4 + ND_HLEN, end, opts) && opts[0]! >= 0) console.log("has SLLA");
 */
export function ndOptions(u8: Uint8Array, start: number, end: number, out: Int32Array): boolean {
  out[0] = -1;
  out[1] = -1;
  let p = start;
  while (p < end) {
    if (p + 2 > end) return false;
    const len = u8[p + 1]! << 3;
    if (len === 0 || p + len > end) return false;
    const t = u8[p]!;
    if (len === 8 && t === ND_OPT_SLLA) out[0] = p + 2;
    else if (len === 8 && t === ND_OPT_TLLA) out[1] = p + 2;
    p += len;
  }
  return true;
}

/**
 * Writes the solicited-node multicast address of the address at `u8[target..+16)` (ff02::1:ff and its
 * last 3 bytes, RFC 4291 2.7.1) at `u8[at..+16)`.
 *
 * @example
 * solicitedNode(umem.u8, off + 14 + 24, umem.u8, off + 54 + ND_TARGET); // an NS's destination from its target
 */
export function solicitedNode(u8: Uint8Array, at: number, src: Uint8Array, target: number): void {
  setBe32(u8, at, 0xff020000);
  setBe32(u8, at + 4, 0);
  setBe32(u8, at + 8, 1);
  u8[at + 12] = 0xff;
  u8[at + 13] = src[target + 13]!;
  u8[at + 14] = src[target + 14]!;
  u8[at + 15] = src[target + 15]!;
}

/** The IPv6 header of an ND message (hop limit 255, RFC 4861 7.1) without addresses. */
function ndHeader(u8: Uint8Array, ip6: number): void {
  setBe32(u8, ip6, 0x60000000);
  setBe16(u8, ip6 + IP6_PLEN, ND_MSG_LEN);
  u8[ip6 + IP6_NXT] = IPPROTO_ICMPV6;
  u8[ip6 + IP6_HLIM] = 255;
}

/**
 * A new neighbour solicitation from lport `pid` for the target at `tBuf[tOff..+16)`, or -1 when the pool
 * is empty (counted). From `srcBuf[srcOff..+16)` with our MAC as source link-layer option, or, when
 * `srcBuf` is null, from :: without it (DAD). To the target's solicited-node group, or, when `ndSlot` is
 * a slot of the ND table, unicast to the target at that slot's MAC (a probe).
 *
 * @example
 * const h2 = nsFrame(ctx, x, 0, parseIp6("2001:db8::1"), 0, parseIp6("2001:db8::2"), 0, -1); // resolve ::2
 */
export function nsFrame(ctx: StackCtx, x: Ip6Ctx, pid: number, srcBuf: Uint8Array | null, srcOff: number, tBuf: Uint8Array, tOff: number, ndSlot: number): number {
  const h = ctx.mp.alloc();
  if (h < 0) {
    ctx.c[C.ND_NO_BUF]!++;
    return -1;
  }
  const u8 = ctx.u8;
  const off = frameAt(ctx, h);
  const ip6 = off + ETH_HLEN;
  const l4 = ip6 + 40;
  ndHeader(u8, ip6);
  if (srcBuf === null) u8.fill(0, ip6 + IP6_SRC, ip6 + IP6_SRC + 16);
  else for (let k = 0; k < 16; k++) u8[ip6 + IP6_SRC + k] = srcBuf[srcOff + k]!;
  for (let k = 0; k < 16; k++) u8[l4 + ND_TARGET + k] = tBuf[tOff + k]!;
  if (ndSlot >= 0) {
    for (let k = 0; k < 16; k++) u8[ip6 + IP6_DST + k] = tBuf[tOff + k]!;
    x.nd.copyMac(ndSlot, x.tmp, 48);
    writeEther6(ctx, off, pid, x.tmp, 48);
  } else {
    solicitedNode(u8, ip6 + IP6_DST, tBuf, tOff);
    writeEther6Multicast(ctx, off, pid, ip6 + IP6_DST);
  }
  u8[l4] = ICMP6_NEIGHBOR_SOLICIT;
  u8[l4 + 1] = 0;
  setBe32(u8, l4 + 4, 0);
  let len = ND_MSG_LEN;
  if (srcBuf === null) {
    len = ND_HLEN;
    setBe16(u8, ip6 + IP6_PLEN, ND_HLEN);
  } else {
    u8[l4 + ND_HLEN] = ND_OPT_SLLA;
    u8[l4 + ND_HLEN + 1] = 1;
    for (let k = 0; k < 6; k++) u8[l4 + ND_HLEN + 2 + k] = ctx.macs[pid * 6 + k]!;
  }
  setBe16(u8, l4 + ICMP_CSUM, 0);
  setBe16(u8, l4 + ICMP_CSUM, icmp6Cksum(u8, ip6, l4));
  ctx.dataLen[h] = ETH_HLEN + 40 + len;
  ctx.c[C.ICMP6_TX]!++;
  ctx.c[C.IP6_TX]!++;
  return h;
}

/**
 * Writes a neighbour advertisement for the target at `tBuf[tOff..+16)` (which may be inside the frame)
 * into frame `h`, from that target to `dstBuf[dstOff..+16)` (or ff02::1 when `dstBuf` is null), with
 * `flags` (ND_NA_*) and our MAC as target link-layer option, and the Ethernet header to `mac[macOff..+6)`
 * (or 33:33:00:00:00:01 for all-nodes). The caller sends it on lport `pid`.
 *
 * @example
 * writeNa(ctx, h, 0, parseIp6("2001:db8::1"), 0, null, 0, ND_NA_OVERRIDE, null, 0); // unsolicited, to all-nodes
 */
export function writeNa(ctx: StackCtx, h: number, pid: number, tBuf: Uint8Array, tOff: number, dstBuf: Uint8Array | null, dstOff: number, flags: number, mac: Uint8Array | null, macOff: number): void {
  const u8 = ctx.u8;
  const off = frameAt(ctx, h);
  const ip6 = off + ETH_HLEN;
  const l4 = ip6 + 40;
  // The target and destination may be inside this frame: place the destination first (it is never
  // where the source goes), then the target as source and as target.
  if (dstBuf === null) {
    setBe32(u8, ip6 + IP6_DST, 0xff020000);
    setBe32(u8, ip6 + IP6_DST + 4, 0);
    setBe32(u8, ip6 + IP6_DST + 8, 0);
    setBe32(u8, ip6 + IP6_DST + 12, 1);
  } else {
    for (let k = 0; k < 16; k++) u8[ip6 + IP6_DST + k] = dstBuf[dstOff + k]!;
  }
  for (let k = 0; k < 16; k++) u8[l4 + ND_TARGET + k] = tBuf[tOff + k]!;
  u8.copyWithin(ip6 + IP6_SRC, l4 + ND_TARGET, l4 + ND_TARGET + 16);
  ndHeader(u8, ip6);
  u8[l4] = ICMP6_NEIGHBOR_ADVERT;
  u8[l4 + 1] = 0;
  setBe32(u8, l4 + 4, (flags & 0xff) << 24 >>> 0);
  u8[l4 + ND_HLEN] = ND_OPT_TLLA;
  u8[l4 + ND_HLEN + 1] = 1;
  for (let k = 0; k < 6; k++) u8[l4 + ND_HLEN + 2 + k] = ctx.macs[pid * 6 + k]!;
  setBe16(u8, l4 + ICMP_CSUM, 0);
  setBe16(u8, l4 + ICMP_CSUM, icmp6Cksum(u8, ip6, l4));
  if (mac === null) writeEther6Multicast(ctx, off, pid, ip6 + IP6_DST);
  else writeEther6(ctx, off, pid, mac, macOff);
  ctx.dataLen[h] = ETH_HLEN + 40 + ND_MSG_LEN;
  ctx.c[C.ICMP6_TX]!++;
  ctx.c[C.IP6_TX]!++;
  ctx.c[C.ND_NA_OUT]!++;
}

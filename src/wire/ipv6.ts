/**
 * IPv6 header view (RFC 8200): offsets, field accessors, the validity check before forwarding, and the
 * walk over extension headers (Hop-by-Hop, Routing, Fragment, Destination Options, AH) to the upper-layer
 * header. Over a frame's bytes in the UMEM (`ip6` is the byte offset of the IPv6 header in `umem.u8`);
 * nothing here allocates.
 *
 * @example
 * const ip6 = off + ETH_HLEN;
 * const l4info = new Uint32Array(2);                   // once, outside the loop
 * const l4 = ip6L4Offset(umem.u8, ip6, off + 128, l4info);
 * if (l4 >= 0 && l4info[0] === IPPROTO_UDP) console.log("UDP at", l4);
 */
import { be16 } from "./bytes.js";

/** Bytes of an IPv6 header (extension headers follow it). */
export const IP6_HLEN = 40;
/** Offset of the version (4 bits), traffic class (8) and flow label (20), a 32-bit word. */
export const IP6_VTC_FLOW = 0;
/** Offset of the payload length (16 bits: what follows the 40-byte header, extension headers included). */
export const IP6_PLEN = 4;
/** Offset of the next header (the first extension header or the upper-layer protocol). */
export const IP6_NXT = 6;
/** Offset of the hop limit. */
export const IP6_HLIM = 7;
/** Offset of the source address (16 bytes). */
export const IP6_SRC = 8;
/** Offset of the destination address (16 bytes). */
export const IP6_DST = 24;
/** Next header value of the Hop-by-Hop Options extension header. */
export const IPPROTO_HOPOPTS = 0;
/** Next header value of the Routing extension header. */
export const IPPROTO_ROUTING = 43;
/** Next header value of the Fragment extension header. */
export const IPPROTO_FRAGMENT = 44;
/** Next header value of ESP (RFC 4303: encrypted, the walk stops there). */
export const IPPROTO_ESP = 50;
/** Next header value of the Authentication Header (RFC 4302). */
export const IPPROTO_AH = 51;
/** Next header value of ICMPv6. */
export const IPPROTO_ICMPV6 = 58;
/** Next header value "no next header". */
export const IPPROTO_NONE = 59;
/** Next header value of the Destination Options extension header. */
export const IPPROTO_DSTOPTS = 60;

/** In `out[1]` of {@link ip6L4Offset}: not a fragment (or an atomic fragment, RFC 6946). */
export const IP6_NOT_FRAGMENT = 0;
/** In `out[1]` of {@link ip6L4Offset}: the first fragment (offset 0, more to come): it has the layer 4 header. */
export const IP6_FIRST_FRAGMENT = 1;
/** In `out[1]` of {@link ip6L4Offset}: a later fragment: what follows is not a layer 4 header. */
export const IP6_LATER_FRAGMENT = 2;

/**
 * Whether the next header value `nh` is an extension header that {@link ip6L4Offset} walks over or
 * stops at (Hop-by-Hop, Routing, Fragment, ESP, AH, Destination Options).
 *
 * @example
 * const ext = ip6IsExtension(umem.u8[off + ETH_HLEN + IP6_NXT]!);
 */
export function ip6IsExtension(nh: number): boolean {
  return nh === IPPROTO_HOPOPTS || nh === IPPROTO_ROUTING || nh === IPPROTO_FRAGMENT || nh === IPPROTO_DSTOPTS ||
    nh === IPPROTO_AH || nh === IPPROTO_ESP;
}

/**
 * Walks the extension headers after the IPv6 header at `ip6`, reading nothing at or past `end`. Returns -1
 * when a header does not fit before `end`, else `rel * 1024 + frag * 256 + proto`: `rel` the offset of the
 * upper-layer header from `ip6`, `frag` 0/1/2 as {@link IP6_NOT_FRAGMENT} and the others, `proto` the
 * upper-layer protocol (59 for none, 50 for ESP, which is not walked). The walk ends at a later fragment.
 * Internal: {@link ip6L4Offset} and parsePtype unpack it.
 */
export function ip6Walk(u8: Uint8Array, ip6: number, end: number): number {
  if (ip6 + IP6_HLEN > end) return -1;
  let nh = u8[ip6 + IP6_NXT]!;
  let p = ip6 + IP6_HLEN;
  let frag = 0;
  for (;;) {
    if (nh === IPPROTO_HOPOPTS || nh === IPPROTO_ROUTING || nh === IPPROTO_DSTOPTS) {
      if (p + 8 > end) return -1;
      const next = u8[p]!;
      p += (u8[p + 1]! + 1) << 3;
      nh = next;
    } else if (nh === IPPROTO_AH) {
      if (p + 8 > end) return -1;
      const next = u8[p]!;
      p += (u8[p + 1]! + 2) << 2;
      nh = next;
    } else if (nh === IPPROTO_FRAGMENT) {
      if (p + 8 > end) return -1;
      const next = u8[p]!;
      const fo = be16(u8, p + 2);
      p += 8;
      nh = next;
      if ((fo & 0xfff8) !== 0) {
        frag = 2;
        break;
      }
      if ((fo & 1) !== 0) frag = 1;
    } else break;
  }
  return (p - ip6) * 1024 + frag * 256 + nh;
}

/**
 * The offset of the upper-layer header after the IPv6 header at `ip6` and its extension headers
 * (Hop-by-Hop, Routing, Destination Options and AH walked over; a Fragment header ends the walk when it is
 * not the first fragment), reading nothing at or past `end` (the frame's end); -1 when a header does not
 * fit. Writes the upper-layer protocol in `out[0]` (59: no next header; 50: ESP, not walked) and the
 * fragment kind in `out[1]` ({@link IP6_NOT_FRAGMENT}, {@link IP6_FIRST_FRAGMENT}, {@link IP6_LATER_FRAGMENT}).
 * Whether the upper-layer header itself fits is the caller's check.
 *
 * @example
 * const info = new Uint32Array(2);                     // once
 * const l4 = ip6L4Offset(umem.u8, off + ETH_HLEN, off + 200, info);
 * if (l4 >= 0 && info[0] === IPPROTO_TCP && info[1] !== IP6_LATER_FRAGMENT) console.log("TCP at", l4);
 */
export function ip6L4Offset(u8: Uint8Array, ip6: number, end: number, out: Uint32Array): number {
  const w = ip6Walk(u8, ip6, end);
  if (w < 0) return -1;
  out[0] = w & 0xff;
  out[1] = (w >>> 8) & 3;
  return ip6 + (w >>> 10);
}

/**
 * The payload length of the IPv6 header at `ip6` (bytes after the 40-byte header).
 *
 * @example
 * const end = off + ETH_HLEN + IP6_HLEN + ip6PayloadLen(umem.u8, off + ETH_HLEN);
 */
export function ip6PayloadLen(u8: Uint8Array, ip6: number): number {
  return (u8[ip6 + IP6_PLEN]! << 8) | u8[ip6 + IP6_PLEN + 1]!;
}

/**
 * Whether a router may forward the IPv6 header at `ip6`, of which `avail` bytes are in the frame: at
 * least 40 bytes, version 6, and 40 plus the payload length within `avail`. (IPv6 has no header checksum;
 * jumbograms, a payload length of 0 with a Jumbo option, are refused.)
 *
 * @example
 * if (!ip6HeaderOk(umem.u8, off + ETH_HLEN, 200 - ETH_HLEN)) console.log("drop");
 */
export function ip6HeaderOk(u8: Uint8Array, ip6: number, avail: number): boolean {
  if (avail < IP6_HLEN || u8[ip6]! >>> 4 !== 6) return false;
  return IP6_HLEN + ((u8[ip6 + IP6_PLEN]! << 8) | u8[ip6 + IP6_PLEN + 1]!) <= avail;
}

/**
 * Decrements the hop limit of the IPv6 header at `ip6` (no checksum covers it). The caller checks that it
 * is above 1 first (RFC 8200: a router discards the packet then).
 *
 * @example
 * const u8 = umem.u8, ip6 = off + ETH_HLEN;
 * if (u8[ip6 + IP6_HLIM]! > 1) ip6DecHopLimit(u8, ip6);
 */
export function ip6DecHopLimit(u8: Uint8Array, ip6: number): void {
  u8[ip6 + IP6_HLIM] = u8[ip6 + IP6_HLIM]! - 1;
}

/**
 * Swaps the source and destination addresses of the IPv6 header at `ip6` (a UDP, TCP or ICMPv6 checksum
 * stays valid: the pseudo-header sum does not depend on their order).
 *
 * @example
 * swapIp6(umem.u8, off + ETH_HLEN);
 */
export function swapIp6(u8: Uint8Array, ip6: number): void {
  for (let k = 0; k < 16; k++) {
    const t = u8[ip6 + IP6_SRC + k]!;
    u8[ip6 + IP6_SRC + k] = u8[ip6 + IP6_DST + k]!;
    u8[ip6 + IP6_DST + k] = t;
  }
}

/**
 * IPv4 fragmentation (RFC 791 section 3.2, RFC 815's inverse): a datagram larger than the egress MTU
 * (one frame, or an mbuf chain) is copied into new frames of at most `mtu` bytes of IP each, payloads a
 * multiple of 8 bytes; the first fragment keeps the whole header, the others a 20-byte header (no
 * option is copied: the stack sends none). DF is cleared in the fragments; the last keeps the
 * datagram's own MF. Each new frame leaves the 14 bytes of its Ethernet header for ip4_output to write.
 * The caller frees the original.
 *
 * @example
 * const out = new Uint32Array(64);
 * const k = fragment4(ctx, h, 1500, out);
 * if (k < 0) console.log("pool empty: nothing taken");
 */
import { be16, setBe16 } from "../../wire/bytes.js";
import { ETH_HLEN } from "../../wire/ether.js";
import { IP4_CSUM, IP4_DF, IP4_FRAG, IP4_MF, IP4_OFFMASK, ip4Cksum, ip4HdrLen } from "../../wire/ipv4.js";
import { frameAt, type StackCtx } from "../context.js";

/** Most fragments one datagram can need (65535 bytes in 48-byte pieces at MTU 68): the size of `out`. */
export const MAX_FRAGS_OUT = 1366;

/**
 * Copies the datagram in `h` (Ethernet header room, then IPv4 at byte 14) into fragments of at most
 * `mtu` IP bytes (also bounded by the frame room: `maxIp`), written to `out[0..k)`; returns k, or -1
 * when the pool has too few frames (none taken). A datagram that fits makes one frame (a copy of a
 * chain into one buffer).
 *
 * @example
 * const out = new Uint32Array(MAX_FRAGS_OUT);
 * const k = fragment4(ctx, h, 1500, out);
 */
export function fragment4(ctx: StackCtx, h: number, mtu: number, out: Uint32Array): number {
  const u8 = ctx.u8;
  const io = ctx.chains;
  const ip = frameAt(ctx, h) + ETH_HLEN;
  const hl = ip4HdrLen(u8, ip);
  const room = (1 << ctx.shift) - ctx.mp.umem.headroom - ETH_HLEN;
  const lim = mtu < room ? mtu : room;
  const tot = io.pktLen(h) - ETH_HLEN;
  const data = tot - hl;
  const fw = be16(u8, ip + IP4_FRAG);
  const baseOff = (fw & IP4_OFFMASK) << 3;
  const lastMf = fw & IP4_MF;
  let k: number;
  let p1: number; // payload of the first fragment
  let pn: number; // payload of the others
  if (tot <= lim) {
    k = 1;
    p1 = data;
    pn = data;
  } else {
    p1 = (lim - hl) & ~7;
    pn = (lim - 20) & ~7;
    if (p1 < 8 || pn < 8) return -1;
    k = 1 + Math.ceil((data - p1) / pn);
  }
  if (k > out.length) return -1;
  const got = ctx.mp.allocBulk(out, k);
  if (got < k) {
    ctx.mp.freeBulk(out, got);
    return -1;
  }
  let at = 0;
  for (let i = 0; i < k; i++) {
    const f = out[i]!;
    const fo = frameAt(ctx, f);
    const fip = fo + ETH_HLEN;
    const fhl = i === 0 ? hl : 20;
    const want = i === 0 ? p1 : pn;
    const len = data - at < want ? data - at : want;
    u8.copyWithin(fip, ip, ip + fhl);
    if (i > 0) u8[fip] = 0x45;
    io.copyOut(h, ETH_HLEN + hl + at, len, fip + fhl);
    setBe16(u8, fip + 2, fhl + len);
    const last = at + len >= data;
    setBe16(u8, fip + IP4_FRAG, ((fw & ~(IP4_DF | IP4_MF | IP4_OFFMASK)) | (last ? lastMf : IP4_MF) | ((baseOff + at) >>> 3)) & 0xffff);
    setBe16(u8, fip + IP4_CSUM, 0);
    setBe16(u8, fip + IP4_CSUM, ip4Cksum(u8, fip));
    ctx.dataLen[f] = ETH_HLEN + fhl + len;
    at += len;
  }
  if (k === 1) {
    // A copy, not a fragment: the header's fragment word stays the datagram's own (DF kept).
    const fip = frameAt(ctx, out[0]!) + ETH_HLEN;
    setBe16(u8, fip + IP4_FRAG, fw);
    setBe16(u8, fip + IP4_CSUM, 0);
    setBe16(u8, fip + IP4_CSUM, ip4Cksum(u8, fip));
  }
  return k;
}

/**
 * l3fwd mode's per-burst work in a worker (cndpfwd's `_l3fwd_test`, with RFC 1812 checks): for each frame
 * of a burst, an IPv4 check (ethertype 0x0800, version 4, header length, total length, header checksum)
 * and a TTL check (TTL <= 1 is dropped); one bulk FIB lookup of the burst's destination addresses; then
 * per routed frame the TTL decrement with an incremental checksum update (RFC 1624), the next hop's MAC as
 * destination, the tx port's MAC as source, and the frame goes to the tx port's pending buffer. Unrouted,
 * TTL-expired and invalid frames are freed and counted apart (per receiving port, mode-counters.ts).
 *
 * cndpfwd differs: it checks nothing, decrements the TTL of every frame, keeps the source MAC, and sends
 * frames without a route back out of the receiving port MAC-swapped.
 *
 * @example
 * const l3 = new L3fwdStage(Fib4.fromShared(s.fib), NextHopTable.fromShared(s.nextHops), portMacs, 64);
 * const dropped = l3.run(u8, u16, dataOff, dataLen, shift, bufs, n, dispatcher, dropBuf, counters, port * MC_WORDS);
 */
import { FIB_NO_ROUTE, type Fib4 } from "../../lookup/fib/index.js";
import { ip4HeaderOk, ip4DecTtl, ip4Dst, IP4_HLEN, IP4_TTL } from "../../wire/ipv4.js";
import { copyMac, etherType, ETHERTYPE_IPV4, ETH_DST, ETH_HLEN, ETH_SRC, ETH_TYPE } from "../../wire/ether.js";

/**
 * The low three bytes of the 32-bit word at the ethertype of an untagged IPv4 frame with a 20-byte header,
 * read on a little-endian CPU: bytes 08 00 45.
 */
const IP4_START_LE = 0x450008;
import { NH_MAC_STRIDE, type NextHopTable } from "./next-hops.js";
import type { Dispatcher } from "./dispatch.js";
import { MC_L3_FORWARDED, MC_L3_INVALID, MC_L3_NO_ROUTE, MC_L3_TTL } from "./mode-counters.js";

/**
 * l3fwd over one burst at a time; holds the burst-sized scratch arrays (nothing is allocated per call).
 *
 * @example
 * const l3 = new L3fwdStage(fib, nextHops, portMacs, 64);
 */
export class L3fwdStage {
  private readonly fib: Fib4;
  private readonly nhMac: Uint8Array;
  private readonly nhPort: Int32Array;
  /** Source MAC per port, {@link NH_MAC_STRIDE} bytes each. */
  private readonly portMac: Uint8Array;
  /** The same tables as 16-bit words (their strides are even). */
  private readonly nhMac16: Uint16Array;
  private readonly portMac16: Uint16Array;
  /** And as 32-bit words (empty when the port MACs do not start at a multiple of 4 bytes). */
  private readonly nhMac32: Uint32Array;
  private readonly portMac32: Uint32Array;
  private readonly ips: Uint32Array;
  private readonly nhs: Uint32Array;
  private readonly cand: Uint32Array;
  private readonly ipOff: Uint32Array;
  /** A little-endian CPU: header fields are read from 32-bit words (else byte by byte). */
  private readonly le: boolean;
  /** 32-bit words over the frames' memory (made from the `u16` of the first run over it; empty until then). */
  private u32: Uint32Array;

  constructor(fib: Fib4, nextHops: NextHopTable, portMacs: Uint8Array, burst: number) {
    this.fib = fib;
    this.nhMac = nextHops.mac;
    this.nhPort = nextHops.port;
    this.portMac = portMacs;
    this.nhMac16 = new Uint16Array(this.nhMac.buffer, this.nhMac.byteOffset, this.nhMac.byteLength >>> 1);
    this.portMac16 = new Uint16Array(portMacs.buffer, portMacs.byteOffset, portMacs.byteLength >>> 1);
    const aligned = (this.nhMac.byteOffset & 3) === 0 && (portMacs.byteOffset & 3) === 0;
    this.nhMac32 = aligned ? new Uint32Array(this.nhMac.buffer, this.nhMac.byteOffset, this.nhMac.byteLength >>> 2) : new Uint32Array(0);
    this.portMac32 = aligned ? new Uint32Array(portMacs.buffer, portMacs.byteOffset, portMacs.byteLength >>> 2) : new Uint32Array(0);
    this.ips = new Uint32Array(burst);
    this.nhs = new Uint32Array(burst);
    this.cand = new Uint32Array(burst);
    this.ipOff = new Uint32Array(burst);
    this.le = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
    this.u32 = new Uint32Array(0);
  }

  /** 32-bit words over the bytes `u16` views (a new view only when the memory changes), empty if unaligned. */
  private words(u16: Uint16Array): Uint32Array {
    const b = u16.buffer;
    if (this.u32.buffer !== b || this.u32.byteOffset !== u16.byteOffset) {
      this.u32 = (u16.byteOffset & 3) === 0 && this.le ? new Uint32Array(b, u16.byteOffset, u16.byteLength >>> 2) : new Uint32Array(0);
    }
    return this.u32;
  }

  /**
   * Routes `n` frames: routed ones go into `disp`'s buffers, the others into `drops` (returned: how many).
   * Counts into `mc[base + MC_L3_*]`. `u16` views the same bytes as `u8` (the usual header is read and
   * written as 32-bit words, and the MACs too, when the frame starts at a multiple of 4 bytes, as the
   * UMEM's frames do; MACs as 16-bit words at other even offsets).
   *
   * Two passes over the burst with one bulk FIB lookup between them. The first checks each frame and
   * already decrements the TTL of those that pass (a frame that then finds no route is dropped anyway);
   * the second writes the MACs and queues the frame on its port.
   */
  run(u8: Uint8Array, u16: Uint16Array, dataOff: Uint16Array, dataLen: Uint16Array, shift: number, bufs: Uint32Array, n: number, disp: Dispatcher, drops: Uint32Array, mc: Float64Array, base: number): number {
    const ips = this.ips, cand = this.cand, ipOff = this.ipOff, nhs = this.nhs;
    const u32 = this.words(u16);
    // Locals: each use of a module binding is a load and a check in optimized code.
    const ethHlen = ETH_HLEN, ip4Hlen = IP4_HLEN, ethType = ETH_TYPE, ip4Start = IP4_START_LE, miss = FIB_NO_ROUTE;
    let k = 0;
    let nd = 0;
    let invalid = 0, ttl = 0;
    for (let i = 0; i < n; i++) {
      const h = bufs[i]!;
      const o = ((h << shift) >>> 0) + dataOff[h]!;
      const ip = o + ethHlen;
      const avail = dataLen[h]! - ethHlen;
      if ((o & 3) === 0 && avail >= ip4Hlen + 2 && u32.length !== 0) {
        // The usual case, a frame at a multiple of 4 bytes: the ethertype and the header as six 32-bit
        // words from the ethertype on (little-endian numbers over big-endian fields). The one's
        // complement sum does not depend on the byte order, so the checksum is checked on the 16-bit
        // halves of these words and updated in them. The sixth word's upper half is the layer 4 header.
        const w = (o + ethType) >>> 2;
        const x0 = u32[w]!;
        if ((x0 & 0xffffff) === ip4Start) {
          const x1 = u32[w + 1]!, x2 = u32[w + 2]!, x3 = u32[w + 3]!, x4 = u32[w + 4]!, x5 = u32[w + 5]!;
          let sum = (x0 >>> 16) + (x1 & 0xffff) + (x1 >>> 16) + (x2 & 0xffff) + (x2 >>> 16) + (x3 & 0xffff) + (x3 >>> 16) + (x4 & 0xffff) + (x4 >>> 16) + (x5 & 0xffff);
          sum = (sum & 0xffff) + (sum >>> 16);
          sum = (sum & 0xffff) + (sum >>> 16);
          const tot = ((x1 & 0xff) << 8) | ((x1 >>> 8) & 0xff);
          if (tot < ip4Hlen || tot > avail || sum !== 0xffff) {
            drops[nd++] = h;
            invalid++;
            continue;
          }
          // RFC 1812 5.3.1: TTL 0 or 1 is not forwarded (checked before the route, as the XDP fast path does).
          if (((x2 >>> 16) & 0xff) <= 1) {
            drops[nd++] = h;
            ttl++;
            continue;
          }
          // TTL - 1 (the third byte of x2) and RFC 1624's checksum update for it (the low half of x3): the
          // TTL/protocol word drops by 0x0100 in network order, so HC' = ~(~HC + 0xfeff), 0xfffe swapped.
          u32[w + 2] = x2 - 0x10000;
          const c = (~x3 & 0xffff) + 0xfffe;
          u32[w + 3] = (x3 & 0xffff0000) | (~((c & 0xffff) + (c >>> 16)) & 0xffff);
          cand[k] = h;
          ipOff[k] = ip;
          ips[k] = ((((x4 >>> 16) & 0xff) << 24) | ((x4 >>> 24) << 16) | ((x5 & 0xff) << 8) | ((x5 >>> 8) & 0xff)) >>> 0;
          k++;
          continue;
        }
      }
      // Anything else: ethertype 0x0800 (untagged IPv4), then RFC 1812's header checks byte by byte.
      if (etherType(u8, o) !== ETHERTYPE_IPV4 || !ip4HeaderOk(u8, ip, avail)) {
        drops[nd++] = h;
        invalid++;
        continue;
      }
      if (u8[ip + IP4_TTL]! <= 1) {
        drops[nd++] = h;
        ttl++;
        continue;
      }
      ip4DecTtl(u8, ip);
      cand[k] = h;
      ipOff[k] = ip;
      ips[k] = ip4Dst(u8, ip);
      k++;
    }
    let noRoute = 0, fwd = 0;
    if (k > 0) {
      this.fib.lookupBulk(ips, nhs, k);
      const nhMac = this.nhMac, nhPort = this.nhPort, portMac = this.portMac;
      const nhMac16 = this.nhMac16, portMac16 = this.portMac16, nhMac32 = this.nhMac32, portMac32 = this.portMac32;
      const bufsOut = disp.bufs, count = disp.count;
      const words = u32.length !== 0 && nhMac32.length !== 0;
      // Frames in a row mostly share their next hop: its port, its MAC words and the port's pending
      // buffer are looked up when the next hop changes, and the buffer's count is written back when the
      // port changes and at the end.
      let last = -1, port = 0, m0 = 0, m1 = 0, m2 = 0;
      let outPort = -1, out = this.ips, c = 0;
      for (let i = 0; i < k; i++) {
        const h = cand[i]!;
        const nh = nhs[i]!;
        if (nh === miss) {
          drops[nd++] = h;
          noRoute++;
          continue;
        }
        if (nh !== last) {
          last = nh;
          port = nhPort[nh]!;
          if (words) {
            // Destination then source MAC as three 32-bit words.
            const a = nh * (NH_MAC_STRIDE >>> 2), b = port * (NH_MAC_STRIDE >>> 2);
            const s0 = portMac32[b]!;
            m0 = nhMac32[a]!;
            m1 = (nhMac32[a + 1]! & 0xffff) | (s0 << 16);
            m2 = (s0 >>> 16) | (portMac32[b + 1]! << 16);
          }
          if (port !== outPort) {
            if (outPort >= 0) count[outPort] = c;
            outPort = port;
            out = bufsOut[port]!;
            c = count[port]!;
          }
        }
        const o = ipOff[i]! - ethHlen;
        if ((o & 3) === 0 && words) {
          const w = o >>> 2;
          u32[w] = m0;
          u32[w + 1] = m1;
          u32[w + 2] = m2;
        } else if ((o & 1) === 0) {
          const w = (o + ETH_DST) >>> 1, ws = (o + ETH_SRC) >>> 1;
          const a = nh * (NH_MAC_STRIDE >>> 1), b = port * (NH_MAC_STRIDE >>> 1);
          u16[w] = nhMac16[a]!; u16[w + 1] = nhMac16[a + 1]!; u16[w + 2] = nhMac16[a + 2]!;
          u16[ws] = portMac16[b]!; u16[ws + 1] = portMac16[b + 1]!; u16[ws + 2] = portMac16[b + 2]!;
        } else {
          copyMac(u8, o + ETH_DST, nhMac, nh * NH_MAC_STRIDE);
          copyMac(u8, o + ETH_SRC, portMac, port * NH_MAC_STRIDE);
        }
        out[c++] = h;
        fwd++;
      }
      if (outPort >= 0) count[outPort] = c;
    }
    mc[base + MC_L3_FORWARDED]! += fwd;
    mc[base + MC_L3_NO_ROUTE]! += noRoute;
    mc[base + MC_L3_TTL]! += ttl;
    mc[base + MC_L3_INVALID]! += invalid;
    return nd;
  }
}

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
import { ip4HeaderOk, ip4DecTtl, ip4Dst, IP4_HLEN, IP4_TOTLEN, IP4_TTL } from "../../wire/ipv4.js";
import { copyMac, etherType, ETHERTYPE_IPV4, ETH_DST, ETH_HLEN, ETH_SRC } from "../../wire/ether.js";
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
  private readonly ips: Uint32Array;
  private readonly nhs: Uint32Array;
  private readonly cand: Uint32Array;
  private readonly ipOff: Uint32Array;

  constructor(fib: Fib4, nextHops: NextHopTable, portMacs: Uint8Array, burst: number) {
    this.fib = fib;
    this.nhMac = nextHops.mac;
    this.nhPort = nextHops.port;
    this.portMac = portMacs;
    this.nhMac16 = new Uint16Array(this.nhMac.buffer, this.nhMac.byteOffset, this.nhMac.byteLength >>> 1);
    this.portMac16 = new Uint16Array(portMacs.buffer, portMacs.byteOffset, portMacs.byteLength >>> 1);
    this.ips = new Uint32Array(burst);
    this.nhs = new Uint32Array(burst);
    this.cand = new Uint32Array(burst);
    this.ipOff = new Uint32Array(burst);
  }

  /**
   * Routes `n` frames: routed ones go into `disp`'s buffers, the others into `drops` (returned: how many).
   * Counts into `mc[base + MC_L3_*]`. `u16` views the same bytes as `u8` (MACs and the usual header are
   * read and written as 16-bit words when the frame starts at an even offset, as the UMEM's frames do).
   */
  run(u8: Uint8Array, u16: Uint16Array, dataOff: Uint16Array, dataLen: Uint16Array, shift: number, bufs: Uint32Array, n: number, disp: Dispatcher, drops: Uint32Array, mc: Float64Array, base: number): number {
    const ips = this.ips, cand = this.cand, ipOff = this.ipOff, nhs = this.nhs;
    let k = 0;
    let nd = 0;
    let invalid = 0, ttl = 0;
    for (let i = 0; i < n; i++) {
      const h = bufs[i]!;
      const o = ((h << shift) >>> 0) + dataOff[h]!;
      const ip = o + ETH_HLEN;
      const avail = dataLen[h]! - ETH_HLEN;
      // Ethertype 0x0800 (untagged IPv4), then RFC 1812's header checks within the frame's bytes.
      let ok = etherType(u8, o) === ETHERTYPE_IPV4;
      if (ok) {
        if ((ip & 1) === 0 && u8[ip] === 0x45 && avail >= IP4_HLEN) {
          // The usual header (version 4, IHL 5) at an even offset: ip4HeaderOk's checks, the checksum
          // summed as ten 16-bit loads (the one's complement sum does not depend on the byte order).
          const tot = (u8[ip + IP4_TOTLEN]! << 8) | u8[ip + IP4_TOTLEN + 1]!;
          const w = ip >>> 1;
          let sum = u16[w]! + u16[w + 1]! + u16[w + 2]! + u16[w + 3]! + u16[w + 4]! + u16[w + 5]! + u16[w + 6]! + u16[w + 7]! + u16[w + 8]! + u16[w + 9]!;
          sum = (sum & 0xffff) + (sum >>> 16);
          sum = (sum & 0xffff) + (sum >>> 16);
          ok = tot >= IP4_HLEN && tot <= avail && sum === 0xffff;
        } else {
          ok = ip4HeaderOk(u8, ip, avail);
        }
      }
      if (!ok) {
        drops[nd++] = h;
        invalid++;
        continue;
      }
      // RFC 1812 5.3.1: TTL 0 or 1 is not forwarded (checked before the route, as the XDP fast path does).
      if (u8[ip + IP4_TTL]! <= 1) {
        drops[nd++] = h;
        ttl++;
        continue;
      }
      cand[k] = h;
      ipOff[k] = ip;
      ips[k] = ip4Dst(u8, ip);
      k++;
    }
    let noRoute = 0, fwd = 0;
    if (k > 0) {
      this.fib.lookupBulk(ips, nhs, k);
      const nhMac = this.nhMac, nhPort = this.nhPort, portMac = this.portMac;
      const nhMac16 = this.nhMac16, portMac16 = this.portMac16;
      const bufsOut = disp.bufs, count = disp.count;
      for (let i = 0; i < k; i++) {
        const h = cand[i]!;
        const nh = nhs[i]!;
        if (nh === FIB_NO_ROUTE) {
          drops[nd++] = h;
          noRoute++;
          continue;
        }
        const ip = ipOff[i]!;
        ip4DecTtl(u8, ip);
        const port = nhPort[nh]!;
        const o = ip - ETH_HLEN;
        if ((o & 1) === 0) {
          const w = (o + ETH_DST) >>> 1, ws = (o + ETH_SRC) >>> 1;
          const a = nh * (NH_MAC_STRIDE >>> 1), b = port * (NH_MAC_STRIDE >>> 1);
          u16[w] = nhMac16[a]!; u16[w + 1] = nhMac16[a + 1]!; u16[w + 2] = nhMac16[a + 2]!;
          u16[ws] = portMac16[b]!; u16[ws + 1] = portMac16[b + 1]!; u16[ws + 2] = portMac16[b + 2]!;
        } else {
          copyMac(u8, o + ETH_DST, nhMac, nh * NH_MAC_STRIDE);
          copyMac(u8, o + ETH_SRC, portMac, port * NH_MAC_STRIDE);
        }
        const c = count[port]!;
        bufsOut[port]![c] = h;
        count[port] = c + 1;
        fwd++;
      }
    }
    mc[base + MC_L3_FORWARDED]! += fwd;
    mc[base + MC_L3_NO_ROUTE]! += noRoute;
    mc[base + MC_L3_TTL]! += ttl;
    mc[base + MC_L3_INVALID]! += invalid;
    return nd;
  }
}

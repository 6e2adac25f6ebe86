/**
 * acl-strict and acl-permissive modes' per-burst work in a worker (cndpfwd's `acl_fwd_test`): frames that
 * are not valid IPv4 are dropped first (the prefilter: ethertype 0x0800 and RFC 1812's header checks); the
 * others are classified in one bulk call on (protocol, source, destination); a frame a rule denies is
 * dropped, one a rule allows is forwarded, and one no rule matches is dropped in acl-strict and forwarded
 * in acl-permissive. Forwarded as cndpfwd's fwd mode does: to the lport the last octet of the destination
 * MAC names (or back out of the receiving port when there is no such lport), with the MAC addresses
 * swapped.
 *
 * The classifier comes from the control thread's `/acl/build` through a SharedSlot: `poll()` once per
 * loop costs one Atomics load while nothing changed.
 *
 * @example
 * const st = new AclStage(Acl.fromShared(slot.current), false, 64);
 * const dropped = st.run(u8, u16, dataOff, dataLen, shift, bufs, n, inPort, dispatcher, dropBuf, counters, inPort * MC_WORDS);
 */
import type { Acl } from "../../lookup/acl/index.js";
import { ip4HeaderOk, ip4Src, ip4Dst, IP4_PROTO } from "../../wire/ipv4.js";
import { etherType, ETHERTYPE_IPV4, ETH_DST, ETH_HLEN, ETH_SRC, swapMac } from "../../wire/ether.js";
import { DST_LPORT } from "./modes.js";
import type { Dispatcher } from "./dispatch.js";
import { MC_ACL_DENY, MC_ACL_PERMIT, MC_ACL_PREFILTER } from "./mode-counters.js";

/**
 * ACL filtering over one burst at a time; holds the scratch arrays.
 *
 * @example
 * const st = new AclStage(acl, true, 64); // acl-permissive
 * st.acl = Acl.fromShared(newer);         // after /acl/build
 */
export class AclStage {
  /** The classifier in use; replaced when a new build arrives. */
  acl: Acl;
  readonly permissive: boolean;
  private readonly keys: Uint32Array;
  private readonly results: Uint32Array;
  private readonly cand: Uint32Array;

  constructor(acl: Acl, permissive: boolean, burst: number) {
    this.acl = acl;
    this.permissive = permissive;
    this.keys = new Uint32Array(burst * 4);
    this.results = new Uint32Array(burst);
    this.cand = new Uint32Array(burst);
  }

  /**
   * Filters `n` frames received on port `inPort`: forwarded ones go into `disp`'s buffers, the others
   * into `drops` (returned: how many). Counts into `mc[base + MC_ACL_*]`. `u16` views the bytes of `u8`.
   */
  run(u8: Uint8Array, u16: Uint16Array, dataOff: Uint16Array, dataLen: Uint16Array, shift: number, bufs: Uint32Array, n: number, inPort: number, disp: Dispatcher, drops: Uint32Array, mc: Float64Array, base: number): number {
    const keys = this.keys, cand = this.cand, res = this.results;
    let k = 0;
    let nd = 0;
    for (let i = 0; i < n; i++) {
      const h = bufs[i]!;
      const o = ((h << shift) >>> 0) + dataOff[h]!;
      const ip = o + ETH_HLEN;
      if (etherType(u8, o) !== ETHERTYPE_IPV4 || !ip4HeaderOk(u8, ip, dataLen[h]! - ETH_HLEN)) {
        drops[nd++] = h;
        continue;
      }
      const w = k << 2;
      keys[w] = u8[ip + IP4_PROTO]!;
      keys[w + 1] = ip4Src(u8, ip);
      keys[w + 2] = ip4Dst(u8, ip);
      keys[w + 3] = 0; // cndpfwd's rules match no ports
      cand[k++] = h;
    }
    const prefiltered = nd;
    let permit = 0;
    if (k > 0) {
      this.acl.classifyBulk(keys, k, res);
      const permissive = this.permissive;
      const nports = disp.n;
      const bufsOut = disp.bufs, count = disp.count;
      for (let i = 0; i < k; i++) {
        const h = cand[i]!;
        const r = res[i]!;
        // Odd userdata: an allow rule matched; even and non-zero: a deny rule; 0: none.
        if (r === 0 ? !permissive : (r & 1) === 0) {
          drops[nd++] = h;
          continue;
        }
        const o = ((h << shift) >>> 0) + dataOff[h]!;
        let dst = u8[o + DST_LPORT]!;
        if (dst >= nports) dst = inPort;
        if ((o & 1) === 0) {
          const w = (o + ETH_DST) >>> 1, ws = (o + ETH_SRC) >>> 1;
          const a0 = u16[w]!, a1 = u16[w + 1]!, a2 = u16[w + 2]!;
          u16[w] = u16[ws]!; u16[w + 1] = u16[ws + 1]!; u16[w + 2] = u16[ws + 2]!;
          u16[ws] = a0; u16[ws + 1] = a1; u16[ws + 2] = a2;
        } else {
          swapMac(u8, o);
        }
        const c = count[dst]!;
        bufsOut[dst]![c] = h;
        count[dst] = c + 1;
        permit++;
      }
    }
    mc[base + MC_ACL_PREFILTER]! += prefiltered;
    mc[base + MC_ACL_PERMIT]! += permit;
    mc[base + MC_ACL_DENY]! += nd - prefiltered;
    return nd;
  }
}

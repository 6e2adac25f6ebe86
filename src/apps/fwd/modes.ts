/**
 * The forwarder's modes as per-burst functions (CNDP cndpfwd): drop/rx-only, lb/loopback (MAC swap and
 * send back), tx-only (64-byte UDP), tx-only-rx, fwd (destination port from the last octet of the
 * destination MAC), l3fwd (routes, l3fwd.ts) and acl-strict / acl-permissive (acl.ts). They work on
 * handles in place through the UMEM views; none allocates.
 */

import { udpFrame, type UdpFrameOptions } from "../../wire/udp-frame.js";
import { copyTemplate } from "../../wire/frame-template.js";
import { ETH_ALEN, ETH_DST, ETH_SRC, swapMac } from "../../wire/ether.js";

/** 16-bit words from the destination MAC to the source MAC. */
const SRC_W = (ETH_SRC - ETH_DST) >>> 1;
/** Octet of the destination MAC that names fwd mode's port (cndpfwd's DST_LPORT: the last). */
export const DST_LPORT = ETH_DST + ETH_ALEN - 1;

export const MODES = ["drop", "rx-only", "lb", "loopback", "tx-only", "tx-only-rx", "fwd", "l3fwd", "acl-strict", "acl-permissive"] as const;
export type FwdMode = (typeof MODES)[number];

export const M_DROP = 0;
export const M_LB = 1;
export const M_TXONLY = 2;
export const M_TXONLY_RX = 3;
export const M_FWD = 4;
export const M_L3FWD = 5;
export const M_ACL_STRICT = 6;
export const M_ACL_PERMISSIVE = 7;

/** Modes that send a frame to another port (fwd's inboxes, one UMEM for every port). */
export function sendsToAnyPort(mode: number): boolean {
  return mode === M_FWD || mode === M_L3FWD || mode === M_ACL_STRICT || mode === M_ACL_PERMISSIVE;
}

/** The mode's number for the loop's switch; throws a clear error for an unknown name. */
export function modeId(mode: string): number {
  switch (mode) {
    case "drop": case "rx-only": return M_DROP;
    case "lb": case "loopback": return M_LB;
    case "tx-only": return M_TXONLY;
    case "tx-only-rx": return M_TXONLY_RX;
    case "fwd": return M_FWD;
    case "l3fwd": return M_L3FWD;
    case "acl-strict": return M_ACL_STRICT;
    case "acl-permissive": return M_ACL_PERMISSIVE;
    default:
      throw new RangeError(`Unknown forwarding mode '${mode}': expected one of ${MODES.join(", ")}`);
  }
}

/**
 * Swaps source and destination MAC addresses of `n` packets in place. `u16` and `u8` view the UMEM;
 * Ethernet headers at even offsets (the usual 256) use three 16-bit swaps, odd ones bytes.
 */
export function macSwap(u8: Uint8Array, u16: Uint16Array, dataOff: Uint16Array, shift: number, bufs: Uint32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const h = bufs[i]!;
    const o = ((h << shift) >>> 0) + dataOff[h]!;
    if ((o & 1) === 0) {
      const w = (o + ETH_DST) >>> 1;
      const a0 = u16[w]!, a1 = u16[w + 1]!, a2 = u16[w + 2]!;
      u16[w] = u16[w + SRC_W]!; u16[w + 1] = u16[w + SRC_W + 1]!; u16[w + 2] = u16[w + SRC_W + 2]!;
      u16[w + SRC_W] = a0; u16[w + SRC_W + 1] = a1; u16[w + SRC_W + 2] = a2;
    } else {
      swapMac(u8, o);
    }
  }
}

/**
 * The template for tx-only: a UDP/IPv4 frame of `size` bytes (64 by default, as cndpfwd) as 32-bit words,
 * so it is copied with word stores.
 */
export function txTemplate(opts: UdpFrameOptions = {}): Uint32Array {
  const size = opts.size ?? 64;
  if (size < 60 || size > 1514) throw new RangeError(`Invalid tx-only packet size ${size}: 60 to 1514`);
  const f = udpFrame({ ...opts, size });
  return new Uint32Array(f.buffer, 0, f.buffer.byteLength / 4);
}

/**
 * Writes the template into `n` fresh buffers and sets their length. `tpl8` views the same bytes as `tpl`
 * (made once by the caller: a view per burst would allocate).
 */
export function fillTemplate(u8: Uint8Array, u32: Uint32Array, dataOff: Uint16Array, dataLen: Uint16Array, shift: number, tpl: Uint32Array, tpl8: Uint8Array, size: number, bufs: Uint32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const h = bufs[i]!;
    copyTemplate(u8, u32, ((h << shift) >>> 0) + dataOff[h]!, tpl, tpl8, size);
    dataLen[h] = size;
  }
}

/** The destination port of a packet in fwd mode: the last octet of its destination MAC. */
export function fwdPort(u8: Uint8Array, dataOff: Uint16Array, shift: number, h: number): number {
  return u8[((h << shift) >>> 0) + dataOff[h]! + DST_LPORT]!;
}

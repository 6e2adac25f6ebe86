/**
 * What the IPv6 nodes of one worker's stack share beside the stack's context: the ND table, our addresses
 * with their DAD state, per-frame fields (where the upper-layer header starts; the interface a reply must
 * leave by), scratch, and the helpers that write Ethernet headers for IPv6 and release frames that waited
 * for a neighbour. Built once per worker ({@link makeIp6Ctx}); nothing here allocates per packet.
 *
 * @example
 * const x = makeIp6Ctx(ctx, NdTable.create(), Ip6Addrs.create());
 */
import type { Graph } from "../../graph/graph.js";
import { setBe16 } from "../../wire/bytes.js";
import { ETH_DST, ETH_SRC, ETH_TYPE, ETHERTYPE_IPV6 } from "../../wire/ether.js";
import { C } from "../counters.js";
import { frameAt, type StackCtx } from "../context.js";
import { pidOfIfindex } from "../nodes/arp.js";
import type { NdTable } from "./nd-table.js";
import type { Ip6Addrs } from "./addrs.js";

/** The IPv6 state of a worker's stack. See the module comment. */
export interface Ip6Ctx {
  readonly nd: NdTable;
  readonly addrs: Ip6Addrs;
  /** Per frame handle: the upper-layer header's offset from the frame's data start (set by ip6_input). */
  readonly l4Off: Uint16Array;
  /**
   * Per frame handle, for ip6_output: the ifindex a link-local or multicast destination is reached on
   * (the interface the request came in on; 0: none, such a destination is dropped as no route).
   */
  readonly oif: Int32Array;
  /** Scratch: addresses (16 bytes each at 0, 16, 32, 48). */
  readonly tmp: Uint8Array;
  /**
   * Per frame handle, 16 bytes at `h * 16`: a UDP datagram's IPv6 peer (received: its source; to send:
   * its destination). Channels read and write it (chnl.ts); `chnl.fam[h]` says whether it applies.
   */
  readonly peer6: Uint8Array;
  /**
   * Per frame handle, 16 bytes at `h * 16`: a UDP datagram's local IPv6 address (received: its
   * destination; to send: its source, :: for the outgoing interface's).
   */
  readonly local6: Uint8Array;
}

/**
 * Builds a worker's IPv6 context.
 *
 * @example
 * const x = makeIp6Ctx(ctx, NdTable.create(), Ip6Addrs.create());
 */
export function makeIp6Ctx(ctx: StackCtx, nd: NdTable, addrs: Ip6Addrs): Ip6Ctx {
  const count = ctx.mp.mbufs.count;
  return {
    nd, addrs, l4Off: new Uint16Array(count), oif: new Int32Array(count), tmp: new Uint8Array(64),
    peer6: new Uint8Array(16 * count), local6: new Uint8Array(16 * count),
  };
}

/**
 * Writes an IPv6 Ethernet header at `off`: destination `mac[macOff..+6)`, source lport `pid`'s MAC.
 *
 * @example
 * writeEther6(ctx, frameAt(ctx, h), 0, parseMac("02:00:00:00:00:02"), 0);
 */
export function writeEther6(ctx: StackCtx, off: number, pid: number, mac: Uint8Array, macOff: number): void {
  const u8 = ctx.u8;
  const m = pid * 6;
  for (let k = 0; k < 6; k++) {
    u8[off + ETH_DST + k] = mac[macOff + k]!;
    u8[off + ETH_SRC + k] = ctx.macs[m + k]!;
  }
  setBe16(u8, off + ETH_TYPE, ETHERTYPE_IPV6);
}

/**
 * Writes the multicast Ethernet destination of the IPv6 multicast address at `u8[dst..+16)` (RFC 2464
 * section 7: 33:33 and the address's last 4 bytes) and lport `pid`'s source at `off`.
 *
 * @example
 * writeEther6Multicast(ctx, frameAt(ctx, h), 0, frameAt(ctx, h) + 14 + 24);
 */
export function writeEther6Multicast(ctx: StackCtx, off: number, pid: number, dst: number): void {
  const u8 = ctx.u8;
  u8[off] = 0x33;
  u8[off + 1] = 0x33;
  for (let k = 0; k < 4; k++) u8[off + 2 + k] = u8[dst + 12 + k]!;
  const m = pid * 6;
  for (let k = 0; k < 6; k++) u8[off + ETH_SRC + k] = ctx.macs[m + k]!;
  setBe16(u8, off + ETH_TYPE, ETHERTYPE_IPV6);
}

/**
 * Sends the frames waiting on ND slot `s` (now resolved) with its MAC through `tx[pid]` (frames whose
 * interface is not served here go to edge 0, pkt_drop). Returns how many were sent.
 *
 * @example
 * // inside a node's process(g, node): tx[pid] is the edge to lport pid's pktdev_tx, s the resolved slot
 * declare const g: import("xdplane/graph").Graph, node: number, tx: Int32Array, s: number;
 * const sent = releasePending6(ctx, x, g, node, tx, s);
 */
export function releasePending6(ctx: StackCtx, x: Ip6Ctx, g: Graph, node: number, tx: Int32Array, s: number): number {
  const nd = x.nd;
  const k = nd.takePending(s, ctx.scratch, 0);
  if (k === 0) return 0;
  const pid = pidOfIfindex(ctx, nd.ifindexAt(s));
  const c = ctx.c;
  let sent = 0;
  for (let i = 0; i < k; i++) {
    const h = ctx.scratch[i]!;
    if (pid < 0 || tx[pid]! < 0) {
      c[C.IP6_DROP_NO_ROUTE]!++;
      g.enqueue1(node, 0, h);
      continue;
    }
    const off = frameAt(ctx, h);
    nd.copyMac(s, ctx.u8, off + ETH_DST);
    const m = pid * 6;
    for (let j = 0; j < 6; j++) ctx.u8[off + ETH_SRC + j] = ctx.macs[m + j]!;
    setBe16(ctx.u8, off + ETH_TYPE, ETHERTYPE_IPV6);
    g.enqueue1(node, tx[pid]!, h);
    sent++;
  }
  c[C.ND_PENDING_SENT] = c[C.ND_PENDING_SENT]! + sent;
  c[C.IP6_TX] = c[C.IP6_TX]! + sent;
  return sent;
}

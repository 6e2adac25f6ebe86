/**
 * What every node of one worker's stack shares: the frame views, the tables, the ARP table, the
 * counters, the served lports' MACs and ifindexes, the UDP port bindings, the clock of the current walk,
 * and the frame-building helpers (Ethernet header, ARP request). Built once per worker
 * ({@link makeStackCtx}); nothing here allocates per packet.
 *
 * @example
 * const ctx = makeStackCtx({ mempool, tables: NetTables.create(), arp: ArpTable.create(), counters: CnetCounters.create(), ports: [{ pid: 0, ifindex: 5, mac: new Uint8Array(6) }] });
 */
import type { Mempool } from "../mem/mempool.js";
import { setBe16, setBe32 } from "../wire/bytes.js";
import { ETH_DST, ETH_HLEN, ETH_SRC, ETH_TYPE, ETHERTYPE_ARP } from "../wire/ether.js";
import { ARP_HLEN, ARP_OP, ARP_OP_REQUEST, ARP_SHA, ARP_SPA, ARP_THA, ARP_TPA } from "../wire/arp.js";
import type { NetTables } from "./tables.js";
import type { ArpTable } from "./arp-table.js";
import type { CnetCounters } from "./counters.js";
import { C } from "./counters.js";
import { ChainIo } from "./frag/chain-io.js";
import { IcmpRateLimit, type IcmpRateOptions } from "./frag/icmp-rate.js";

/** One lport the stack serves. */
export interface StackPort {
  pid: number;
  ifindex: number;
  mac: Uint8Array;
}

/** The shared state of a worker's stack. See the module comment. */
export interface StackCtx {
  readonly mp: Mempool;
  readonly u8: Uint8Array;
  readonly shift: number;
  readonly dataOff: Uint16Array;
  readonly dataLen: Uint16Array;
  readonly ptype: Uint32Array;
  /** The lport a frame came in on (set by cnet_rx). */
  readonly rxPort: Uint16Array;
  readonly tables: NetTables;
  readonly arp: ArpTable;
  readonly c: Float64Array;
  /** The served lports. */
  readonly ports: readonly StackPort[];
  /** MAC of lport pid at `pid * 6`. */
  readonly macs: Uint8Array;
  /** ifindex of lport pid (0: not served here). */
  readonly ifindexOf: Int32Array;
  /** UDP port -> channel id, or -1 when nothing is bound. */
  readonly udpBound: Int32Array;
  /**
   * Per frame handle, the datagram's two ends: received, the peer is its source and local its
   * destination; to send, the peer is the destination and local the source (address 0: the outgoing
   * interface's).
   */
  readonly peerIp: Uint32Array;
  readonly peerPort: Uint16Array;
  readonly localIp: Uint32Array;
  readonly localPort: Uint16Array;
  /**
   * The time in ms (`Date.now()` scale) in `clock[0]`: a shared word another thread keeps current (the
   * app's main thread, every 10 ms), or, when `ownClock`, read by cnet_timer once per walk (Date.now()
   * returns a boxed number: about 16 bytes of garbage per walk).
   */
  readonly clock: Float64Array;
  readonly ownClock: boolean;
  /** Scratch for frames released from an ARP queue. */
  readonly scratch: Uint32Array;
  /** Byte ranges and sums across mbuf chains (reassembled datagrams, large datagrams to send). */
  readonly chains: ChainIo;
  /** The ICMP error token bucket (frag/icmp-rate.ts). */
  readonly icmpRate: IcmpRateLimit;
  /**
   * Punting is on (punt.ts): what the stack does not handle goes to the kernel through the TAP
   * (`punt_tap`) instead of pkt_drop, ICMP port/protocol unreachable or a TCP RST.
   */
  readonly punt: boolean;
}

/**
 * Builds a worker's context.
 *
 * @example
 * const ctx = makeStackCtx({ mempool, tables: NetTables.create(), arp: ArpTable.create(), counters: CnetCounters.create(), ports: [] });
 */
export function makeStackCtx(o: { mempool: Mempool; tables: NetTables; arp: ArpTable; counters: CnetCounters; ports: readonly StackPort[]; clock?: Float64Array; icmpRate?: IcmpRateOptions; punt?: boolean }): StackCtx {
  const maxPid = Math.max(0, ...o.ports.map((p) => p.pid));
  const macs = new Uint8Array(6 * (maxPid + 1));
  const ifindexOf = new Int32Array(maxPid + 1);
  for (const p of o.ports) {
    if (p.mac.length !== 6) throw new RangeError(`cnet: lport ${p.pid}: MAC of ${p.mac.length} bytes`);
    macs.set(p.mac, p.pid * 6);
    ifindexOf[p.pid] = p.ifindex;
  }
  const mp = o.mempool;
  const count = mp.mbufs.count;
  return {
    mp, u8: mp.umem.u8, shift: mp.umem.shift, dataOff: mp.mbufs.dataOff, dataLen: mp.mbufs.dataLen, ptype: mp.mbufs.ptype, rxPort: mp.mbufs.port,
    tables: o.tables, arp: o.arp, c: o.counters.v, ports: o.ports, macs, ifindexOf,
    udpBound: new Int32Array(65536).fill(-1), peerIp: new Uint32Array(count), peerPort: new Uint16Array(count),
    localIp: new Uint32Array(count), localPort: new Uint16Array(count),
    clock: o.clock ?? Float64Array.of(Date.now()), ownClock: o.clock === undefined, scratch: new Uint32Array(256),
    chains: new ChainIo(mp), icmpRate: new IcmpRateLimit(o.icmpRate ?? {}), punt: o.punt ?? false,
  };
}

/**
 * Byte offset of frame `h`'s data in `ctx.u8`.
 *
 * @example
 * const at = frameAt(ctx, h);
 */
export function frameAt(ctx: StackCtx, h: number): number {
  return ((h << ctx.shift) >>> 0) + ctx.dataOff[h]!;
}

/**
 * Writes the Ethernet header at `off`: destination from the ARP slot `slot`, source lport `pid`'s MAC,
 * EtherType `type`.
 *
 * @example
 * const slot = 3; // the next hop's ARP table slot
 * writeEther(ctx, frameAt(ctx, h), slot, 0, 0x0800);
 */
export function writeEther(ctx: StackCtx, off: number, slot: number, pid: number, type: number): void {
  ctx.arp.copyMac(slot, ctx.u8, off + ETH_DST);
  const m = pid * 6;
  for (let k = 0; k < 6; k++) ctx.u8[off + ETH_SRC + k] = ctx.macs[m + k]!;
  setBe16(ctx.u8, off + ETH_TYPE, type);
}

/**
 * A new ARP request frame from lport `pid` (sender `spa`, asking for `tpa`; broadcast), or -1 when the
 * pool is empty (counted). A gratuitous ARP is a request with `spa === tpa`.
 *
 * @example
 * const h2 = arpRequestFrame(ctx, 0, 0x0a000001, 0x0a000002);
 */
export function arpRequestFrame(ctx: StackCtx, pid: number, spa: number, tpa: number): number {
  const h = ctx.mp.alloc();
  if (h < 0) {
    ctx.c[C.ARP_NO_BUF]!++;
    return -1;
  }
  const u8 = ctx.u8;
  const off = frameAt(ctx, h);
  const m = pid * 6;
  for (let k = 0; k < 6; k++) {
    u8[off + ETH_DST + k] = 0xff;
    u8[off + ETH_SRC + k] = ctx.macs[m + k]!;
  }
  setBe16(u8, off + ETH_TYPE, ETHERTYPE_ARP);
  const a = off + ETH_HLEN;
  setBe32(u8, a, 0x00010800); // htype 1 (Ethernet), ptype 0x0800 (IPv4)
  u8[a + 4] = 6;
  u8[a + 5] = 4;
  setBe16(u8, a + ARP_OP, ARP_OP_REQUEST);
  for (let k = 0; k < 6; k++) {
    u8[a + ARP_SHA + k] = ctx.macs[m + k]!;
    u8[a + ARP_THA + k] = 0;
  }
  setBe32(u8, a + ARP_SPA, spa);
  setBe32(u8, a + ARP_TPA, tpa);
  ctx.dataLen[h] = ETH_HLEN + ARP_HLEN;
  ctx.c[C.ARP_TX]!++;
  return h;
}

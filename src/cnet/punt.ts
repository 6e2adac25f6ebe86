/**
 * The punt: what the stack does not handle goes to the kernel through a TAP netdev (CNDP's and VPP's
 * exception path), so the kernel's own sockets and daemons (`ssh`, a kernel TCP listener, DHCP) keep
 * working on a netdev the stack owns. With punting on (`CnetStackOptions.punt`):
 * - `eth_input` sends other EtherTypes, `ip4_input` datagrams for addresses that are not ours and
 *   protocols the stack does not serve (and their fragments, whole: the kernel reassembles them),
 *   `udp4_input` datagrams to ports no channel has (instead of ICMP port unreachable), and TCP segments
 *   to ports nobody listens on (instead of a RST: the TCP engineer's tcp4_input) to `punt_tap`, which
 *   writes them to the TAP (a reassembled chain is written as fragments of at most a frame each);
 * - `punt_tap_rx` (a source) reads what the kernel sends out of the TAP and sends it on the stack's
 *   lport: IPv4 unicast addressed to the lport's own MAC (the TAP is NOARP: the kernel puts its own
 *   address as the destination and leaves neighbour resolution to the stack) goes through `ip4_output`
 *   (route, ARP, Ethernet header, fragmentation); everything else (broadcasts, frames the kernel
 *   addressed itself) goes out as it is.
 *
 * How the kernel must be set up so its answers reach the peer (found by experiment, veth.test.ts and
 * punt.test.ts; {@link configurePuntTap} does it): the TAP carries the netdev's MAC and MTU and is NOARP;
 * the kernel keeps the netdev's address (the stack learns it from there); rp_filter is off on the TAP
 * (the peer's address routes via the netdev, the frames arrive on the TAP); and the kernel's own traffic
 * to the netdev's subnets leaves through the TAP, not the netdev (whose receive side belongs to AF_XDP:
 * the kernel would never see its ARP replies), by a policy rule for locally generated traffic
 * (`iif lo`) into a table holding the netdev's routes with the TAP as device.
 *
 * @example
 * declare const opts: CnetStackOptions; // the stack's ports, mempool, tables...
 * const pt = openPuntTap({ netdev: "veth0", pid: 9, mempool });
 * const stack = CnetStack.create({ ...opts, punt: { tap: pt.tap, pid: 0 } });
 */
import { writeFileSync } from "node:fs";
import type { Lport } from "../pktdev/lport.js";
import { TapPort } from "../pktdev/tap.js";
import type { Mempool } from "../mem/mempool.js";
import { NetlinkSocket, NLM_F } from "../netlink/socket.js";
import { AttrWriter } from "../netlink/attr.js";
import { getLink, setLinkMac, setLinkMtu, setLinkUp } from "../netlink/link.js";
import { addRoute, listRoutes, RT_TABLE } from "../netlink/route.js";
import { withNetns } from "../netlink/netns.js";
import type { NodeSpec } from "../graph/node.js";
import { PKT_DROP, pktdevTxName } from "../graph/nodes/names.js";
import { ETH_HLEN } from "../wire/ether.js";
import { C } from "./counters.js";
import { frameAt, type StackCtx } from "./context.js";
import { fragment4, MAX_FRAGS_OUT } from "./frag/fragment.js";
import { IP4_OUTPUT, PUNT_TAP, PUNT_TAP_RX } from "./nodes/names.js";

/** The punt's ports: the TAP, and the stack lport its frames go out on. */
export interface PuntOptions {
  /** The TAP (a net_tap lport over the stack's mempool). */
  tap: Lport;
  /** The lport whose netdev the TAP stands for: what the kernel sends leaves there. */
  pid: number;
}

/**
 * The `punt_tap` node: writes frames to the TAP (chains as fragments of at most a frame each).
 *
 * @example
 * const node = puntTapNode(ctx, port); // port: the TAP's lport
 */
export function puntTapNode(ctx: StackCtx, tap: Lport): NodeSpec {
  const u8 = ctx.u8;
  const c = ctx.c;
  const io = ctx.chains;
  const frags = new Uint32Array(MAX_FRAGS_OUT);
  let out = new Uint32Array(256);
  return {
    name: PUNT_TAP, next: [PKT_DROP],
    process: (g, node, objs, n) => {
      if (n > out.length) out = new Uint32Array(g.streamCapacity(node) + MAX_FRAGS_OUT); // warm-up only
      let k = 0;
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        if (!io.chained(h)) {
          out[k++] = h;
          continue;
        }
        // A reassembled datagram: back into pieces a frame holds (the kernel reassembles them).
        const m = fragment4(ctx, h, 65535, frags);
        if (m < 0 || k + m > out.length) {
          if (m > 0) ctx.mp.freeBulk(frags, m);
          c[C.PUNT_DROP]!++;
          g.enqueue1(node, 0, h);
          continue;
        }
        const eth = frameAt(ctx, h);
        for (let j = 0; j < m; j++) {
          const f = frags[j]!;
          u8.copyWithin(frameAt(ctx, f), eth, eth + ETH_HLEN);
          out[k++] = f;
        }
        ctx.mp.free(h);
      }
      const sent = tap.txBurst(out, k);
      c[C.PUNT_TX] = c[C.PUNT_TX]! + sent;
      if (sent < k) {
        c[C.PUNT_DROP] = c[C.PUNT_DROP]! + (k - sent);
        g.enqueue(node, 0, out, sent, k - sent);
      }
      return n;
    },
  };
}

/**
 * The `punt_tap_rx` source: frames the kernel wrote to the TAP, to ip4_output or straight to the lport.
 *
 * @example
 * const node = puntTapRxNode(ctx, { tap: port, pid: 0 }, 32);
 */
export function puntTapRxNode(ctx: StackCtx, o: PuntOptions, burst: number): NodeSpec {
  const u8 = ctx.u8;
  const c = ctx.c;
  const tap = o.tap;
  const m = o.pid * 6;
  return {
    name: PUNT_TAP_RX, next: [PKT_DROP, IP4_OUTPUT, pktdevTxName(o.pid)], source: true,
    init: (g) => {
      if (burst > g.streamSize) throw new RangeError(`cnet: punt_tap_rx bursts of ${burst} exceed the graph's streamSize ${g.streamSize}`);
      if (ctx.ifindexOf[o.pid] === undefined || ctx.ifindexOf[o.pid] === 0) throw new RangeError(`cnet: the punt's lport ${o.pid} is not one this stack serves`);
    },
    process: (g, node, objs) => {
      const n = tap.rxBurst(objs, burst);
      if (n === 0) return 0;
      c[C.PUNT_RX] = c[C.PUNT_RX]! + n;
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        const off = frameAt(ctx, h);
        let ours = ctx.dataLen[h]! >= ETH_HLEN + 20 && u8[off + 12] === 0x08 && u8[off + 13] === 0x00;
        for (let k = 0; k < 6 && ours; k++) if (u8[off + k] !== ctx.macs[m + k]) ours = false;
        if (ours) {
          c[C.PUNT_RX_IP4]!++;
          g.enqueue1(node, 1, h);
        } else {
          c[C.PUNT_RX_RAW]!++;
          g.enqueue1(node, 2, h);
        }
      }
      return n;
    },
  };
}

/** Options of {@link openPuntTap}. */
export interface PuntTapOptions {
  /** The netdev the stack owns (its lport's). */
  netdev: string;
  /** The TAP's name (default `pt-` and the netdev's name, cut to 15 characters). */
  iface?: string;
  /** The namespace of the netdev (default: the caller's). */
  netns?: string;
  /** The TAP lport's id (distinct from the stack's lports). */
  pid: number;
  /** The stack's mempool (the TAP reads into its frames). */
  mempool: Mempool;
  /** The routing table for the kernel's own traffic (default 1000 + the netdev's ifindex). */
  table?: number;
  /** The policy rule's priority (default 1000: before the main table's 32766). */
  priority?: number;
}

/** An open punt TAP: the port, and what {@link PuntTap.close} undoes. */
export interface PuntTap {
  tap: TapPort;
  table: number;
  priority: number;
  /** Removes the rule, closes the TAP (its netdev and routes go with it). */
  close(): void;
}

// linux/rtnetlink.h, linux/fib_rules.h, linux/if.h
const RTM_NEWRULE = 32;
const RTM_DELRULE = 33;
const FRA_IIFNAME = 3;
const FRA_PRIORITY = 6;
const FRA_TABLE = 15;
const FR_ACT_TO_TBL = 1;
const IFF_NOARP = 0x80;
const AF_INET = 2;

/** struct fib_rule_hdr (12 bytes): family, dst_len, src_len, tos, table, res1, res2, action (u8 each) + flags (u32). */
function ruleBody(table: number, priority: number): Uint8Array {
  const w = new AttrWriter();
  const h = w.fixed(12);
  h.setUint8(0, AF_INET);
  h.setUint8(4, table < 256 ? table : RT_TABLE.UNSPEC);
  h.setUint8(7, FR_ACT_TO_TBL);
  w.str(FRA_IIFNAME, "lo");
  w.u32(FRA_PRIORITY, priority);
  w.u32(FRA_TABLE, table);
  return w.finish();
}

/**
 * Creates the punt's TAP for `netdev` and sets the kernel up so its answers reach the peer (see the
 * module comment): the TAP gets the netdev's MAC and MTU, NOARP, rp_filter 0, and is up; a policy rule
 * `from all iif lo lookup <table>` (locally generated traffic) with the netdev's IPv4 routes copied into
 * that table on the TAP (at start: later route changes are not followed). Undoes everything on failure.
 *
 * @example
 * const punt = openPuntTap({ netdev: "eth1", pid: 9, mempool });
 * // ... CnetStack.create({ ..., punt: { tap: punt.tap, pid: 0 } }) ...
 * punt.close();
 */
export function openPuntTap(o: PuntTapOptions): PuntTap {
  const iface = o.iface ?? `pt-${o.netdev}`.slice(0, 15);
  const nl = NetlinkSocket.open(o.netns !== undefined ? { netns: o.netns } : {});
  let tap: TapPort | null = null;
  let ruled = false;
  const in_ = <T>(fn: () => T): T => (o.netns !== undefined ? withNetns(o.netns, fn) : fn());
  try {
    const dev = getLink(nl, o.netdev);
    const table = o.table ?? 1000 + dev.index;
    const priority = o.priority ?? 1000;
    if (!Number.isInteger(table) || table < 1 || table > 0xfffffff0 || table === RT_TABLE.MAIN || table === RT_TABLE.LOCAL || table === RT_TABLE.DEFAULT) {
      throw new RangeError(`punt: routing table ${table} for ${o.netdev} is not 1 to 4294967280 (and not main, local or default)`);
    }
    tap = in_(() => TapPort.create({ name: `punt-${o.netdev}`, pid: o.pid, iface, mempool: o.mempool }));
    setLinkUp(nl, iface, false);
    if (dev.mac) setLinkMac(nl, iface, dev.mac);
    setLinkMtu(nl, iface, dev.mtu);
    const w = new AttrWriter();
    const h = w.fixed(16);
    h.setInt32(4, tap.ifindex, true);
    h.setUint32(8, IFF_NOARP, true);
    h.setUint32(12, IFF_NOARP, true);
    nl.request(16 /* RTM_NEWLINK */, 0, w.finish(), `RTM_NEWLINK set ${iface} noarp`);
    in_(() => {
      writeFileSync(`/proc/sys/net/ipv4/conf/${iface}/rp_filter`, "0");
      // The kernel's IPv6 would send ND/MLD with the netdev's link-local address from the TAP (a DAD clash).
      writeFileSync(`/proc/sys/net/ipv6/conf/${iface}/disable_ipv6`, "1");
    });
    setLinkUp(nl, iface, true);
    nl.request(RTM_NEWRULE, NLM_F.CREATE | NLM_F.EXCL, ruleBody(table, priority), `RTM_NEWRULE iif lo lookup ${table} pref ${priority}`);
    ruled = true;
    // On-link routes first: a gateway route needs its gateway reachable in the table already.
    const routes = listRoutes(nl, { family: 4, table: RT_TABLE.MAIN, dev: o.netdev }).sort((x, y) => (x.gateway ? 1 : 0) - (y.gateway ? 1 : 0));
    // The source the kernel would have picked on the netdev (not an address the TAP may carry itself).
    const src0 = routes.find((r) => !r.gateway && r.prefsrc)?.prefsrc;
    for (const r of routes) {
      if (r.type !== 1 /* RTN_UNICAST */) continue;
      const src = r.prefsrc ?? src0;
      addRoute(nl, { dst: r.dst === "0.0.0.0/0" ? "default" : r.dst, ...(r.gateway ? { gateway: r.gateway } : {}), dev: iface, table, ...(src ? { src } : {}) });
    }
    // What the kernel sent while the TAP came up (before NOARP and disable_ipv6: an MLD report) is not the peer's.
    const junk = new Uint32Array(64);
    for (let n; (n = tap.rxBurst(junk, 64)) > 0;) o.mempool.freeBulk(junk, n);
    const port = tap;
    const close = () => {
      const nl2 = NetlinkSocket.open(o.netns !== undefined ? { netns: o.netns } : {});
      try {
        nl2.request(RTM_DELRULE, 0, ruleBody(table, priority), `RTM_DELRULE iif lo lookup ${table}`);
      } catch { /* gone with the namespace */ } finally {
        nl2.close();
        port.close();
      }
    };
    return { tap: port, table, priority, close };
  } catch (e) {
    if (ruled) {
      try { nl.request(RTM_DELRULE, 0, ruleBody(o.table ?? 1000 + getLink(nl, o.netdev).index, o.priority ?? 1000), "RTM_DELRULE"); } catch { /* best effort */ }
    }
    tap?.close();
    throw e;
  } finally {
    nl.close();
  }
}

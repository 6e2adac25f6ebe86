/**
 * `arp_input` (RFC 826): checks the packet, merges the sender into the ARP table (adds it when the packet
 * is for one of our addresses), sends frames that were waiting for that address, and turns a request for
 * our address into its reply in place. `cnet_timer` (a source): takes Linux's neighbours from the feed,
 * sends a gratuitous ARP for every address at start and for every address added later, retries unanswered requests once a second and gives
 * up after three (the waiting frames are freed and counted), ages reachable entries to stale and removes
 * stale ones.
 *
 * @example
 * const arpIn = arpInputNode(ctx);
 * const timer = cnetTimerNode(ctx, feed, {});
 */
import type { NodeSpec } from "../../graph/node.js";
import type { Graph } from "../../graph/graph.js";
import { PKT_DROP, pktdevTxName } from "../../graph/nodes/names.js";
import { be16, be32 } from "../../wire/bytes.js";
import { ETH_DST, ETH_HLEN, ETH_SRC, ETHERTYPE_IPV4, copyMac } from "../../wire/ether.js";
import { ARP_OP, ARP_OP_REQUEST, ARP_SHA, ARP_SPA, ARP_TPA, arpOk, arpToReply } from "../../wire/arp.js";
import { C } from "../counters.js";
import { ARP_INCOMPLETE, ARP_PERMANENT, ARP_REACHABLE, ARP_STALE } from "../arp-table.js";
import { FEED_DELETE, FEED_PERMANENT, FEED_WORDS, type NeighbourFeed } from "../learn.js";
import { arpRequestFrame, frameAt, writeEther, type StackCtx } from "../context.js";
import { ARP_INPUT, CNET_TIMER } from "./names.js";

/** The edges of a node that sends on every served lport: pkt_drop, then pktdev_tx-<pid> per lport. */
export function txEdges(ctx: StackCtx): string[] {
  return [PKT_DROP, ...ctx.ports.map((p) => pktdevTxName(p.pid))];
}

/** Edge index by pid (-1: not served), resolved at init. */
export function txEdgeTable(ctx: StackCtx, g: Graph, node: number): Int32Array {
  const t = new Int32Array(ctx.ifindexOf.length).fill(-1);
  for (const p of ctx.ports) t[p.pid] = g.edgeIndex(node, pktdevTxName(p.pid));
  return t;
}

/** The lport serving `ifindex`, or -1. */
export function pidOfIfindex(ctx: StackCtx, ifindex: number): number {
  const f = ctx.ifindexOf;
  for (let p = 0; p < f.length; p++) if (f[p] === ifindex && ifindex !== 0) return p;
  return -1;
}

/**
 * Sends the frames waiting on ARP slot `s` (now resolved): Ethernet header, then the slot's lport.
 * Returns how many were sent.
 */
export function releasePending(ctx: StackCtx, g: Graph, node: number, tx: Int32Array, s: number): number {
  const k = ctx.arp.takePending(s, ctx.scratch, 0);
  if (k === 0) return 0;
  const pid = pidOfIfindex(ctx, ctx.arp.ifindexAt(s));
  for (let i = 0; i < k; i++) {
    const h = ctx.scratch[i]!;
    if (pid < 0 || tx[pid]! < 0) {
      g.enqueue1(node, 0, h);
      continue;
    }
    writeEther(ctx, frameAt(ctx, h), s, pid, ETHERTYPE_IPV4);
    g.enqueue1(node, tx[pid]!, h);
  }
  ctx.c[C.ARP_PENDING_SENT] = ctx.c[C.ARP_PENDING_SENT]! + k;
  ctx.c[C.IP4_TX] = ctx.c[C.IP4_TX]! + k;
  return k;
}

/**
 * The ARP input node.
 *
 * @example
 * const arpIn = arpInputNode(ctx);
 */
export function arpInputNode(ctx: StackCtx): NodeSpec {
  let tx: Int32Array = new Int32Array(0);
  const u8 = ctx.u8;
  const c = ctx.c;
  return {
    name: ARP_INPUT, next: txEdges(ctx),
    init: (g, node) => { tx = txEdgeTable(ctx, g, node); },
    process: (g, node, objs, n) => {
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        c[C.ARP_RX]!++;
        const off = frameAt(ctx, h);
        const a = off + ETH_HLEN;
        if (!arpOk(u8, a, ctx.dataLen[h]! - ETH_HLEN)) {
          c[C.ARP_DROP_BAD]!++;
          g.enqueue1(node, 0, h);
          continue;
        }
        const pid = ctx.rxPort[h]!;
        const ifindex = ctx.ifindexOf[pid]!;
        const spa = be32(u8, a + ARP_SPA);
        const tpa = be32(u8, a + ARP_TPA);
        const forUs = ctx.tables.localIfindex(tpa) !== 0;
        const op = be16(u8, a + ARP_OP);
        if (op === ARP_OP_REQUEST) c[C.ARP_REQ_IN]!++;
        else c[C.ARP_REPLY_IN]!++;
        if (spa !== 0 && (u8[a + ARP_SHA]! & 1) === 0) {
          const s = ctx.arp.learn(spa, u8, a + ARP_SHA, ifindex, ctx.clock[0]!, forUs);
          if (s >= 0) releasePending(ctx, g, node, tx, s);
          else if (forUs) c[C.ARP_TABLE_FULL]!++;
        }
        if (op === ARP_OP_REQUEST && forUs && tx[pid]! >= 0) {
          arpToReply(u8, a, ctx.macs, pid * 6);
          copyMac(u8, off + ETH_DST, u8, off + ETH_SRC);
          copyMac(u8, off + ETH_SRC, ctx.macs, pid * 6);
          c[C.ARP_REPLY_OUT]!++;
          c[C.ARP_TX]!++;
          g.enqueue1(node, tx[pid]!, h);
        } else {
          if (!forUs) c[C.ARP_IGNORED]!++;
          g.enqueue1(node, 0, h);
        }
      }
      return n;
    },
  };
}

/** Timer settings of {@link cnetTimerNode}. */
export interface ArpTimers {
  /** Between requests for an unresolved address, ms (default 1000). */
  retransMs?: number;
  /** Requests before giving up (default 3). */
  retries?: number;
  /** A confirmed entry's reachable time, ms (default 30000). */
  reachableMs?: number;
  /** A stale entry is removed after this long, ms (default 60000). */
  staleMs?: number;
  /** The table is scanned this often, ms (default 100). */
  scanMs?: number;
  /** Send a gratuitous ARP for every address at start (default true). */
  gratuitous?: boolean;
}

/**
 * The timer source node.
 *
 * @example
 * const timer = cnetTimerNode(ctx, feed, { retransMs: 500 });
 */
export function cnetTimerNode(ctx: StackCtx, feed: NeighbourFeed | null, o: ArpTimers): NodeSpec {
  const retransMs = o.retransMs ?? 1000;
  const retries = o.retries ?? 3;
  const reachableMs = o.reachableMs ?? 30000;
  const staleMs = o.staleMs ?? 60000;
  const scanMs = o.scanMs ?? 100;
  const garp = o.gratuitous ?? true;
  let seen = -1;
  const announced = new Set<string>();
  let tx: Int32Array = new Int32Array(0);
  const nextScan = new Float64Array(1); // a double in a closure slot would be boxed on every store
  const rec = new Uint32Array(FEED_WORDS);
  const mac = new Uint8Array(6);
  const arp = ctx.arp;
  const c = ctx.c;
  return {
    name: CNET_TIMER, next: txEdges(ctx), source: true,
    init: (g, node) => { tx = txEdgeTable(ctx, g, node); },
    process: (g, node) => {
      if (ctx.ownClock) ctx.clock[0] = Date.now();
      const now = ctx.clock[0]!;
      let made = 0;
      while (feed !== null && feed.take(rec)) {
        const ip = rec[0]!;
        const flags = rec[3]!;
        const ifindex = flags & 0xffffff;
        if ((flags & FEED_DELETE) !== 0) {
          const s = arp.lookup(ip);
          if (s >= 0 && arp.state(s) !== ARP_INCOMPLETE) arp.remove(s);
          continue;
        }
        mac[0] = rec[1]! >>> 8; mac[1] = rec[1]! & 0xff;
        mac[2] = rec[2]! >>> 24; mac[3] = (rec[2]! >>> 16) & 0xff; mac[4] = (rec[2]! >>> 8) & 0xff; mac[5] = rec[2]! & 0xff;
        const s = arp.setFromLinux(ip, mac, 0, ifindex, now, (flags & FEED_PERMANENT) !== 0);
        if (s >= 0) made += releasePending(ctx, g, node, tx, s);
      }
      const version = ctx.tables.version();
      if (version !== seen && (version & 1) === 0) {
        // Addresses changed (or the first walk): announce the new ones (control-path work, on change only).
        seen = version;
        const now4 = ctx.tables.addresses4();
        for (const a of now4) {
          const key = `${a.ip}/${a.ifindex}`;
          if (announced.has(key)) continue;
          announced.add(key);
          const pid = pidOfIfindex(ctx, a.ifindex);
          if (!garp || pid < 0 || tx[pid]! < 0) continue;
          const h = arpRequestFrame(ctx, pid, a.ip, a.ip);
          if (h < 0) continue;
          c[C.ARP_GRATUITOUS_OUT]!++;
          g.enqueue1(node, tx[pid]!, h);
          made++;
        }
        for (const k of announced) if (!now4.some((a) => `${a.ip}/${a.ifindex}` === k)) announced.delete(k);
      }
      if (now < nextScan[0]!) return made;
      nextScan[0] = now + scanMs;
      for (let s = 0; s < arp.capacity; s++) {
        const st = arp.state(s);
        if (st === ARP_INCOMPLETE) {
          if (now - arp.timeAt(s) < retransMs) continue;
          const ifindex = arp.ifindexAt(s);
          const pid = pidOfIfindex(ctx, ifindex);
          if (pid < 0 || arp.retried(s, now) > retries) {
            const k = arp.takePending(s, ctx.scratch, 0);
            if (k > 0) g.enqueue(node, 0, ctx.scratch, 0, k);
            c[C.ARP_PENDING_TIMEOUT] = c[C.ARP_PENDING_TIMEOUT]! + k;
            arp.remove(s);
            continue;
          }
          const h = arpRequestFrame(ctx, pid, ctx.tables.sourceFor(ifindex), arp.ipAt(s));
          if (h >= 0) {
            c[C.ARP_REQ_OUT]!++;
            g.enqueue1(node, tx[pid]!, h);
            made++;
          }
        } else if (st === ARP_REACHABLE) {
          if (now - arp.timeAt(s) >= reachableMs) arp.markStale(s);
        } else if (st === ARP_STALE) {
          if (now - arp.timeAt(s) >= reachableMs + staleMs) arp.remove(s);
        } else if (st === ARP_PERMANENT) {
          // never expires
        }
      }
      return made;
    },
  };
}

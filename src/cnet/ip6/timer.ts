/**
 * `nd6_timer` (a source): takes Linux's IPv6 neighbours from the worker's feed; when the tables' addresses
 * change, takes the new IPv6 addresses of the interfaces this stack serves as tentative and runs duplicate
 * address detection for them (RFC 4862 5.4: `dadTransmits` solicitations from :: to the address's
 * solicited-node group, `retransMs` apart; no answer within `retransMs` after the last: preferred, and an
 * unsolicited advertisement to all-nodes announces it (RFC 4861 7.2.6); an answer: duplicate, see
 * icmp6.ts); retries unanswered solicitations for neighbours once every `retransMs` and gives up after
 * `retries` (the waiting frames are freed and counted); ages reachable entries to stale and removes stale
 * ones.
 *
 * @example
 * const timer = nd6TimerNode(ctx, x, feed, { dadTransmits: 1 });
 */
import type { NodeSpec } from "../../graph/node.js";
import { C } from "../counters.js";
import { FEED6_WORDS, FEED_DELETE, FEED_PERMANENT, type NeighbourFeed } from "../learn.js";
import type { StackCtx } from "../context.js";
import { pidOfIfindex, txEdgeTable, txEdges } from "../nodes/arp.js";
import { ND6_TIMER } from "../nodes/names.js";
import { ADDR6_PREFERRED, ADDR6_TENTATIVE } from "./addrs.js";
import { releasePending6, type Ip6Ctx } from "./context.js";
import { ND_INCOMPLETE, ND_REACHABLE, ND_STALE } from "./nd-table.js";
import { ND_NA_OVERRIDE, nsFrame, writeNa } from "./nd.js";

/** Timer settings of {@link nd6TimerNode}. */
export interface Nd6Timers {
  /** Between solicitations (resolution and DAD), ms (RFC 4861 RetransTimer; default 1000). */
  retransMs?: number;
  /** Multicast solicitations before giving up on a neighbour (MAX_MULTICAST_SOLICIT; default 3). */
  retries?: number;
  /** A confirmed entry's reachable time, ms (default 30000). */
  reachableMs?: number;
  /** A stale entry is removed after this long, ms (default 60000). */
  staleMs?: number;
  /** The table is scanned this often, ms (default 100). */
  scanMs?: number;
  /** DAD solicitations per address (RFC 4862 DupAddrDetectTransmits; default 1; 0: no DAD). */
  dadTransmits?: number;
  /** Announce an address with an unsolicited advertisement once it is preferred (default true). */
  unsolicitedNa?: boolean;
}

/**
 * The IPv6 timer source node.
 *
 * @example
 * const timer = nd6TimerNode(ctx, x, null, {});
 */
export function nd6TimerNode(ctx: StackCtx, x: Ip6Ctx, feed: NeighbourFeed | null, o: Nd6Timers): NodeSpec {
  const retransMs = o.retransMs ?? 1000;
  const retries = o.retries ?? 3;
  const reachableMs = o.reachableMs ?? 30000;
  const staleMs = o.staleMs ?? 60000;
  const scanMs = o.scanMs ?? 100;
  const dadTransmits = o.dadTransmits ?? 1;
  const announce = o.unsolicitedNa ?? true;
  if (!Number.isInteger(dadTransmits) || dadTransmits < 0 || dadTransmits > 255) throw new RangeError(`cnet: dadTransmits ${dadTransmits} is not an integer 0 to 255`);
  let seen = -1;
  let tx: Int32Array = new Int32Array(0);
  const nextScan = new Float64Array(1);
  const rec = new Uint32Array(FEED6_WORDS);
  const mac = new Uint8Array(6);
  const ip = new Uint8Array(16);
  const src = new Uint8Array(16);
  const served = ctx.ports.map((p) => p.ifindex);
  const nd = x.nd;
  const addrs = x.addrs;
  const c = ctx.c;
  return {
    name: ND6_TIMER, next: txEdges(ctx), source: true,
    init: (g, node) => { tx = txEdgeTable(ctx, g, node); },
    process: (g, node) => {
      // cnet_timer, earlier in the walk, keeps the clock when the stack owns it.
      const now = ctx.clock[0]!;
      let made = 0;
      while (feed !== null && feed.take6(rec)) {
        const flags = rec[3]!;
        const ifindex = flags & 0xffffff;
        for (let w = 0; w < 4; w++) {
          const v = rec[4 + w]!;
          ip[4 * w] = v >>> 24; ip[4 * w + 1] = (v >>> 16) & 0xff; ip[4 * w + 2] = (v >>> 8) & 0xff; ip[4 * w + 3] = v & 0xff;
        }
        const s0 = nd.lookup(ip, 0, ifindex);
        if ((flags & FEED_DELETE) !== 0) {
          if (s0 >= 0 && nd.state(s0) !== ND_INCOMPLETE) nd.remove(s0);
          continue;
        }
        mac[0] = rec[0]! >>> 8; mac[1] = rec[0]! & 0xff;
        mac[2] = rec[1]! >>> 24; mac[3] = (rec[1]! >>> 16) & 0xff; mac[4] = (rec[1]! >>> 8) & 0xff; mac[5] = rec[1]! & 0xff;
        const s = nd.setFromLinux(ip, 0, ifindex, mac, 0, now, (flags & FEED_PERMANENT) !== 0);
        if (s >= 0) made += releasePending6(ctx, x, g, node, tx, s);
      }
      const version = ctx.tables.version();
      if (version !== seen && (version & 1) === 0) {
        // Addresses changed (or the first walk): control-path work, on a change only.
        seen = version;
        addrs.sync(ctx.tables.addresses6(), served, now, dadTransmits > 0);
      }
      if (now < nextScan[0]!) return made;
      nextScan[0] = now + scanMs;
      // DAD.
      for (let a = 0; a < addrs.count; a++) {
        if (addrs.state(a) !== ADDR6_TENTATIVE || now < addrs.dadDue(a)) continue;
        const pid = pidOfIfindex(ctx, addrs.ifindexAt(a));
        if (pid < 0 || tx[pid]! < 0) continue;
        if (addrs.dadSent(a) < dadTransmits) {
          addrs.copyAddr(a, ip, 0);
          const h = nsFrame(ctx, x, pid, null, 0, ip, 0, -1);
          if (h < 0) continue; // no buffer: try again on the next scan
          c[C.ND_DAD_NS_OUT]!++;
          g.enqueue1(node, tx[pid]!, h);
          made++;
          addrs.dadStep(a, now + retransMs);
          continue;
        }
        addrs.setState(a, ADDR6_PREFERRED);
        c[C.ND_DAD_OK]!++;
        if (!announce) continue;
        const h = ctx.mp.alloc();
        if (h < 0) {
          c[C.ND_NO_BUF]!++;
          continue;
        }
        addrs.copyAddr(a, ip, 0);
        writeNa(ctx, h, pid, ip, 0, null, 0, ND_NA_OVERRIDE, null, 0);
        c[C.ND_UNSOLICITED_NA_OUT]!++;
        g.enqueue1(node, tx[pid]!, h);
        made++;
      }
      // Neighbours.
      for (let s = 0; s < nd.capacity; s++) {
        const st = nd.state(s);
        if (st === ND_INCOMPLETE) {
          if (now - nd.timeAt(s) < retransMs) continue;
          const ifindex = nd.ifindexAt(s);
          const pid = pidOfIfindex(ctx, ifindex);
          if (pid < 0 || tx[pid]! < 0 || nd.retried(s, now) > retries) {
            const k = nd.takePending(s, ctx.scratch, 0);
            if (k > 0) g.enqueue(node, 0, ctx.scratch, 0, k);
            c[C.ND_PENDING_TIMEOUT] = c[C.ND_PENDING_TIMEOUT]! + k;
            nd.remove(s);
            continue;
          }
          nd.copyAddr(s, ip, 0);
          if (!addrs.sourceFor(ifindex, ip[0] === 0xfe && (ip[1]! & 0xc0) === 0x80, src, 0)) {
            c[C.ND_NO_SOURCE]!++;
            continue;
          }
          const h = nsFrame(ctx, x, pid, src, 0, ip, 0, -1);
          if (h >= 0) {
            c[C.ND_NS_OUT]!++;
            g.enqueue1(node, tx[pid]!, h);
            made++;
          }
        } else if (st === ND_REACHABLE) {
          if (now - nd.timeAt(s) >= reachableMs) nd.markStale(s);
        } else if (st === ND_STALE) {
          if (now - nd.timeAt(s) >= reachableMs + staleMs) nd.remove(s);
        }
      }
      return made;
    },
  };
}

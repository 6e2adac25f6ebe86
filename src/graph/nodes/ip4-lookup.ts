/**
 * `ip4_lookup`: checks each frame's IPv4 header (RFC 1812: version, header length, total length within
 * the frame, header checksum), looks the destinations up in the FIB in one bulk call, keeps the next-hop
 * index in the frame's `udata` (CNDP keeps it in the mbuf's priv1) and sends the frame to `ip4_rewrite`;
 * bad headers and unrouted destinations go to `pkt_drop`, counted in the node's `bad_header` and
 * `no_route` counters. Frames reach it from `pkt_cls` as IPv4 over untagged Ethernet.
 */
import type { Mempool } from "../../mem/mempool.js";
import { ETH_HLEN } from "../../wire/ether.js";
import { ip4HeaderOk, IP4_DST } from "../../wire/ipv4.js";
import { FIB_NO_ROUTE } from "../../lookup/fib/entry.js";
import type { NodeDecl, NodeSpec } from "../node.js";
import { frameViews } from "./frame.js";
import { IP4_LOOKUP, IP4_REWRITE, PKT_DROP } from "./names.js";

/** Edge 0 of ip4_lookup: ip4_rewrite. */
export const IP4_LOOKUP_NEXT_REWRITE = 0;
/** Edge 1 of ip4_lookup: pkt_drop. */
export const IP4_LOOKUP_NEXT_DROP = 1;

/**
 * What ip4_lookup needs of a FIB: a bulk lookup writing one next hop per address (`Fib4` has it).
 *
 * @example
 * const fib: Ip4BulkLookup = Fib4.create();
 */
export interface Ip4BulkLookup {
  lookupBulk(ips: Uint32Array, nextHops: Uint32Array, n: number): void;
}

/** Options of {@link ip4LookupNode}. */
export interface Ip4LookupOptions {
  mempool: Mempool;
  fib: Ip4BulkLookup;
  /** The next hop the FIB returns for a miss (default `FIB_NO_ROUTE`, what `Fib4` returns). */
  noRoute?: number;
}

/**
 * The topology of `ip4_lookup`.
 *
 * @example
 * const d = ip4LookupDecl(); // next: ["ip4_rewrite", "pkt_drop"], counters: ["bad_header", "no_route"]
 */
export function ip4LookupDecl(): NodeDecl {
  return { name: IP4_LOOKUP, next: [IP4_REWRITE, PKT_DROP], counters: ["bad_header", "no_route"] };
}

/**
 * The lookup node.
 *
 * @example
 * const fib = Fib4.create();
 * fib.add(0x0a000000, 8, 0);
 * const lookup = ip4LookupNode({ mempool, fib });
 */
export function ip4LookupNode(o: Ip4LookupOptions): NodeSpec {
  const { fib } = o;
  const noRoute = (o.noRoute ?? FIB_NO_ROUTE) >>> 0;
  const { u8, shift, dataOff, dataLen, udata } = frameViews(o.mempool);
  let dst = new Uint32Array(256);
  let nhs = new Uint32Array(256);
  let nexts = new Uint16Array(256);
  let badHeader = 0;
  let noRouteAt = 0;
  return {
    ...ip4LookupDecl(),
    init: (g, node) => {
      badHeader = g.counterIndex(node, "bad_header");
      noRouteAt = g.counterIndex(node, "no_route");
    },
    process: (g, node, objs, n) => {
      if (n > dst.length) {
        // Warm-up only: the node's stream grew (streams never shrink), so do these.
        const size = g.streamCapacity(node);
        dst = new Uint32Array(size);
        nhs = new Uint32Array(size);
        nexts = new Uint16Array(size);
      }
      let bad = 0;
      for (let i = 0; i < n; i++) {
        const h = objs[i]!;
        const ip = ((h << shift) >>> 0) + dataOff[h]! + ETH_HLEN;
        if (ip4HeaderOk(u8, ip, dataLen[h]! - ETH_HLEN)) {
          const a = ip + IP4_DST;
          dst[i] = (u8[a]! << 24) | (u8[a + 1]! << 16) | (u8[a + 2]! << 8) | u8[a + 3]!;
          nexts[i] = IP4_LOOKUP_NEXT_REWRITE;
        } else {
          dst[i] = 0;
          nexts[i] = IP4_LOOKUP_NEXT_DROP;
          bad++;
        }
      }
      fib.lookupBulk(dst, nhs, n);
      let missed = 0;
      for (let i = 0; i < n; i++) {
        if (nexts[i] !== IP4_LOOKUP_NEXT_REWRITE) continue;
        const nh = nhs[i]!;
        if (nh === noRoute) {
          nexts[i] = IP4_LOOKUP_NEXT_DROP;
          missed++;
        } else {
          udata[objs[i]!] = nh;
        }
      }
      const c = g.counters;
      if (bad > 0) c[badHeader] = c[badHeader]! + bad;
      if (missed > 0) c[noRouteAt] = c[noRouteAt]! + missed;
      g.enqueueNexts(node, objs, nexts, n);
      return n;
    },
  };
}

/**
 * IPv4 RIB (DPDK's rte_rib, CNDP's cne_rib): the routing table as a path-compressed binary trie, for
 * add/delete/longest-match/iterate on the control thread. Depth 0 (0.0.0.0/0, the default route) is a
 * route like any other. Next hops are integers 0 .. FIB_NO_ROUTE - 1; host bits of a prefix are ignored.
 * Not shared with workers (that is what {@link Fib4} is for), and not for the data path.
 *
 * @example
 * const rib = new Rib4();
 * rib.add(parseIp4("10.0.0.0"), 8, 1);
 * rib.add(parseIp4("10.1.0.0"), 16, 2);
 * console.log(rib.lookup(parseIp4("10.1.2.3")), rib.lookupParent(parseIp4("10.1.0.0"), 16)); // 2 { ip: 167772160, depth: 8, nextHop: 1 }
 */
import { formatIp4 } from "../addr.js";
import { FIB_NO_ROUTE, checkDepth, checkIp4, checkNextHop } from "./entry.js";
import type { Route4 } from "./fib4.js";
import { PrefixTrie, type TrieNode } from "./trie.js";

const route4 = (n: TrieNode): Route4 => ({ ip: n.k0, depth: n.depth, nextHop: n.nh });

function where(op: string, ip: number, depth: number): string {
  return `Rib4.${op} ${Number.isInteger(ip) && ip >= 0 && ip <= 0xffffffff ? formatIp4(ip) : String(ip)}/${depth}`;
}

/**
 * The IPv4 RIB. See the module comment.
 *
 * @example
 * const rib = new Rib4();
 * rib.add(0, 0, 9); // default route
 */
export class Rib4 {
  private readonly t = new PrefixTrie(32);
  private readonly k = new Uint32Array(4);

  private key(op: string, ip: number, depth: number): Uint32Array {
    const w = where(op, ip, depth);
    checkIp4(w, ip);
    checkDepth(w, depth, 32);
    this.k[0] = depth === 0 ? 0 : (ip & (0xffffffff << (32 - depth))) >>> 0;
    return this.k;
  }

  /**
   * Number of routes.
   *
   * @example
   * console.log(new Rib4().size); // 0
   */
  get size(): number {
    return this.t.size;
  }

  /**
   * Adds `ip/depth` -> `nextHop`, or replaces the next hop of that prefix. Returns the previous next hop, or
   * undefined when the route is new.
   *
   * @example
   * const rib = new Rib4();
   * rib.add(parseIp4("10.0.0.0"), 8, 1); // undefined
   */
  add(ip: number, depth: number, nextHop: number): number | undefined {
    const k = this.key("add", ip, depth);
    checkNextHop(where("add", ip, depth), nextHop);
    const prev = this.t.insert(k, depth, nextHop);
    return prev < 0 ? undefined : prev;
  }

  /**
   * Deletes `ip/depth`; returns false when there was no such route.
   *
   * @example
   * new Rib4().delete(parseIp4("10.0.0.0"), 8); // false
   */
  delete(ip: number, depth: number): boolean {
    return this.t.remove(this.key("delete", ip, depth), depth) >= 0;
  }

  /**
   * The next hop of the longest route containing the address, or {@link FIB_NO_ROUTE}.
   *
   * @example
   * const nh = new Rib4().lookup(parseIp4("10.1.2.3")); // FIB_NO_ROUTE
   */
  lookup(ip: number): number {
    const n = this.t.lpm(this.key("lookup", ip, 32), 32);
    return n === null ? FIB_NO_ROUTE : n.nh;
  }

  /**
   * The longest route containing the address, or null.
   *
   * @example
   * const r = new Rib4().lookupRoute(parseIp4("10.1.2.3")); // null
   */
  lookupRoute(ip: number): Route4 | null {
    const n = this.t.lpm(this.key("lookupRoute", ip, 32), 32);
    return n === null ? null : route4(n);
  }

  /**
   * The next hop of exactly `ip/depth`, or undefined.
   *
   * @example
   * const nh = new Rib4().lookupExact(parseIp4("10.0.0.0"), 8); // undefined
   */
  lookupExact(ip: number, depth: number): number | undefined {
    const nh = this.t.exact(this.key("lookupExact", ip, depth), depth);
    return nh < 0 ? undefined : nh;
  }

  /**
   * The longest route strictly shorter than `ip/depth` that contains it (the route its addresses fall back
   * to when it is deleted), or null.
   *
   * @example
   * const up = new Rib4().lookupParent(parseIp4("10.1.0.0"), 16); // null
   */
  lookupParent(ip: number, depth: number): Route4 | null {
    const k = this.key("lookupParent", ip, depth);
    const n = depth === 0 ? null : this.t.lpm(k, depth - 1);
    return n === null ? null : route4(n);
  }

  /**
   * Every route inside `ip/depth` (itself included), in address order; all routes by default.
   *
   * @example
   * const rib = new Rib4();
   * for (const r of rib.routes(parseIp4("10.0.0.0"), 8)) console.log(formatIp4(r.ip), r.depth, r.nextHop);
   */
  routes(ip = 0, depth = 0): Route4[] {
    const out: Route4[] = [];
    for (const r of this.t.nodes(this.t.top(this.key("routes", ip, depth), depth))) out.push(route4(r));
    return out;
  }

  /**
   * Removes every route.
   *
   * @example
   * new Rib4().clear();
   */
  clear(): void {
    this.t.clear();
  }
}

/**
 * IPv6 RIB (DPDK's rte_rib6): the IPv6 routing table as a path-compressed binary trie, for
 * add/delete/longest-match/iterate on the control thread. Addresses are 16 bytes (network order); depth 0
 * (::/0, the default route) is allowed; host bits of a prefix are ignored. Next hops are integers
 * 0 .. FIB_NO_ROUTE - 1. Not shared with workers ({@link Fib6} is), and not for the data path.
 *
 * @example
 * const rib = new Rib6();
 * rib.add(parseIp6("fd00::"), 16, 1);
 * rib.add(parseIp6("fd00:1::"), 32, 2);
 * console.log(rib.lookup(parseIp6("fd00:1::5"))); // 2
 */
import { formatIp6 } from "../addr.js";
import { FIB_NO_ROUTE, checkDepth, checkIp6, checkNextHop } from "./entry.js";
import { PrefixTrie, bytesOfNode, keyFromBytes, maskKey, type TrieNode } from "./trie.js";

/** One IPv6 route. */
export interface Route6 {
  /** The prefix (16 bytes, host bits clear). */
  ip: Uint8Array;
  depth: number;
  nextHop: number;
}

/**
 * A trie node as a route.
 *
 * @example
 * const rib = new Rib6();
 * rib.add(new Uint8Array(16), 0, 1); // ::/0 -> 1
 * console.log(rib.routes()[0]?.nextHop); // 1 (each route made by route6 from its trie node)
 */
export function route6(n: TrieNode): Route6 {
  return { ip: bytesOfNode(n), depth: n.depth, nextHop: n.nh };
}

/**
 * The prefix for an error message.
 *
 * @example
 * prefix6Text(parseIp6("fd00::"), 8); // "fd00::/8"
 */
export function prefix6Text(ip: Uint8Array, depth: number): string {
  return `${ip instanceof Uint8Array && ip.length === 16 ? formatIp6(ip) : "(bad address)"}/${depth}`;
}

/**
 * The IPv6 RIB. See the module comment.
 *
 * @example
 * const rib = new Rib6();
 * rib.add(new Uint8Array(16), 0, 9); // default route
 */
export class Rib6 {
  private readonly t = new PrefixTrie(128);
  private readonly k = new Uint32Array(4);

  private key(op: string, ip: Uint8Array, depth: number): Uint32Array {
    const w = `Rib6.${op} ${prefix6Text(ip, depth)}`;
    checkIp6(w, ip);
    checkDepth(w, depth, 128);
    return maskKey(keyFromBytes(ip, 0, this.k), depth);
  }

  /**
   * Number of routes.
   *
   * @example
   * console.log(new Rib6().size); // 0
   */
  get size(): number {
    return this.t.size;
  }

  /**
   * Adds `ip/depth` -> `nextHop`, or replaces the next hop of that prefix. Returns the previous next hop, or
   * undefined when the route is new.
   *
   * @example
   * new Rib6().add(parseIp6("fd00::"), 8, 1); // undefined
   */
  add(ip: Uint8Array, depth: number, nextHop: number): number | undefined {
    const k = this.key("add", ip, depth);
    checkNextHop(`Rib6.add ${prefix6Text(ip, depth)}`, nextHop);
    const prev = this.t.insert(k, depth, nextHop);
    return prev < 0 ? undefined : prev;
  }

  /**
   * Deletes `ip/depth`; returns false when there was no such route.
   *
   * @example
   * new Rib6().delete(parseIp6("fd00::"), 8); // false
   */
  delete(ip: Uint8Array, depth: number): boolean {
    return this.t.remove(this.key("delete", ip, depth), depth) >= 0;
  }

  /**
   * The next hop of the longest route containing the address at `u8[off]`, or {@link FIB_NO_ROUTE}.
   *
   * @example
   * const nh = new Rib6().lookup(parseIp6("fd00::1")); // FIB_NO_ROUTE
   */
  lookup(u8: Uint8Array, off = 0): number {
    const n = this.t.lpm(keyFromBytes(u8, off, this.k), 128);
    return n === null ? FIB_NO_ROUTE : n.nh;
  }

  /**
   * The longest route containing the address, or null.
   *
   * @example
   * const r = new Rib6().lookupRoute(parseIp6("fd00::1")); // null
   */
  lookupRoute(ip: Uint8Array): Route6 | null {
    const n = this.t.lpm(this.key("lookupRoute", ip, 128), 128);
    return n === null ? null : route6(n);
  }

  /**
   * The next hop of exactly `ip/depth`, or undefined.
   *
   * @example
   * const nh = new Rib6().lookupExact(parseIp6("fd00::"), 8); // undefined
   */
  lookupExact(ip: Uint8Array, depth: number): number | undefined {
    const nh = this.t.exact(this.key("lookupExact", ip, depth), depth);
    return nh < 0 ? undefined : nh;
  }

  /**
   * The longest route strictly shorter than `ip/depth` that contains it, or null.
   *
   * @example
   * const up = new Rib6().lookupParent(parseIp6("fd00:1::"), 32); // null
   */
  lookupParent(ip: Uint8Array, depth: number): Route6 | null {
    const k = this.key("lookupParent", ip, depth);
    const n = depth === 0 ? null : this.t.lpm(k, depth - 1);
    return n === null ? null : route6(n);
  }

  /**
   * Every route inside `ip/depth` (itself included), in address order; all routes by default.
   *
   * @example
   * for (const r of new Rib6().routes()) console.log(formatIp6(r.ip), r.depth, r.nextHop);
   */
  routes(ip: Uint8Array = new Uint8Array(16), depth = 0): Route6[] {
    const out: Route6[] = [];
    for (const n of this.t.nodes(this.t.top(this.key("routes", ip, depth), depth))) out.push(route6(n));
    return out;
  }

  /**
   * Removes every route.
   *
   * @example
   * new Rib6().clear();
   */
  clear(): void {
    this.t.clear();
  }
}

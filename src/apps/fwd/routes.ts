/**
 * l3fwd's routes on the control thread: the FIB (prefix -> next-hop index), the next-hop table (index ->
 * MAC, tx port) and, with `--xdp-fastpath`, a mirror of both in the XDP program's maps. Routes come from
 * the config (`options."l3fwd-fib-rules"`) and from the app socket while the workers forward.
 *
 * Every change is all or nothing: a route the FIB or the mirror refuses leaves the FIB, the next hops and
 * the mirror as they were.
 *
 * @example
 * const routes = L3fwdRoutes.create({ ports: 2, qsbr: Qsbr.create(1) });
 * routes.add(parseFibRule("198.18.0.0/24,02:00:01:02:03:04,1"));
 * routes.delete(parseIp4("198.18.0.0"), 24); // true
 */
import { Fib4, type Fib4Shared } from "../../lookup/fib/index.js";
import { formatFibRule, type FibRule } from "../../lookup/fib/rules.js";
import { formatIp4 } from "../../lookup/addr.js";
import type { Qsbr } from "../../lookup/qsbr.js";
import { hugeAlloc } from "../../sys/hugepage.js";
import { NextHopTable, NH_MAC_STRIDE, type NextHopShared } from "./next-hops.js";

/** Where routes are copied to besides the FIB (the XDP fast path's maps). Methods throw on failure. */
export interface RouteMirror {
  /** Writes next hop `index` (before any route points at it). */
  setNextHop(index: number, mac: Uint8Array, port: number): void;
  /** Adds or replaces the route of the prefix. */
  addRoute(ip: number, depth: number, nextHop: number): void;
  /** Removes the route of the prefix (no error when it is not there). */
  deleteRoute(ip: number, depth: number): void;
}

/** One route as listed. */
export interface RouteEntry {
  /** "10.0.0.0/8". */
  prefix: string;
  mac: string;
  port: number;
  /** The next-hop index the FIB holds. */
  nextHop: number;
}

/** What the workers need to look routes up. */
export interface L3fwdShared {
  fib: Fib4Shared;
  nextHops: NextHopShared;
}

interface Route {
  ip: number;
  depth: number;
  nh: number;
}

const mask = (depth: number) => (depth === 0 ? 0 : (0xffffffff << (32 - depth)) >>> 0);
const keyOf = (ip: number, depth: number) => ip * 64 + depth;

/**
 * The route table of an l3fwd forwarder.
 *
 * @example
 * const routes = L3fwdRoutes.create({ ports: 2 });
 * routes.add({ ip: 0x0a000000, depth: 8, mac: parseMac("02:00:00:00:00:01"), port: 1 });
 * console.log(routes.list()); // [{ prefix: "10.0.0.0/8", mac: "02:00:00:00:00:01", port: 1, nextHop: 0 }]
 */
export class L3fwdRoutes {
  readonly fib: Fib4;
  readonly nextHops: NextHopTable;
  /** Number of lports: a route's tx port must be below it. */
  readonly ports: number;
  private readonly routes = new Map<number, Route>();
  private mirror: RouteMirror | null = null;

  private constructor(fib: Fib4, nextHops: NextHopTable, ports: number) {
    this.fib = fib;
    this.nextHops = nextHops;
    this.ports = ports;
  }

  /**
   * An empty table for an app with `ports` lports. With `qsbr`, FIB groups and next-hop entries are
   * reused only after every worker passed a quiescent state. The FIB's tables are on 2 MB pages where the
   * system allows (`alloc`, default src/sys/hugepage.ts's hugeAlloc).
   *
   * @example
   * const routes = L3fwdRoutes.create({ ports: 2, qsbr: Qsbr.create(2) });
   */
  static create(o: { ports: number; qsbr?: Qsbr; nextHops?: number; maxTbl8Groups?: number; alloc?: (bytes: number) => SharedArrayBuffer }): L3fwdRoutes {
    const fib = Fib4.create({
      ...(o.qsbr ? { qsbr: o.qsbr } : {}),
      ...(o.maxTbl8Groups !== undefined ? { maxTbl8Groups: o.maxTbl8Groups } : {}),
      alloc: o.alloc ?? hugeAlloc,
    });
    const nh = NextHopTable.create({ ...(o.qsbr ? { qsbr: o.qsbr } : {}), ...(o.nextHops !== undefined ? { capacity: o.nextHops } : {}) });
    return new L3fwdRoutes(fib, nh, o.ports);
  }

  /**
   * What to post to the workers.
   *
   * @example
   * const data = { l3fwd: routes.shared() };
   */
  shared(): L3fwdShared {
    return { fib: this.fib.shared(), nextHops: this.nextHops.shared() };
  }

  /** Routes in the table. */
  get size(): number {
    return this.routes.size;
  }

  /**
   * Adds a route, or replaces the one of the same prefix. Throws RangeError for a tx port the app does not
   * have, a full table, or a mirror that refuses it; nothing changes then.
   *
   * @example
   * const { replaced } = routes.add(parseFibRule("10.0.0.0/8,02:00:00:00:00:01,1"));
   */
  add(rule: FibRule): { replaced: boolean; nextHop: number } {
    const { depth, mac, port } = rule;
    if (!Number.isInteger(depth) || depth < 0 || depth > 32) throw new RangeError(`Invalid route depth ${depth}: 0 to 32`);
    const ip = (rule.ip & mask(depth)) >>> 0;
    if (!Number.isInteger(port) || port < 0 || port >= this.ports) {
      throw new RangeError(`Invalid route ${formatFibRule({ ...rule, ip })}: tx port ${port} does not exist (the app has ${this.ports} lport${this.ports === 1 ? "" : "s"}, 0 to ${this.ports - 1})`);
    }
    const key = keyOf(ip, depth);
    const old = this.routes.get(key);
    const nh = this.nextHops.acquire(mac, port);
    const fresh = this.nextHops.refCount(nh) === 1;
    try {
      if (fresh) this.mirror?.setNextHop(nh, mac, port);
      this.fib.add(ip, depth, nh);
    } catch (e) {
      this.nextHops.release(nh);
      throw e;
    }
    try {
      this.mirror?.addRoute(ip, depth, nh);
    } catch (e) {
      // Back to the old state: the old route (or none) in the FIB.
      if (old) this.fib.add(ip, depth, old.nh);
      else this.fib.delete(ip, depth);
      this.nextHops.release(nh);
      throw e;
    }
    this.routes.set(key, { ip, depth, nh });
    if (old) this.nextHops.release(old.nh);
    return { replaced: old !== undefined, nextHop: nh };
  }

  /**
   * Removes the route of a prefix (host bits ignored); false when there is none.
   *
   * @example
   * routes.delete(parseIp4("10.0.0.0"), 8);
   */
  delete(ip: number, depth: number): boolean {
    if (!Number.isInteger(depth) || depth < 0 || depth > 32) throw new RangeError(`Invalid route depth ${depth}: 0 to 32`);
    const net = (ip & mask(depth)) >>> 0;
    const key = keyOf(net, depth);
    const r = this.routes.get(key);
    if (!r) return false;
    this.mirror?.deleteRoute(net, depth);
    this.fib.delete(net, depth);
    this.routes.delete(key);
    this.nextHops.release(r.nh);
    return true;
  }

  /**
   * The route of exactly this prefix, if any.
   *
   * @example
   * routes.get(parseIp4("10.0.0.0"), 8)?.mac; // "02:00:00:00:00:01"
   */
  get(ip: number, depth: number): RouteEntry | undefined {
    const r = this.routes.get(keyOf((ip & mask(depth)) >>> 0, depth));
    return r ? this.entry(r) : undefined;
  }

  /**
   * Every route, by prefix (address, then length).
   *
   * @example
   * for (const r of routes.list()) console.log(`${r.prefix} via ${r.mac} port ${r.port}`);
   */
  list(): RouteEntry[] {
    return [...this.routes.values()].sort((a, b) => a.ip - b.ip || a.depth - b.depth).map((r) => this.entry(r));
  }

  /**
   * Sets (or clears) the mirror and copies every next hop in use and every route into it. On failure the
   * mirror is not kept and the error is rethrown.
   *
   * @example
   * routes.setMirror(fastPathMirror);
   */
  setMirror(m: RouteMirror | null): void {
    if (m !== null) {
      const seen = new Set<number>();
      for (const r of this.routes.values()) {
        if (!seen.has(r.nh)) {
          seen.add(r.nh);
          m.setNextHop(r.nh, this.nextHops.mac.subarray(r.nh * NH_MAC_STRIDE, r.nh * NH_MAC_STRIDE + 6), this.nextHops.port[r.nh]!);
        }
        m.addRoute(r.ip, r.depth, r.nh);
      }
    }
    this.mirror = m;
  }

  private entry(r: Route): RouteEntry {
    const e = this.nextHops.entry(r.nh);
    return { prefix: `${formatIp4(r.ip)}/${r.depth}`, mac: e.mac, port: e.port, nextHop: r.nh };
  }
}

/**
 * The stack's view of Linux's configuration, in SharedArrayBuffers: the interfaces it serves (ifindex,
 * lport, MAC, MTU), their IPv4 addresses, and the IPv4 routes as a {@link Fib4} whose next hops index a
 * next-hop table (gateway, ifindex; gateway 0 = on-link: the destination itself is resolved).
 *
 * One writer, the control thread (the netlink learner), and any number of reading workers. The interface
 * and address arrays are small and guarded by a sequence lock: the writer makes the sequence odd, writes,
 * makes it even; a reader retries while it is odd or changed. The FIB has its own concurrency rules
 * (src/lookup/fib/fib4.ts); a next-hop slot is written before the route pointing to it is added and is
 * never reused for another (gateway, ifindex) pair, so a reader never sees a half-written next hop.
 *
 * @example
 * const t = NetTables.create();
 * t.setInterface({ ifindex: 5, pid: 0, mac: new Uint8Array(6), mtu: 1500 });
 * t.addAddress4(0x0a000001, 24, 5);
 * t.addRoute4(0x0a000000, 24, 0, 5, 0);
 * console.log(t.localIfindex(0x0a000001)); // 5
 */
import { Fib4, FIB_NO_ROUTE, type Fib4Shared } from "../lookup/fib/fib4.js";
import { formatIp4, formatMac } from "../lookup/addr.js";

/** Most interfaces one stack serves. */
export const MAX_IFACES = 16;
/** Most IPv4 addresses over all interfaces. */
export const MAX_ADDRS4 = 64;
/** Most distinct next hops (gateway, ifindex). */
export const MAX_NEXTHOPS = 1024;

// ctl words
const C_SEQ = 0;
const C_NIF = 1;
const C_NADDR = 2;
const C_NNH = 3;
const C_WORDS = 4;
// interface words: ifindex, pid, mtu
const IF_W = 3;
// address words: ip, prefixLen, ifindex
const AD_W = 3;
// next-hop words: gateway, ifindex
const NH_W = 2;

/** What a worker needs to open the same tables ({@link NetTables.shared}); structured-cloneable. */
export interface NetTablesShared {
  readonly ctl: SharedArrayBuffer;
  readonly ifaces: SharedArrayBuffer;
  readonly macs: SharedArrayBuffer;
  readonly addrs: SharedArrayBuffer;
  readonly nexthops: SharedArrayBuffer;
  readonly fib: Fib4Shared;
}

/** One interface of the stack. */
export interface NetIface {
  ifindex: number;
  /** The lport serving it. */
  pid: number;
  mac: Uint8Array;
  mtu: number;
}

/** One IPv4 route as the control side keeps it. */
export interface NetRoute4 {
  ip: number;
  depth: number;
  /** 0 for an on-link route. */
  gateway: number;
  ifindex: number;
  metric: number;
}

/**
 * The tables. See the module comment.
 *
 * @example
 * const t = NetTables.create();
 * const w = NetTables.fromShared(t.shared()); // in a worker
 */
export class NetTables {
  readonly fib: Fib4;
  private readonly ctl: Int32Array;
  private readonly ifs: Int32Array;
  private readonly macBytes: Uint8Array;
  private readonly ad: Uint32Array;
  private readonly nh: Uint32Array;
  /** Control side: routes by "ip/depth", each prefix's candidates (lowest metric wins). */
  private readonly routeMap: Map<string, NetRoute4[]> | null;
  private readonly nhIndex: Map<string, number> | null;

  private constructor(s: NetTablesShared, writer: boolean, fib: Fib4) {
    this.ctl = new Int32Array(s.ctl);
    this.ifs = new Int32Array(s.ifaces);
    this.macBytes = new Uint8Array(s.macs);
    this.ad = new Uint32Array(s.addrs);
    this.nh = new Uint32Array(s.nexthops);
    this.fib = fib;
    this.routeMap = writer ? new Map() : null;
    this.nhIndex = writer ? new Map() : null;
  }

  /**
   * Empty tables (the FIB's tbl24 is 64 MiB of address space, committed as touched).
   *
   * @example
   * const t = NetTables.create({ maxTbl8Groups: 64 });
   */
  static create(o: { maxTbl8Groups?: number } = {}): NetTables {
    const fib = Fib4.create({ maxTbl8Groups: o.maxTbl8Groups ?? 256 });
    const s: NetTablesShared = {
      ctl: new SharedArrayBuffer(4 * C_WORDS),
      ifaces: new SharedArrayBuffer(4 * IF_W * MAX_IFACES),
      macs: new SharedArrayBuffer(6 * MAX_IFACES),
      addrs: new SharedArrayBuffer(4 * AD_W * MAX_ADDRS4),
      nexthops: new SharedArrayBuffer(4 * NH_W * MAX_NEXTHOPS),
      fib: fib.shared(),
    };
    return new NetTables(s, true, fib);
  }

  /**
   * A reader's view of tables another thread writes.
   *
   * @example
   * const t = NetTables.fromShared(NetTables.create().shared());
   */
  static fromShared(s: NetTablesShared): NetTables {
    return new NetTables(s, false, Fib4.fromShared(s.fib));
  }

  /**
   * What to post to a worker.
   *
   * @example
   * const s = NetTables.create().shared(); // worker.postMessage({ tables: s })
   */
  shared(): NetTablesShared {
    return {
      ctl: this.ctl.buffer as SharedArrayBuffer, ifaces: this.ifs.buffer as SharedArrayBuffer, macs: this.macBytes.buffer as SharedArrayBuffer,
      addrs: this.ad.buffer as SharedArrayBuffer, nexthops: this.nh.buffer as SharedArrayBuffer, fib: this.fib.shared(),
    };
  }

  private writer(op: string): { routes: Map<string, NetRoute4[]>; nhs: Map<string, number> } {
    if (this.routeMap === null || this.nhIndex === null) throw new Error(`NetTables.${op}: these tables are a worker's read-only view`);
    return { routes: this.routeMap, nhs: this.nhIndex };
  }

  private begin(): void {
    Atomics.add(this.ctl, C_SEQ, 1);
  }

  private end(): void {
    Atomics.add(this.ctl, C_SEQ, 1);
  }

  /**
   * Adds or replaces (same ifindex) an interface.
   *
   * @example
   * NetTables.create().setInterface({ ifindex: 5, pid: 0, mac: new Uint8Array([2, 0, 0, 0, 0, 1]), mtu: 1500 });
   */
  setInterface(i: NetIface): void {
    this.writer("setInterface");
    if (!Number.isInteger(i.ifindex) || i.ifindex < 1) throw new RangeError(`NetTables.setInterface: invalid ifindex ${i.ifindex}`);
    if (i.mac.length !== 6) throw new RangeError(`NetTables.setInterface ifindex ${i.ifindex}: MAC of ${i.mac.length} bytes, expected 6`);
    const n = this.ctl[C_NIF]!;
    let slot = this.ifSlot(i.ifindex);
    if (slot < 0) {
      if (n >= MAX_IFACES) throw new RangeError(`NetTables.setInterface ifindex ${i.ifindex}: already ${MAX_IFACES} interfaces`);
      slot = n;
    }
    this.begin();
    this.ifs[slot * IF_W] = i.ifindex;
    this.ifs[slot * IF_W + 1] = i.pid;
    this.ifs[slot * IF_W + 2] = i.mtu;
    this.macBytes.set(i.mac, slot * 6);
    if (slot === n) Atomics.store(this.ctl, C_NIF, n + 1);
    this.end();
  }

  /** The slot of an interface, or -1 (the writer's own read: no lock needed). */
  private ifSlot(ifindex: number): number {
    const n = this.ctl[C_NIF]!;
    for (let s = 0; s < n; s++) if (this.ifs[s * IF_W] === ifindex) return s;
    return -1;
  }

  /**
   * The interfaces (control path).
   *
   * @example
   * for (const i of NetTables.create().interfaces()) console.log(i.ifindex, i.pid);
   */
  interfaces(): NetIface[] {
    const n = Atomics.load(this.ctl, C_NIF);
    const out: NetIface[] = [];
    for (let s = 0; s < n; s++) {
      out.push({ ifindex: this.ifs[s * IF_W]!, pid: this.ifs[s * IF_W + 1]!, mtu: this.ifs[s * IF_W + 2]!, mac: this.macBytes.slice(s * 6, s * 6 + 6) });
    }
    return out;
  }

  /**
   * The lport serving `ifindex`, or -1 (allocation-free; interfaces are set before workers start).
   *
   * @example
   * const pid = NetTables.create().pidOf(5); // -1
   */
  pidOf(ifindex: number): number {
    const n = Atomics.load(this.ctl, C_NIF);
    for (let s = 0; s < n; s++) if (this.ifs[s * IF_W] === ifindex) return this.ifs[s * IF_W + 1]!;
    return -1;
  }

  /**
   * A number that changes whenever an interface or address changes (the sequence lock's word): a worker
   * compares it to notice new addresses without allocating.
   *
   * @example
   * const v = NetTables.create().version(); // 0
   */
  version(): number {
    return Atomics.load(this.ctl, C_SEQ);
  }

  /**
   * Adds an IPv4 address (idempotent). Returns false when it was there already.
   *
   * @example
   * NetTables.create().addAddress4(0x0a000001, 24, 5);
   */
  addAddress4(ip: number, prefixLen: number, ifindex: number): boolean {
    this.writer("addAddress4");
    const n = this.ctl[C_NADDR]!;
    for (let s = 0; s < n; s++) if (this.ad[s * AD_W] === ip >>> 0 && this.ad[s * AD_W + 2] === ifindex) return false;
    if (n >= MAX_ADDRS4) throw new RangeError(`NetTables.addAddress4 ${formatIp4(ip >>> 0)}/${prefixLen}: already ${MAX_ADDRS4} addresses`);
    this.begin();
    this.ad[n * AD_W] = ip >>> 0;
    this.ad[n * AD_W + 1] = prefixLen;
    this.ad[n * AD_W + 2] = ifindex;
    Atomics.store(this.ctl, C_NADDR, n + 1);
    this.end();
    return true;
  }

  /**
   * Removes an IPv4 address; false when it was not there.
   *
   * @example
   * NetTables.create().deleteAddress4(0x0a000001, 5); // false
   */
  deleteAddress4(ip: number, ifindex: number): boolean {
    this.writer("deleteAddress4");
    const n = this.ctl[C_NADDR]!;
    for (let s = 0; s < n; s++) {
      if (this.ad[s * AD_W] !== ip >>> 0 || this.ad[s * AD_W + 2] !== ifindex) continue;
      this.begin();
      const last = n - 1;
      for (let k = 0; k < AD_W; k++) this.ad[s * AD_W + k] = this.ad[last * AD_W + k]!;
      Atomics.store(this.ctl, C_NADDR, last);
      this.end();
      return true;
    }
    return false;
  }

  /**
   * The ifindex holding the IPv4 address `ip`, or 0 when it is not one of ours (allocation-free, for the
   * per-packet check; retries while the writer is busy).
   *
   * @example
   * if (NetTables.create().localIfindex(0x0a000001) === 0) console.log("not for us");
   */
  localIfindex(ip: number): number {
    const ctl = this.ctl;
    const ad = this.ad;
    const want = ip >>> 0;
    for (;;) {
      const seq = Atomics.load(ctl, C_SEQ);
      if ((seq & 1) !== 0) continue;
      const n = ctl[C_NADDR]!;
      let found = 0;
      for (let s = 0; s < n; s++) {
        if (ad[s * AD_W] === want) {
          found = ad[s * AD_W + 2]!;
          break;
        }
      }
      if (Atomics.load(ctl, C_SEQ) === seq) return found;
    }
  }

  /**
   * The first IPv4 address of interface `ifindex` (the source of what the stack originates), or 0.
   *
   * @example
   * const src = NetTables.create().sourceFor(5); // 0: none yet
   */
  sourceFor(ifindex: number): number {
    const ctl = this.ctl;
    const ad = this.ad;
    for (;;) {
      const seq = Atomics.load(ctl, C_SEQ);
      if ((seq & 1) !== 0) continue;
      const n = ctl[C_NADDR]!;
      let found = 0;
      for (let s = 0; s < n; s++) {
        if (ad[s * AD_W + 2] === ifindex) {
          found = ad[s * AD_W]!;
          break;
        }
      }
      if (Atomics.load(ctl, C_SEQ) === seq) return found;
    }
  }

  /**
   * The addresses (control path).
   *
   * @example
   * for (const a of NetTables.create().addresses4()) console.log(a.ip, a.prefixLen);
   */
  addresses4(): { ip: number; prefixLen: number; ifindex: number }[] {
    const n = Atomics.load(this.ctl, C_NADDR);
    const out = [];
    for (let s = 0; s < n; s++) out.push({ ip: this.ad[s * AD_W]!, prefixLen: this.ad[s * AD_W + 1]!, ifindex: this.ad[s * AD_W + 2]! });
    return out;
  }

  /**
   * Adds a route (`gateway` 0: on-link). A prefix with several routes uses the lowest metric's.
   *
   * @example
   * NetTables.create().addRoute4(0, 0, 0x0a000001, 5, 0); // default via 10.0.0.1
   */
  addRoute4(ip: number, depth: number, gateway: number, ifindex: number, metric: number): void {
    const { routes } = this.writer("addRoute4");
    const base = depth === 0 ? 0 : (ip & (~0 << (32 - depth))) >>> 0;
    const key = `${base}/${depth}`;
    const list = routes.get(key) ?? [];
    const same = list.findIndex((r) => r.metric === metric);
    const r: NetRoute4 = { ip: base, depth, gateway: gateway >>> 0, ifindex, metric };
    const nh = this.nextHop(r.gateway, ifindex);
    const next = same >= 0 ? list.map((x, i) => (i === same ? r : x)) : [...list, r];
    next.sort((a, b) => a.metric - b.metric);
    if (next[0] === r) this.fib.add(base, depth, nh);
    routes.set(key, next);
  }

  /**
   * Removes a route (any metric when `metric` is undefined); false when there was none.
   *
   * @example
   * NetTables.create().deleteRoute4(0, 0, 5); // false
   */
  deleteRoute4(ip: number, depth: number, ifindex: number, metric?: number): boolean {
    const { routes } = this.writer("deleteRoute4");
    const base = depth === 0 ? 0 : (ip & (~0 << (32 - depth))) >>> 0;
    const key = `${base}/${depth}`;
    const list = routes.get(key);
    if (!list) return false;
    const i = list.findIndex((r) => r.ifindex === ifindex && (metric === undefined || r.metric === metric));
    if (i < 0) return false;
    const next = list.filter((_, k) => k !== i);
    if (next.length === 0) {
      routes.delete(key);
      this.fib.delete(base, depth);
    } else {
      routes.set(key, next);
      if (i === 0) this.fib.add(base, depth, this.nextHop(next[0]!.gateway, next[0]!.ifindex));
    }
    return true;
  }

  /**
   * The routes in use (one per prefix), control path.
   *
   * @example
   * for (const r of NetTables.create().routes4()) console.log(r.ip, r.depth, r.gateway);
   */
  routes4(): NetRoute4[] {
    const { routes } = this.writer("routes4");
    return [...routes.values()].map((l) => ({ ...l[0]! })).sort((a, b) => b.depth - a.depth || a.ip - b.ip);
  }

  /** The next-hop slot of (gateway, ifindex), made when new. */
  private nextHop(gateway: number, ifindex: number): number {
    const { nhs } = this.writer("nextHop");
    const k = `${gateway}/${ifindex}`;
    const have = nhs.get(k);
    if (have !== undefined) return have;
    const n = this.ctl[C_NNH]!;
    if (n >= MAX_NEXTHOPS) throw new RangeError(`NetTables: next hop ${formatIp4(gateway)} ifindex ${ifindex}: already ${MAX_NEXTHOPS} next hops`);
    this.nh[n * NH_W] = gateway;
    this.nh[n * NH_W + 1] = ifindex;
    Atomics.store(this.ctl, C_NNH, n + 1);
    nhs.set(k, n);
    return n;
  }

  /**
   * The route for `dst`: a next-hop index, or {@link FIB_NO_ROUTE}.
   *
   * @example
   * const nh = NetTables.create().route4(0x08080808);
   */
  route4(dst: number): number {
    return this.fib.lookup(dst >>> 0);
  }

  /**
   * Gateway of next hop `nh` (0: on-link, resolve the destination).
   *
   * @example
   * const t = NetTables.create();
   * t.addRoute4(0, 0, 0x0a000001, 5, 0);
   * console.log(t.nextHopGateway(t.route4(0x08080808))); // 167772161
   */
  nextHopGateway(nh: number): number {
    return this.nh[nh * NH_W]!;
  }

  /**
   * Output ifindex of next hop `nh`.
   *
   * @example
   * const t = NetTables.create();
   * t.addRoute4(0, 0, 0x0a000001, 5, 0);
   * console.log(t.nextHopIfindex(t.route4(0x08080808))); // 5
   */
  nextHopIfindex(nh: number): number {
    return this.nh[nh * NH_W + 1]!;
  }

  /**
   * The tables as JSON-able text (for `/cnet/...` replies).
   *
   * @example
   * console.log(NetTables.create().describe());
   */
  describe(): { interfaces: { ifindex: number; pid: number; mac: string; mtu: number }[]; addresses: string[]; routes: string[] } {
    return {
      interfaces: this.interfaces().map((i) => ({ ifindex: i.ifindex, pid: i.pid, mac: formatMac(i.mac), mtu: i.mtu })),
      addresses: this.addresses4().map((a) => `${formatIp4(a.ip)}/${a.prefixLen} ifindex ${a.ifindex}`),
      routes: this.routeMap === null ? [] : this.routes4().map((r) => `${formatIp4(r.ip)}/${r.depth}${r.gateway ? ` via ${formatIp4(r.gateway)}` : ""} ifindex ${r.ifindex}${r.metric ? ` metric ${r.metric}` : ""}`),
    };
  }
}

export { FIB_NO_ROUTE };

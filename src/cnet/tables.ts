/**
 * The stack's view of Linux's configuration, in SharedArrayBuffers: the interfaces it serves (ifindex,
 * lport, MAC, MTU), their IPv4 and IPv6 addresses, and the routes: IPv4 as a {@link Fib4}, IPv6 as a
 * {@link Fib6}, whose next hops index next-hop tables (gateway, ifindex; gateway 0 / :: = on-link: the
 * destination itself is resolved).
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
import { Fib6, type Fib6Shared } from "../lookup/fib/fib6.js";
import { formatIp4, formatIp6, formatMac } from "../lookup/addr.js";

/** Most interfaces one stack serves. */
export const MAX_IFACES = 16;
/** Most IPv4 addresses over all interfaces. */
export const MAX_ADDRS4 = 64;
/** Most distinct next hops (gateway, ifindex). */
export const MAX_NEXTHOPS = 1024;
/** Most IPv6 addresses over all interfaces (link-local ones included). */
export const MAX_ADDRS6 = 64;
/** Most distinct IPv6 next hops (gateway, ifindex). */
export const MAX_NEXTHOPS6 = 1024;

// ctl words
const C_SEQ = 0;
const C_NIF = 1;
const C_NADDR = 2;
const C_NNH = 3;
const C_NADDR6 = 4;
const C_NNH6 = 5;
const C_WORDS = 6;
// interface words: ifindex, pid, mtu
const IF_W = 3;
// address words: ip, prefixLen, ifindex
const AD_W = 3;
// next-hop words: gateway, ifindex
const NH_W = 2;
// IPv6 address words: address (4 big-endian words), prefixLen, ifindex, IFA_F_* flags, unused
const AD6_W = 8;
// IPv6 next-hop words: gateway (4 big-endian words), ifindex
const NH6_W = 5;

/** What a worker needs to open the same tables ({@link NetTables.shared}); structured-cloneable. */
export interface NetTablesShared {
  readonly ctl: SharedArrayBuffer;
  readonly ifaces: SharedArrayBuffer;
  readonly macs: SharedArrayBuffer;
  readonly addrs: SharedArrayBuffer;
  readonly nexthops: SharedArrayBuffer;
  readonly fib: Fib4Shared;
  readonly addrs6: SharedArrayBuffer;
  readonly nexthops6: SharedArrayBuffer;
  readonly fib6: Fib6Shared;
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

/** One IPv6 address of an interface. */
export interface NetAddr6 {
  /** 16 bytes. */
  ip: Uint8Array;
  prefixLen: number;
  ifindex: number;
  /** Linux's IFA_F_* flags (tentative, nodad, ...), as learned. */
  flags: number;
}

/** One IPv6 route as the control side keeps it. */
export interface NetRoute6 {
  /** The prefix, 16 bytes (host bits zero). */
  ip: Uint8Array;
  depth: number;
  /** null for an on-link route. */
  gateway: Uint8Array | null;
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
  readonly fib6: Fib6;
  private readonly ctl: Int32Array;
  private readonly ifs: Int32Array;
  private readonly macBytes: Uint8Array;
  private readonly ad: Uint32Array;
  private readonly nh: Uint32Array;
  /** Control side: routes by "ip/depth", each prefix's candidates (lowest metric wins). */
  private readonly routeMap: Map<string, NetRoute4[]> | null;
  private readonly nhIndex: Map<string, number> | null;
  private readonly ad6: Int32Array;
  private readonly nh6: Int32Array;
  private readonly routeMap6: Map<string, NetRoute6[]> | null;
  private readonly nhIndex6: Map<string, number> | null;

  private constructor(s: NetTablesShared, writer: boolean, fib: Fib4, fib6: Fib6) {
    this.ctl = new Int32Array(s.ctl);
    this.ifs = new Int32Array(s.ifaces);
    this.macBytes = new Uint8Array(s.macs);
    this.ad = new Uint32Array(s.addrs);
    this.nh = new Uint32Array(s.nexthops);
    this.fib = fib;
    this.routeMap = writer ? new Map() : null;
    this.nhIndex = writer ? new Map() : null;
    this.ad6 = new Int32Array(s.addrs6);
    this.nh6 = new Int32Array(s.nexthops6);
    this.fib6 = fib6;
    this.routeMap6 = writer ? new Map() : null;
    this.nhIndex6 = writer ? new Map() : null;
  }

  /**
   * Empty tables (each FIB's first level is 64 MiB of address space, committed as touched). The IPv4
   * FIB has `maxTbl8Groups` groups (default 256); the IPv6 FIB `maxTbl8Groups6` (default 4096, 1 KiB
   * each) and `maxLeaves6` leaves (default 65536, 32 bytes each).
   *
   * @example
   * const t = NetTables.create({ maxTbl8Groups: 64 });
   */
  static create(o: { maxTbl8Groups?: number; maxTbl8Groups6?: number; maxLeaves6?: number } = {}): NetTables {
    const fib = Fib4.create({ maxTbl8Groups: o.maxTbl8Groups ?? 256 });
    const fib6 = Fib6.create({ maxTbl8Groups: o.maxTbl8Groups6 ?? 4096, maxLeaves: o.maxLeaves6 ?? 65536 });
    const s: NetTablesShared = {
      ctl: new SharedArrayBuffer(4 * C_WORDS),
      ifaces: new SharedArrayBuffer(4 * IF_W * MAX_IFACES),
      macs: new SharedArrayBuffer(6 * MAX_IFACES),
      addrs: new SharedArrayBuffer(4 * AD_W * MAX_ADDRS4),
      nexthops: new SharedArrayBuffer(4 * NH_W * MAX_NEXTHOPS),
      fib: fib.shared(),
      addrs6: new SharedArrayBuffer(4 * AD6_W * MAX_ADDRS6),
      nexthops6: new SharedArrayBuffer(4 * NH6_W * MAX_NEXTHOPS6),
      fib6: fib6.shared(),
    };
    return new NetTables(s, true, fib, fib6);
  }

  /**
   * A reader's view of tables another thread writes.
   *
   * @example
   * const t = NetTables.fromShared(NetTables.create().shared());
   */
  static fromShared(s: NetTablesShared): NetTables {
    return new NetTables(s, false, Fib4.fromShared(s.fib), Fib6.fromShared(s.fib6));
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
      addrs6: this.ad6.buffer as SharedArrayBuffer, nexthops6: this.nh6.buffer as SharedArrayBuffer, fib6: this.fib6.shared(),
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
      addresses: [
        ...this.addresses4().map((a) => `${formatIp4(a.ip)}/${a.prefixLen} ifindex ${a.ifindex}`),
        ...this.addresses6().map((a) => `${formatIp6(a.ip)}/${a.prefixLen} ifindex ${a.ifindex}`),
      ],
      routes: this.routeMap === null ? [] : [
        ...this.routes4().map((r) => `${formatIp4(r.ip)}/${r.depth}${r.gateway ? ` via ${formatIp4(r.gateway)}` : ""} ifindex ${r.ifindex}${r.metric ? ` metric ${r.metric}` : ""}`),
        ...this.routes6().map((r) => `${formatIp6(r.ip)}/${r.depth}${r.gateway ? ` via ${formatIp6(r.gateway)}` : ""} ifindex ${r.ifindex}${r.metric ? ` metric ${r.metric}` : ""}`),
      ],
    };
  }

  // ---- IPv6 ----

  /**
   * Adds an IPv6 address (16 bytes), or updates its prefix length and flags (Linux notifies an address
   * again when its DAD ends). Returns false when it was there already.
   *
   * @example
   * NetTables.create().addAddress6(parseIp6("2001:db8::1"), 64, 5, 0);
   */
  addAddress6(ip: Uint8Array, prefixLen: number, ifindex: number, flags = 0): boolean {
    this.writer("addAddress6");
    if (ip.length !== 16) throw new RangeError(`NetTables.addAddress6: address of ${ip.length} bytes, expected 16`);
    if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 128) throw new RangeError(`NetTables.addAddress6 ${formatIp6(ip)}: prefix length ${prefixLen} is not 0 to 128`);
    const n = this.ctl[C_NADDR6]!;
    let slot = this.addr6Slot(ip, ifindex);
    const isNew = slot < 0;
    if (isNew) {
      if (n >= MAX_ADDRS6) throw new RangeError(`NetTables.addAddress6 ${formatIp6(ip)}/${prefixLen}: already ${MAX_ADDRS6} IPv6 addresses`);
      slot = n;
    } else if (this.ad6[slot * AD6_W + 4] === prefixLen && this.ad6[slot * AD6_W + 6] === (flags | 0)) {
      return false;
    }
    this.begin();
    const b = slot * AD6_W;
    for (let w = 0; w < 4; w++) this.ad6[b + w] = word(ip, 4 * w);
    this.ad6[b + 4] = prefixLen;
    this.ad6[b + 5] = ifindex;
    this.ad6[b + 6] = flags | 0;
    if (isNew) Atomics.store(this.ctl, C_NADDR6, n + 1);
    this.end();
    return isNew;
  }

  private addr6Slot(ip: Uint8Array, ifindex: number): number {
    const n = this.ctl[C_NADDR6]!;
    for (let s = 0; s < n; s++) {
      const b = s * AD6_W;
      if (this.ad6[b + 5] === ifindex && this.ad6[b] === word(ip, 0) && this.ad6[b + 1] === word(ip, 4) && this.ad6[b + 2] === word(ip, 8) && this.ad6[b + 3] === word(ip, 12)) return s;
    }
    return -1;
  }

  /**
   * Removes an IPv6 address; false when it was not there.
   *
   * @example
   * NetTables.create().deleteAddress6(parseIp6("2001:db8::1"), 5); // false
   */
  deleteAddress6(ip: Uint8Array, ifindex: number): boolean {
    this.writer("deleteAddress6");
    const s = this.addr6Slot(ip, ifindex);
    if (s < 0) return false;
    const last = this.ctl[C_NADDR6]! - 1;
    this.begin();
    for (let k = 0; k < AD6_W; k++) this.ad6[s * AD6_W + k] = this.ad6[last * AD6_W + k]!;
    Atomics.store(this.ctl, C_NADDR6, last);
    this.end();
    return true;
  }

  /**
   * The IPv6 addresses (control path; a consistent copy under the sequence lock).
   *
   * @example
   * for (const a of NetTables.create().addresses6()) console.log(a.ip, a.prefixLen, a.ifindex);
   */
  addresses6(): NetAddr6[] {
    for (;;) {
      const seq = Atomics.load(this.ctl, C_SEQ);
      if ((seq & 1) !== 0) continue;
      const n = Atomics.load(this.ctl, C_NADDR6);
      const out: NetAddr6[] = [];
      for (let s = 0; s < n; s++) {
        const b = s * AD6_W;
        const ip = new Uint8Array(16);
        for (let w = 0; w < 4; w++) putWord(ip, 4 * w, this.ad6[b + w]!);
        out.push({ ip, prefixLen: this.ad6[b + 4]!, ifindex: this.ad6[b + 5]!, flags: this.ad6[b + 6]! >>> 0 });
      }
      if (Atomics.load(this.ctl, C_SEQ) === seq) return out;
    }
  }

  /**
   * The ifindex holding the IPv6 address at `u8[off..+16)`, or 0 when it is not one of ours
   * (allocation-free; retries while the writer is busy). Link-local addresses are matched on any
   * interface: the caller compares the ifindex with the one the packet came in on.
   *
   * @example
   * const t = NetTables.create();
   * if (t.localIfindex6(parseIp6("2001:db8::1"), 0) === 0) console.log("not for us");
   */
  localIfindex6(u8: Uint8Array, off: number): number {
    const ctl = this.ctl;
    const ad = this.ad6;
    const w0 = word(u8, off), w1 = word(u8, off + 4), w2 = word(u8, off + 8), w3 = word(u8, off + 12);
    for (;;) {
      const seq = Atomics.load(ctl, C_SEQ);
      if ((seq & 1) !== 0) continue;
      const n = ctl[C_NADDR6]!;
      let found = 0;
      for (let s = 0; s < n; s++) {
        const b = s * AD6_W;
        if (ad[b + 3] === w3 && ad[b + 2] === w2 && ad[b + 1] === w1 && ad[b] === w0) {
          found = ad[b + 5]!;
          break;
        }
      }
      if (Atomics.load(ctl, C_SEQ) === seq) return found;
    }
  }

  /**
   * Adds an IPv6 route (`gateway` null or :: for on-link). A prefix with several routes uses the lowest metric's.
   *
   * @example
   * NetTables.create().addRoute6(parseIp6("::"), 0, parseIp6("fe80::1"), 5, 1024); // default via fe80::1
   */
  addRoute6(ip: Uint8Array, depth: number, gateway: Uint8Array | null, ifindex: number, metric: number): void {
    const { routes, nhs } = this.writer6("addRoute6");
    if (ip.length !== 16) throw new RangeError(`NetTables.addRoute6: prefix of ${ip.length} bytes, expected 16`);
    if (!Number.isInteger(depth) || depth < 0 || depth > 128) throw new RangeError(`NetTables.addRoute6 ${formatIp6(ip)}: depth ${depth} is not 0 to 128`);
    if (gateway !== null && gateway.length !== 16) throw new RangeError(`NetTables.addRoute6 ${formatIp6(ip)}/${depth}: gateway of ${gateway.length} bytes, expected 16`);
    const base = mask6(ip, depth);
    const gw = gateway === null || gateway.every((b) => b === 0) ? null : gateway.slice();
    const key = `${formatIp6(base)}/${depth}`;
    const list = routes.get(key) ?? [];
    const same = list.findIndex((r) => r.metric === metric);
    const r: NetRoute6 = { ip: base, depth, gateway: gw, ifindex, metric };
    const nh = this.nextHop6(nhs, gw, ifindex);
    const next = same >= 0 ? list.map((x, i) => (i === same ? r : x)) : [...list, r];
    next.sort((a, b) => a.metric - b.metric);
    if (next[0] === r) this.fib6.add(base, depth, nh);
    routes.set(key, next);
  }

  /**
   * Removes an IPv6 route (any metric when `metric` is undefined); false when there was none.
   *
   * @example
   * NetTables.create().deleteRoute6(parseIp6("::"), 0, 5); // false
   */
  deleteRoute6(ip: Uint8Array, depth: number, ifindex: number, metric?: number): boolean {
    const { routes, nhs } = this.writer6("deleteRoute6");
    const base = mask6(ip, depth);
    const key = `${formatIp6(base)}/${depth}`;
    const list = routes.get(key);
    if (!list) return false;
    const i = list.findIndex((r) => r.ifindex === ifindex && (metric === undefined || r.metric === metric));
    if (i < 0) return false;
    const next = list.filter((_, k) => k !== i);
    if (next.length === 0) {
      routes.delete(key);
      this.fib6.delete(base, depth);
    } else {
      routes.set(key, next);
      if (i === 0) this.fib6.add(base, depth, this.nextHop6(nhs, next[0]!.gateway, next[0]!.ifindex));
    }
    return true;
  }

  /**
   * The IPv6 routes in use (one per prefix), control path.
   *
   * @example
   * for (const r of NetTables.create().routes6()) console.log(r.ip, r.depth, r.gateway);
   */
  routes6(): NetRoute6[] {
    const { routes } = this.writer6("routes6");
    return [...routes.values()].map((l) => ({ ...l[0]! })).sort((a, b) => b.depth - a.depth || formatIp6(a.ip).localeCompare(formatIp6(b.ip)));
  }

  private writer6(op: string): { routes: Map<string, NetRoute6[]>; nhs: Map<string, number> } {
    if (this.routeMap6 === null || this.nhIndex6 === null) throw new Error(`NetTables.${op}: these tables are a worker's read-only view`);
    return { routes: this.routeMap6, nhs: this.nhIndex6 };
  }

  /** The IPv6 next-hop slot of (gateway, ifindex), made when new (never reused for another pair). */
  private nextHop6(nhs: Map<string, number>, gateway: Uint8Array | null, ifindex: number): number {
    const k = `${gateway === null ? "::" : formatIp6(gateway)}/${ifindex}`;
    const have = nhs.get(k);
    if (have !== undefined) return have;
    const n = this.ctl[C_NNH6]!;
    if (n >= MAX_NEXTHOPS6) throw new RangeError(`NetTables: IPv6 next hop ${k}: already ${MAX_NEXTHOPS6} next hops`);
    for (let w = 0; w < 4; w++) this.nh6[n * NH6_W + w] = gateway === null ? 0 : word(gateway, 4 * w);
    this.nh6[n * NH6_W + 4] = ifindex;
    Atomics.store(this.ctl, C_NNH6, n + 1);
    nhs.set(k, n);
    return n;
  }

  /**
   * The IPv6 route for the 16-byte address at `u8[off]`: a next-hop index, or {@link FIB_NO_ROUTE}.
   *
   * @example
   * const nh = NetTables.create().route6(umem.u8, off + 14 + 24); // a frame's IPv6 destination
   */
  route6(u8: Uint8Array, off: number): number {
    return this.fib6.lookup(u8, off);
  }

  /**
   * Output ifindex of IPv6 next hop `nh`.
   *
   * @example
   * const t = NetTables.create();
   * t.addRoute6(parseIp6("::"), 0, parseIp6("fe80::1"), 5, 0);
   * console.log(t.nextHop6Ifindex(t.route6(parseIp6("2001:db8::9"), 0))); // 5
   */
  nextHop6Ifindex(nh: number): number {
    return this.nh6[nh * NH6_W + 4]!;
  }

  /**
   * Copies IPv6 next hop `nh`'s gateway to `u8[off..+16)`; returns false (nothing copied) for an on-link
   * next hop (resolve the destination itself).
   *
   * @example
   * const t = NetTables.create();
   * t.addRoute6(parseIp6("::"), 0, parseIp6("fe80::1"), 5, 0);
   * const gw = new Uint8Array(16);
   * t.nextHop6Gateway(t.route6(parseIp6("2001:db8::9"), 0), gw, 0); // true, gw = fe80::1
   */
  nextHop6Gateway(nh: number, u8: Uint8Array, off: number): boolean {
    const b = nh * NH6_W;
    const g = this.nh6;
    if ((g[b]! | g[b + 1]! | g[b + 2]! | g[b + 3]!) === 0) return false;
    for (let w = 0; w < 4; w++) putWord(u8, off + 4 * w, g[b + w]!);
    return true;
  }
}

/** The big-endian 32-bit word at `u8[off]`, signed (as the Int32Arrays hold it; never boxed). */
function word(u8: Uint8Array, off: number): number {
  return (u8[off]! << 24) | (u8[off + 1]! << 16) | (u8[off + 2]! << 8) | u8[off + 3]!;
}

function putWord(u8: Uint8Array, off: number, v: number): void {
  u8[off] = v >>> 24;
  u8[off + 1] = (v >>> 16) & 0xff;
  u8[off + 2] = (v >>> 8) & 0xff;
  u8[off + 3] = v & 0xff;
}

/** `ip` with the bits past `depth` cleared (a copy). */
function mask6(ip: Uint8Array, depth: number): Uint8Array {
  const out = ip.slice(0, 16);
  for (let i = 0; i < 16; i++) {
    const keep = depth - 8 * i;
    if (keep <= 0) out[i] = 0;
    else if (keep < 8) out[i] = out[i]! & (0xff << (8 - keep)) & 0xff;
  }
  return out;
}

export { FIB_NO_ROUTE };

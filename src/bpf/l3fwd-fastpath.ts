/**
 * The l3fwd XDP fast path (`xdplane fwd l3fwd --xdp-fastpath`): its maps, the program over them
 * (src/bpf/l3fwd-fastpath-prog.ts), and the control-path calls that mirror the user-space FIB into them.
 * The kernel forwards what it can (untagged IPv4 without options, valid header and checksum, not a
 * fragment, TTL > 1, routed to a next hop on one of our ports) and hands everything else to the AF_XDP
 * socket through the netdev's XSKMAP, untouched, exactly as the default redirect program does.
 *
 * How it gets onto a netdev: the af_xdp port attached the default XSK redirect program through a BPF
 * link (src/xsk/xdp-prog.ts). Take another reference to that attachment, load the fast path over its
 * XSKMAP, and swap the program behind the link (BPF_LINK_UPDATE: no frame sees the netdev without a
 * program); swap back before closing:
 *
 *   const ref = acquireXdpProgram(ifname, mode);        // same netns + netdev + mode as the port's
 *   const fp = L3fwdFastPath.load({ xskMapFd: ref.mapFd, ports });
 *   ref.replace(fp.prog);  ...  ref.restore(); fp.close(); ref.release();
 *
 * With ports on several netdevs, each netdev has its own XSKMAP: {@link L3fwdFastPath.programFor} loads
 * one more program over the same routes, next hops and counters for another XSKMAP.
 *
 * Where it must run: load() in the network namespace of the ports (the devmap resolves ifindexes there).
 *
 * Transmit side (found by experiment on kernel 6.18 with veth; see the tests): XDP_REDIRECT into a veth
 * through a devmap queues the frame on the veth's peer, which takes it only when the peer has NAPI
 * running for XDP: an XDP program attached to the peer, or GRO enabled on it (`ethtool -K <peer> gro on`,
 * kernel 5.13+). Otherwise the devmap refuses the netdev in xdp_do_redirect and the frame is dropped:
 * the program has already counted it as forwarded; the loss shows in the *receiving* veth's
 * `ethtool -S` `rx_queue_<n>_drops` (and the `xdp:xdp_redirect_err` tracepoint), not on the tx veth. An
 * XDP program on the tx veth itself does not help (tried: the default redirect program on B, no GRO on
 * B's peer: nothing arrives). Physical NICs need an XDP program on the tx netdev for their XDP TX queues
 * (every af_xdp port of the app has the default one). Attached in skb (generic) mode, the redirect goes
 * through the generic path (an skb sent on the tx netdev) and needs none of this.
 *
 * Consistency with the user-space FIB: every route and next hop must be mirrored (the fast path forwards
 * by its own tables only). When addRoute fails (the trie is full: maxRoutes) the fast path would match a
 * shorter prefix than user space: restore the default program (ref.restore()) or refuse the route in both.
 * A route change is atomic (the trie replaces a node under RCU); a next-hop change is a plain copy of 12
 * bytes, which a frame forwarded at that instant may see half done: to change a next hop's MAC or port
 * without that window, write a new next-hop index and re-point the routes.
 *
 * @example
 * // mapFd: the XSKMAP of the netdev's default redirect program (XdpProgramRef.mapFd)
 * const fp = L3fwdFastPath.load({ xskMapFd: mapFd, ports: [{ ifindex: 3, mac: Uint8Array.of(2, 0, 0, 0, 0, 1) }] });
 * fp.setNextHop(0, Uint8Array.of(2, 0, 0, 0, 0, 0x99), 0);
 * fp.addRoute(0xc6120000, 16, 0); // 198.18.0.0/16 via next hop 0
 * // ref.replace(fp.prog) ... fp.counters().forwarded ... ref.restore()
 * fp.close();
 */
import { BpfMap, BPF_F_NO_PREALLOC, MapType, mapInfoByFd, mapTypeName, possibleCpus } from "./map.js";
import { sys } from "../sys/native.js";
import { SysError } from "../sys/errno.js";
import { Program, ProgType } from "./prog.js";
import { expectFdKind } from "./syscall.js";
import {
  FAST_PATH_REASONS, FastPathReason, L3FWD_PROG_NAME, NEXT_HOP_SIZE, PORT_SIZE, ROUTE_KEY_SIZE, STATS_SIZE,
  l3fwdFastPathAsm, type FastPathMapFds, type FastPathReasonName,
} from "./l3fwd-fastpath-prog.js";

/** Default LPM trie capacity (nodes are allocated on insert, so a large bound costs nothing up front). */
export const DEFAULT_MAX_ROUTES = 1 << 20;
/** Default next-hop table size. */
export const DEFAULT_MAX_NEXT_HOPS = 4096;

/** A tx port the fast path may send on: its netdev and source MAC. */
export interface FastPathPort {
  ifindex: number;
  /** 6 bytes. */
  mac: Uint8Array;
}

/** What {@link L3fwdFastPath.load} takes. */
export interface FastPathOptions {
  /** The XSKMAP of the netdev the program runs on (the default redirect program's); stays the caller's. */
  xskMapFd: number;
  /**
   * The app's ports by tx port index (the lport index the FIB's next hops name). `null` for a port the
   * fast path must not send on (its frames go to user space). At least one entry.
   */
  ports: readonly (FastPathPort | null)[];
  /** LPM trie capacity, default 2^20. */
  maxRoutes?: number;
  /** Next-hop table size (valid indexes 0 .. maxNextHops - 1), default 4096. */
  maxNextHops?: number;
}

/** One route of the trie. */
export interface FastPathRoute {
  /** Host-order u32 (10.0.0.0 -> 0x0a000000). */
  ip: number;
  depth: number;
  nextHop: number;
}

/** Counters summed over CPUs: frames (and bytes) by what the fast path did with them. */
export type FastPathCounters = Record<FastPathReasonName, number> & {
  /** Bytes of forwarded frames. */
  forwardedBytes: number;
  /** Frames sent to the AF_XDP socket (the sum of every reason but forwarded and redirectFailed). */
  toUser: number;
  /** Their bytes. */
  toUserBytes: number;
};

const REASON_NAMES = Object.keys(FastPathReason) as FastPathReasonName[];

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`Invalid ${what} ${v}: expected an integer 0 .. 4294967295`);
}

function checkMac(mac: Uint8Array, what: string): void {
  if (!(mac instanceof Uint8Array) || mac.byteLength !== 6) {
    throw new RangeError(`Invalid ${what}: expected 6 bytes, got ${mac instanceof Uint8Array ? mac.byteLength : typeof mac}`);
  }
}

function checkCount(v: number, what: string, max: number): void {
  if (!Number.isInteger(v) || v < 1 || v > max) throw new RangeError(`Invalid ${what} ${v}: expected 1 .. ${max}`);
}

/** Throws unless `fd` is an XSKMAP (u32 -> u32); never takes it over. */
function checkXskMap(fd: number): void {
  expectFdKind(fd, "map", "L3fwdFastPath xskMapFd");
  const info = mapInfoByFd(fd);
  if (info.type !== MapType.XSKMAP || info.keySize !== 4 || info.valueSize !== 4) {
    throw new TypeError(`L3fwdFastPath xskMapFd ${fd}: map '${info.name}' (id ${info.id}) is ${mapTypeName(info.type)} key ${info.keySize} value ${info.valueSize}, expected an XSKMAP u32 -> u32`);
  }
}

/**
 * The fast path's maps and programs, owned: close() releases them (programs still attached somewhere stay
 * loaded, with their maps, until detached). Control path only: no call is meant for a per-packet loop.
 *
 * @example
 * const fp = L3fwdFastPath.load({ xskMapFd: mapFd, ports: [{ ifindex: 3, mac: Uint8Array.of(2, 0, 0, 0, 0, 1) }, null] });
 * try {
 *   fp.setNextHop(7, Uint8Array.of(2, 0, 0, 0, 0, 0x99), 0);
 *   fp.addRoute(0x0a000000, 8, 7);              // 10.0.0.0/8 via next hop 7
 *   fp.deleteRoute(0x0a000000, 8);              // true
 *   const c = fp.counters();                    // { forwarded, noRoute, ttlExceeded, ..., toUser }
 * } finally {
 *   fp.close();
 * }
 */
export class L3fwdFastPath implements Disposable {
  /** The program over the XSKMAP given to load(). */
  readonly prog: Program;
  readonly maxRoutes: number;
  readonly maxNextHops: number;
  /** Tx ports (the ports array's size). */
  readonly portCount: number;
  private readonly maps: { routes: BpfMap; nextHops: BpfMap; ports: BpfMap; tx: BpfMap; stats: BpfMap };
  private readonly progs = new Map<number, Program>();
  #closed = false;
  // Scratch buffers for element calls.
  private readonly rKey = new Uint8Array(ROUTE_KEY_SIZE);
  private readonly rKeyV = new DataView(this.rKey.buffer);
  private readonly u32 = new Uint8Array(4);
  private readonly u32V = new DataView(this.u32.buffer);
  private readonly nh = new Uint8Array(NEXT_HOP_SIZE);
  private readonly nhV = new DataView(this.nh.buffer);

  private constructor(maps: L3fwdFastPath["maps"], maxRoutes: number, maxNextHops: number, portCount: number, xskMapFd: number) {
    this.maps = maps;
    this.maxRoutes = maxRoutes;
    this.maxNextHops = maxNextHops;
    this.portCount = portCount;
    this.prog = this.programFor(xskMapFd);
  }

  /**
   * Creates the maps, fills the port tables and loads the program over `xskMapFd`. Every argument is
   * checked first; on any failure everything created so far is closed (a verifier rejection throws a
   * VerifierError with the verifier's log).
   */
  static load(opts: FastPathOptions): L3fwdFastPath {
    const maxRoutes = opts.maxRoutes ?? DEFAULT_MAX_ROUTES;
    const maxNextHops = opts.maxNextHops ?? DEFAULT_MAX_NEXT_HOPS;
    checkCount(maxRoutes, "maxRoutes", 0xffffffff);
    checkCount(maxNextHops, "maxNextHops", 1 << 24);
    const ports = opts.ports;
    if (!Array.isArray(ports) || ports.length === 0 || ports.length > 0xffff) {
      throw new RangeError(`Invalid ports: expected 1 .. 65535 entries (tx port index -> { ifindex, mac } or null), got ${Array.isArray(ports) ? ports.length : typeof ports}`);
    }
    ports.forEach((p, i) => {
      if (p === null) return;
      checkU32(p.ifindex, `ports[${i}].ifindex`);
      if (p.ifindex === 0) throw new RangeError(`Invalid ports[${i}].ifindex 0: expected a netdev's ifindex`);
      checkMac(p.mac, `ports[${i}].mac`);
      if (typeof sys.ifIndexToName(p.ifindex) === "number") {
        throw new SysError(`L3fwdFastPath: tx port ${i} (ifindex ${p.ifindex})`, 19 /* ENODEV */, "no netdev with that ifindex in this network namespace (load in the ports' namespace)");
      }
    });
    checkXskMap(opts.xskMapFd);

    const made: BpfMap[] = [];
    const make = (spec: Parameters<typeof BpfMap.create>[0]): BpfMap => {
      const m = BpfMap.create(spec);
      made.push(m);
      return m;
    };
    try {
      const maps = {
        routes: make({ type: MapType.LPM_TRIE, keySize: ROUTE_KEY_SIZE, valueSize: 4, maxEntries: maxRoutes, flags: BPF_F_NO_PREALLOC, name: "l3fwd_routes" }),
        nextHops: make({ type: MapType.ARRAY, keySize: 4, valueSize: NEXT_HOP_SIZE, maxEntries: maxNextHops, name: "l3fwd_nexthops" }),
        ports: make({ type: MapType.ARRAY, keySize: 4, valueSize: PORT_SIZE, maxEntries: ports.length, name: "l3fwd_ports" }),
        tx: make({ type: MapType.DEVMAP, keySize: 4, valueSize: 4, maxEntries: ports.length, name: "l3fwd_tx" }),
        stats: make({ type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: STATS_SIZE, maxEntries: FAST_PATH_REASONS, name: "l3fwd_stats" }),
      };
      const key = new Uint8Array(4);
      const kv = new DataView(key.buffer);
      const pv = new Uint8Array(PORT_SIZE);
      const ifv = new Uint8Array(4);
      ports.forEach((p, i) => {
        if (p === null) return;
        kv.setUint32(0, i, true);
        new DataView(ifv.buffer).setUint32(0, p.ifindex, true);
        try {
          maps.tx.update(key, ifv); // before the port is marked ours
        } catch (e) {
          const err = e as Error;
          err.message = `L3fwdFastPath: tx port ${i} (ifindex ${p.ifindex}): ${err.message}`;
          throw err;
        }
        pv.set(p.mac, 0);
        pv[6] = 1; // ours
        maps.ports.update(key, pv);
      });
      return new L3fwdFastPath(maps, maxRoutes, maxNextHops, ports.length, opts.xskMapFd);
    } catch (e) {
      for (const m of made) m.close();
      throw e;
    }
  }

  private fds(xskMapFd: number): FastPathMapFds {
    const m = this.maps;
    return { routes: m.routes.fd, nextHops: m.nextHops.fd, ports: m.ports.fd, tx: m.tx.fd, stats: m.stats.fd, xsks: xskMapFd };
  }

  /**
   * The program over another netdev's XSKMAP, sharing this object's routes, next hops, ports and counters
   * (loaded once per XSKMAP fd; closed by close()). The fd stays the caller's.
   */
  programFor(xskMapFd: number): Program {
    this.live("programFor");
    const have = this.progs.get(xskMapFd);
    if (have) return have;
    checkXskMap(xskMapFd);
    const prog = Program.load({ type: ProgType.XDP, name: L3FWD_PROG_NAME, insns: l3fwdFastPathAsm(this.fds(xskMapFd)) });
    this.progs.set(xskMapFd, prog);
    return prog;
  }

  /** The fd of {@link prog}. */
  get progFd(): number {
    return this.prog.fd;
  }

  private live(op: string): void {
    if (this.#closed) throw new Error(`L3fwdFastPath.${op}: closed`);
  }

  private checkNh(idx: number, what: string): void {
    if (!Number.isInteger(idx) || idx < 0 || idx >= this.maxNextHops) {
      throw new RangeError(`Invalid ${what} ${idx}: expected 0 .. ${this.maxNextHops - 1} (maxNextHops ${this.maxNextHops})`);
    }
  }

  private routeKey(ip: number, depth: number, op: string): Uint8Array {
    checkU32(ip, `${op} address`);
    if (!Number.isInteger(depth) || depth < 0 || depth > 32) throw new RangeError(`Invalid ${op} depth ${depth}: expected 0 .. 32`);
    const masked = depth === 0 ? 0 : (ip & (0xffffffff << (32 - depth))) >>> 0;
    this.rKeyV.setUint32(0, depth, true);
    this.rKeyV.setUint32(4, masked, false); // network order
    return this.rKey;
  }

  /**
   * Sets next hop `idx`: frames routed to it leave tx port `port` with destination MAC `dmac` (6 bytes).
   * A port outside the ports table or marked null sends them to user space.
   */
  setNextHop(idx: number, dmac: Uint8Array, port: number): void {
    this.live("setNextHop");
    this.checkNh(idx, "next hop index");
    checkMac(dmac, `next hop ${idx} MAC`);
    checkU32(port, `next hop ${idx} port`);
    this.nh.set(dmac, 0);
    this.nhV.setUint16(6, 1, true); // valid
    this.nhV.setUint32(8, port, true);
    this.u32V.setUint32(0, idx, true);
    this.maps.nextHops.update(this.u32, this.nh);
  }

  /** Unsets next hop `idx`: routes to it send their frames to user space. */
  clearNextHop(idx: number): void {
    this.live("clearNextHop");
    this.checkNh(idx, "next hop index");
    this.nh.fill(0);
    this.u32V.setUint32(0, idx, true);
    this.maps.nextHops.update(this.u32, this.nh);
  }

  /** Next hop `idx`, or null when unset. */
  nextHop(idx: number): { dmac: Uint8Array; port: number } | null {
    this.live("nextHop");
    this.checkNh(idx, "next hop index");
    this.u32V.setUint32(0, idx, true);
    if (!this.maps.nextHops.lookup(this.u32, this.nh) || this.nhV.getUint16(6, true) === 0) return null;
    return { dmac: this.nh.slice(0, 6), port: this.nhV.getUint32(8, true) };
  }

  /**
   * Adds the route `ip`/`depth` (ip a host-order u32; host bits are ignored) via next hop `nhIdx`, or
   * re-points it when present. Throws (and changes nothing) when the trie is full.
   */
  addRoute(ip: number, depth: number, nhIdx: number): void {
    this.live("addRoute");
    const key = this.routeKey(ip, depth, "route");
    this.checkNh(nhIdx, "route next hop");
    this.u32V.setUint32(0, nhIdx, true);
    try {
      this.maps.routes.update(key, this.u32);
    } catch (e) {
      const err = e as Error & { code?: string };
      err.message = `L3fwdFastPath.addRoute ${fmtIp(ip)}/${depth}: ${err.message}${err.code === "ENOSPC" || err.code === "E2BIG" ? ` (the trie holds at most maxRoutes ${this.maxRoutes} routes)` : ""}`;
      throw err;
    }
  }

  /** Deletes the route `ip`/`depth`; false when there was none. */
  deleteRoute(ip: number, depth: number): boolean {
    this.live("deleteRoute");
    return this.maps.routes.delete(this.routeKey(ip, depth, "route"));
  }

  /** Every route in the trie (for checks against the user-space FIB; not for large tables in a loop). */
  routes(): FastPathRoute[] {
    this.live("routes");
    const out: FastPathRoute[] = [];
    for (const k of this.maps.routes.keys()) {
      const dv = new DataView(k.buffer);
      if (!this.maps.routes.lookup(k, this.u32)) continue; // deleted meanwhile
      out.push({ ip: dv.getUint32(4, false), depth: dv.getUint32(0, true), nextHop: this.u32V.getUint32(0, true) });
    }
    return out;
  }

  /** The counters, summed over the possible CPUs. */
  counters(): FastPathCounters {
    this.live("counters");
    const ncpu = possibleCpus();
    const buf = new Uint8Array(this.maps.stats.lookupSize);
    const dv = new DataView(buf.buffer);
    const packets = new Array<number>(FAST_PATH_REASONS).fill(0);
    const bytes = new Array<number>(FAST_PATH_REASONS).fill(0);
    for (let r = 0; r < FAST_PATH_REASONS; r++) {
      this.u32V.setUint32(0, r, true);
      if (!this.maps.stats.lookup(this.u32, buf)) continue;
      for (let c = 0; c < ncpu; c++) {
        const o = c * STATS_SIZE;
        packets[r]! += dv.getUint32(o, true) + dv.getUint32(o + 4, true) * 0x100000000;
        bytes[r]! += dv.getUint32(o + 8, true) + dv.getUint32(o + 12, true) * 0x100000000;
      }
    }
    const out = { forwardedBytes: bytes[FastPathReason.forwarded]!, toUser: 0, toUserBytes: 0 } as FastPathCounters;
    for (const name of REASON_NAMES) {
      const r = FastPathReason[name];
      out[name] = packets[r]!;
      if (r !== FastPathReason.forwarded && r !== FastPathReason.redirectFailed) {
        out.toUser += packets[r]!;
        out.toUserBytes += bytes[r]!;
      }
    }
    return out;
  }

  /** Whether close() has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the programs and maps (idempotent). What is still attached stays loaded until detached. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.progs.values()) p.close();
    this.progs.clear();
    for (const m of Object.values(this.maps)) m.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function fmtIp(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
}

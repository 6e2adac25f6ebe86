/**
 * Ports from a parsed config: one UMEM and one mempool per UMEM the lports use, then every lport
 * (net_af_xdp, privileged or unprivileged through `uds_path`/`xsk_pin_path`, net_af_packet, net_tap,
 * net_pcap, net_memif with their `pmd` options, net_null, net_ring). On stop
 * the set closes the ports, ends the device plugin sessions, and checks every frame came back (the exact
 * frame report of {@link PortSet.close}).
 */
import type { AppConfig, Lport as LportCfg } from "../config/types.js";
import { Umem } from "../mem/umem.js";
import { Mempool } from "../mem/mempool.js";
import { countStates } from "../mem/tracker.js";
import type { Lport } from "../pktdev/lport.js";
import { NullPort } from "../pktdev/null.js";
import { RingPort } from "../pktdev/ring-port.js";
import { AfXdpPort } from "../pktdev/af-xdp.js";
import { AfPacketPort } from "../pktdev/af-packet.js";
import { TapPort } from "../pktdev/tap.js";
import { PcapPort } from "../pktdev/pcap.js";
import { MemifPort } from "../pktdev/memif.js";
import { parseMemifOptions } from "../pktdev/memif-options.js";
import { parseAfPacketOptions, parsePcapOptions, parseTapOptions } from "../pktdev/pmd-options.js";
import { withNetns } from "../netlink/netns.js";
import { XskMapSources } from "./xskmap-source.js";

/** Options of {@link PortSet.build}. */
export interface PortSetOptions {
  /** Track frame ownership: double frees, bad allocs and bad kernel returns are counted at close. */
  debugFrames?: boolean;
  /** Network namespace (name under /run/netns or a path) to open the ports in. */
  netns?: string;
  log?: (msg: string) => void;
  /**
   * Which lports to build: their names, or a predicate on each lport of the config (default: all). UMEMs
   * no selected lport uses are not built. A port keeps its config `pid`; a name the config lacks throws.
   *
   * @example
   * const set = PortSet.build(config, { lports: (lp) => lp.pmd === "net_af_xdp" });
   */
  lports?: readonly string[] | ((lport: LportCfg) => boolean);
}

/** Options of {@link poolsReport}. */
export interface PoolsReportOptions {
  /**
   * TX descriptors the pools' ports refused, read before the ports closed (see {@link txRejectedOf}):
   * reported as `txRejected` and as a fault. Default 0.
   */
  txRejected?: number;
  /** Errors (thread errors, errors closing ports) to report as `threadErrors` and faults. */
  errors?: readonly Error[];
}

/**
 * What {@link PortSet.close} found. Every count is exact and must be 0; `faults` says each one that is not
 * in words (with the thread errors passed in), so a caller fails on `faults.length > 0`.
 */
export interface StopReport {
  /** Frames not back in their pools after every port was closed and every ring drained. */
  leakedFrames: number;
  /** Frames freed twice (tracker only: null without `debugFrames`). */
  doubleFrees: number | null;
  /** Frames handed out twice by a pool (tracker only). */
  badAllocs: number | null;
  /** Frames the kernel returned that it was never given (tracker only). */
  badKernelReturns: number | null;
  /** Frees that did not fit back into a pool (more frees than frames: double frees seen without the tracker). */
  poolOverflows: number;
  /** TX descriptors refused: by the socket before posting (invalid length/offset), and by the kernel. */
  txRejected: number;
  /** Errors of the worker threads (and of closing ports). */
  threadErrors: string[];
  /** Every fault above in words ("3 frames of pool 'umem0' not returned (of 16384)"); empty when all is well. */
  faults: string[];
}

/** The report of a stop with nothing to report (a second stop). */
export function emptyReport(): StopReport {
  return { leakedFrames: 0, doubleFrees: null, badAllocs: null, badKernelReturns: null, poolOverflows: 0, txRejected: 0, threadErrors: [], faults: [] };
}

/**
 * TX descriptors refused by the given ports (`tx_invalid`: frames txBurst refused plus the kernel's
 * tx_invalid_descs). Read it before closing the ports; a port whose counters cannot be read adds nothing.
 *
 * @example
 * const txRejected = txRejectedOf(ports);
 * for (const p of ports) p.close();
 * const report = poolsReport([mempool], { txRejected });
 */
export function txRejectedOf(ports: Iterable<Lport>): number {
  let n = 0;
  for (const p of ports) {
    try {
      n += p.readStats()["tx_invalid"] ?? 0;
    } catch { /* counters of a port whose socket failed: nothing to add */ }
  }
  return n;
}

/**
 * The exact frame report ({@link StopReport}) of pools the caller built itself, as {@link PortSet.close}
 * gives for its own: call it once the pools' ports are closed (and their rings drained). It flushes each
 * pool's cache, counts the frames not back and the overflows, and with a tracker (`debug` pools) the double
 * frees, bad allocs and bad kernel returns (null without one). `txRejected` and `errors` are reported with
 * the rest. Add it to another report with {@link mergeReports}.
 *
 * @example
 * const txRejected = txRejectedOf([port]);
 * port.close();
 * const report = poolsReport([mempool], { txRejected, errors: [] });
 * if (report.faults.length > 0) console.error(report.faults.join("\n"));
 */
export function poolsReport(pools: Iterable<Mempool>, o: PoolsReportOptions = {}): StopReport {
  const r = emptyReport();
  const txRejected = o.txRejected ?? 0;
  r.txRejected = txRejected;
  if (txRejected > 0) r.faults.push(`${txRejected} TX descriptors rejected (invalid offset or length)`);
  for (const mp of pools) {
    mp.flushCache();
    const missing = mp.count - mp.available();
    r.leakedFrames += missing;
    r.poolOverflows += mp.overflows;
    if (missing !== 0) r.faults.push(`${missing} frames of pool '${mp.name}' not returned (of ${mp.count})`);
    if (mp.overflows !== 0) r.faults.push(`${mp.overflows} frees did not fit back into pool '${mp.name}' (freed more often than allocated)`);
    const t = mp.tracker;
    if (!t) continue;
    const st = countStates(mp.mbufs.owner, mp.first, mp.count);
    if (st.app + st.kernel !== missing) {
      r.faults.push(`pool '${mp.name}': the tracker holds ${st.app} frames in the application and ${st.kernel} in the kernel, but ${missing} are missing from the pool`);
    }
    r.doubleFrees = (r.doubleFrees ?? 0) + t.doubleFrees;
    r.badAllocs = (r.badAllocs ?? 0) + t.badAllocs;
    r.badKernelReturns = (r.badKernelReturns ?? 0) + t.badKernelReturns;
    if (t.doubleFrees) r.faults.push(`${t.doubleFrees} double frees in pool '${mp.name}' (handles ${t.sampleHandles().join(", ")})`);
    if (t.badAllocs) r.faults.push(`${t.badAllocs} frames handed out while not free in pool '${mp.name}'`);
    if (t.badKernelReturns) r.faults.push(`${t.badKernelReturns} frames returned by the kernel that it was not given, pool '${mp.name}'`);
  }
  for (const e of o.errors ?? []) {
    r.threadErrors.push(e.message);
    r.faults.push(e.message);
  }
  return r;
}

/**
 * The sum of two reports: counts added, errors and faults concatenated (`a`'s first). A tracker count
 * stays null only when it is null in both.
 *
 * @example
 * const set = PortSet.build(config);
 * // ... ports of the set, and pools built by hand ...
 * const report = mergeReports(poolsReport([mempool]), set.close());
 */
export function mergeReports(a: StopReport, b: StopReport): StopReport {
  const add = (x: number | null, y: number | null) => (x === null && y === null ? null : (x ?? 0) + (y ?? 0));
  return {
    leakedFrames: a.leakedFrames + b.leakedFrames,
    doubleFrees: add(a.doubleFrees, b.doubleFrees),
    badAllocs: add(a.badAllocs, b.badAllocs),
    badKernelReturns: add(a.badKernelReturns, b.badKernelReturns),
    poolOverflows: a.poolOverflows + b.poolOverflows,
    txRejected: a.txRejected + b.txRejected,
    threadErrors: [...a.threadErrors, ...b.threadErrors],
    faults: [...a.faults, ...b.faults],
  };
}

/**
 * The UMEMs, mempools and lports of a config, built on the calling thread (which holds every port's rings
 * until `port.release()` hands them to a worker).
 *
 * @example
 * const { config } = loadConfig("fwd.jsonc");
 * const set = PortSet.build(config, { debugFrames: true });
 * try {
 *   const port = set.port("eth0:0");
 *   // ... rxBurst/txBurst on this thread, or port.release() and open it in a worker
 * } finally {
 *   const report = set.close();
 *   if (report.faults.length > 0) console.error(report.faults.join("\n"));
 * }
 */
export class PortSet {
  readonly config: AppConfig;
  /**
   * The lports built, in config order (a port's index is its `pid` when every lport is built; see
   * {@link PortSetOptions.lports}).
   */
  readonly ports: Lport[] = [];
  /** One mempool per UMEM in use, by UMEM name. */
  readonly pools = new Map<string, Mempool>();
  /** The namespace the ports were opened in, if not the caller's. */
  readonly netns: string | undefined;
  private readonly umems: Umem[] = [];
  private readonly mapSources = new XskMapSources();
  /** Ring lports and their pool: frames left in their rings go back to it at close. */
  private readonly ringPools = new Map<RingPort, Mempool>();
  private closed = false;

  private constructor(config: AppConfig, netns: string | undefined) {
    this.config = config;
    this.netns = netns;
  }

  /** Builds everything the config names; on failure releases what was built and rethrows. */
  static build(config: AppConfig, o: PortSetOptions = {}): PortSet {
    const set = new PortSet(config, o.netns);
    const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
    try {
      if (o.netns) withNetns(o.netns, () => set.buildAll(o, log));
      else set.buildAll(o, log);
      return set;
    } catch (e) {
      set.close();
      throw e;
    }
  }

  /** The port of that name or pid; throws naming the known ones when there is none. */
  port(name: string | number): Lport {
    const p = this.ports.find((x) => x.name === name || x.pid === name);
    if (!p) throw new RangeError(`Unknown lport '${name}' (known: ${this.ports.map((x) => x.name).join(", ")})`);
    return p;
  }

  /** The lports `o.lports` selects, in config order; throws on a name the config lacks. */
  private static selected(cfg: AppConfig, o: PortSetOptions): LportCfg[] {
    const all = [...cfg.lports.values()];
    const sel = o.lports;
    if (sel === undefined) return all;
    if (typeof sel === "function") return all.filter((l) => sel(l));
    const unknown = sel.filter((n) => !cfg.lports.has(n));
    if (unknown.length > 0) {
      throw new RangeError(`PortSet.build: unknown lport(s) ${unknown.map((n) => `'${n}'`).join(", ")} (known: ${[...cfg.lports.keys()].join(", ")})`);
    }
    const want = new Set(sel);
    return all.filter((l) => want.has(l.name));
  }

  private buildAll(o: PortSetOptions, log: (m: string) => void): void {
    const cfg = this.config;
    const lports = PortSet.selected(cfg, o);
    for (const u of cfg.umems.values()) {
      if (lports.every((l) => l.umem !== u.name)) continue;
      const umem = Umem.create({ frames: u.bufcnt, frameSize: u.bufsz, mtype: u.mtype, name: u.name });
      this.umems.push(umem);
      if (umem.mtype !== u.mtype) log(`umem '${u.name}': ${u.mtype} pages not available, using 4KB`);
      this.pools.set(u.name, Mempool.create({ umem, cacheSize: cfg.defaults.cache, debug: o.debugFrames ?? false, name: u.name }));
    }
    const firstOnUmem = new Map<string, AfXdpPort>();
    for (const lp of lports) {
      const pool = this.pools.get(lp.umem);
      if (!pool) throw new Error(`lport '${lp.name}' names umem '${lp.umem}', which does not exist`);
      this.ports.push(this.makePort(lp, pool, firstOnUmem, log));
    }
  }

  private makePort(lp: LportCfg, pool: Mempool, firstOnUmem: Map<string, AfXdpPort>, log: (m: string) => void): Lport {
    const u = this.config.umems.get(lp.umem)!;
    switch (lp.pmd) {
      case "net_af_xdp": {
        const src = lp.unprivileged ? this.mapSources.open(lp) : null;
        const xskMapFd = src?.fd;
        const share = u.sharedUmem ? firstOnUmem.get(lp.umem) : undefined;
        const busy = lp.busyPoll && lp.busyBudget !== 0xffff;
        const port = AfXdpPort.create({
          name: lp.name, pid: lp.index, ifname: lp.netdev, qid: lp.qid, mempool: pool,
          rxSize: u.rxdesc, txSize: u.txdesc, skbMode: lp.skbMode, log,
          // Unprivileged ports get busy poll from the device plugin (/config_busy_poll): SO_BUSY_POLL
          // needs CAP_NET_ADMIN. They still kick RX with recvfrom() on every empty poll to drive NAPI.
          forceWakeup: lp.forceWakeup || (busy && lp.unprivileged),
          ...(lp.skbMode ? { copyMode: "copy" as const } : {}),
          ...(lp.multiBuffer ? { multiBuffer: true } : {}),
          ...(busy && !lp.unprivileged ? { busyPoll: { timeoutUs: lp.busyTimeout, budget: lp.busyBudget } } : {}),
          ...(share ? { shareUmemWith: share } : {}),
          ...(xskMapFd !== undefined ? { xskMapFd } : {}),
        });
        if (!firstOnUmem.has(lp.umem)) firstOnUmem.set(lp.umem, port);
        try {
          src?.afterSocket(port.xsk.fd);
        } catch (e) {
          port.close();
          throw e;
        }
        return port;
      }
      case "net_af_packet": {
        const o = PortSet.options(lp, parseAfPacketOptions);
        return AfPacketPort.create({
          name: lp.name, pid: lp.index, ifname: lp.netdev, qid: lp.qid, mempool: pool, rxSize: u.rxdesc, txSize: u.txdesc,
          fanout: o.fanout, blockSize: o.blockSize, tovMs: o.tovMs, promisc: o.promisc,
          ...(o.group !== undefined ? { fanoutGroup: o.group } : {}),
        });
      }
      case "net_tap": {
        const o = PortSet.options(lp, parseTapOptions);
        return TapPort.create({ name: lp.name, pid: lp.index, iface: o.iface ?? lp.netdev, mempool: pool, persist: o.persist });
      }
      case "net_pcap": {
        const o = PortSet.options(lp, parsePcapOptions);
        return PcapPort.create({
          name: lp.name, pid: lp.index, mempool: pool, rate: o.rate, loop: o.loop,
          ...(o.rx !== undefined ? { rx: o.rx } : {}), ...(o.tx !== undefined ? { tx: o.tx } : {}),
        });
      }
      case "net_memif": {
        // The lport's qid is the interface's queue pair; lports with the same options share the interface.
        const o = PortSet.options(lp, parseMemifOptions);
        return MemifPort.create({ ...o, name: lp.name, pid: lp.index, mempool: pool, qid: lp.qid, ifName: lp.netdev, log });
      }
      case "net_null":
        return NullPort.create({ name: lp.name, pid: lp.index, mempool: pool });
      case "net_ring": {
        // A ring lport on its own loops back: what it sends, it receives.
        const p = RingPort.create({ name: lp.name, pid: lp.index, mbufs: pool.mbufs });
        const port = RingPort.create({ name: lp.name, pid: lp.index, mbufs: pool.mbufs, rx: p.rx, tx: p.rx });
        this.ringPools.set(port, pool);
        return port;
      }
      default:
        throw new Error(`lport '${lp.name}': pmd '${lp.pmd}' is not supported (net_af_xdp, net_af_packet, net_tap, net_pcap, net_memif, net_null, net_ring)`);
    }
  }

  /** The lport's driver options, or an error naming the lport (configs built in code skip the parser's check). */
  private static options<T>(lp: LportCfg, parse: (opts: string | undefined) => T): T {
    try {
      return parse(lp.pmdOpts);
    } catch (e) {
      throw new RangeError(`lport '${lp.name}': ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Closes every port (removing sockets from the XSKMAP, detaching the program when the last port on a
   * netdev closes), ends the device plugin sessions, checks that every frame is back in its pool, and
   * frees the UMEMs. Call it once the workers have stopped (the creator's `close()` takes the rings back).
   * `errors`: thread errors to report with the rest. A second call returns an empty report.
   */
  close(errors: Error[] = []): StopReport {
    if (this.closed) return emptyReport();
    this.closed = true;
    const errs = [...errors];
    const scratch = new Uint32Array(1024);
    for (const [rp, pool] of this.ringPools) {
      for (const ring of rp.rx === rp.tx ? [rp.rx] : [rp.rx, rp.tx]) {
        for (let n; (n = ring.dequeueBurst(scratch, scratch.length)) > 0;) pool.freeBulk(scratch, n);
      }
    }
    const txRejected = txRejectedOf(this.ports);
    for (const p of this.ports) {
      try { p.close(); } catch (e) { errs.push(e as Error); }
    }
    this.mapSources.close();
    const report = poolsReport(this.pools.values(), { txRejected, errors: errs });
    for (const u of this.umems) u.close();
    return report;
  }
}

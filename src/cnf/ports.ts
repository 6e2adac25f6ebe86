/**
 * Ports from a parsed config: one UMEM and one mempool per UMEM the lports use, then every lport
 * (net_af_xdp, privileged or unprivileged through `uds_path`/`xsk_pin_path`, net_null, net_ring). On stop
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
import { withNetns } from "../netlink/netns.js";
import { XskMapSources } from "./xskmap-source.js";

/** Options of {@link PortSet.build}. */
export interface PortSetOptions {
  /** Track frame ownership: double frees, bad allocs and bad kernel returns are counted at close. */
  debugFrames?: boolean;
  /** Network namespace (name under /run/netns or a path) to open the ports in. */
  netns?: string;
  log?: (msg: string) => void;
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
  /** The lports in config order (a port's index is its `pid`). */
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

  private buildAll(o: PortSetOptions, log: (m: string) => void): void {
    const cfg = this.config;
    for (const u of cfg.umems.values()) {
      if ([...cfg.lports.values()].every((l) => l.umem !== u.name)) continue;
      const umem = Umem.create({ frames: u.bufcnt, frameSize: u.bufsz, mtype: u.mtype, name: u.name });
      this.umems.push(umem);
      if (umem.mtype !== u.mtype) log(`umem '${u.name}': ${u.mtype} pages not available, using 4KB`);
      this.pools.set(u.name, Mempool.create({ umem, cacheSize: cfg.defaults.cache, debug: o.debugFrames ?? false, name: u.name }));
    }
    const firstOnUmem = new Map<string, AfXdpPort>();
    for (const lp of cfg.lports.values()) {
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
        throw new Error(`lport '${lp.name}': pmd '${lp.pmd}' is not supported (net_af_xdp, net_null, net_ring)`);
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
    const faults: string[] = [];
    const scratch = new Uint32Array(1024);
    for (const [rp, pool] of this.ringPools) {
      for (const ring of rp.rx === rp.tx ? [rp.rx] : [rp.rx, rp.tx]) {
        for (let n; (n = ring.dequeueBurst(scratch, scratch.length)) > 0;) pool.freeBulk(scratch, n);
      }
    }
    let txRejected = 0;
    for (const p of this.ports) {
      try {
        // tx_invalid: frames txBurst refused plus the kernel's tx_invalid_descs (xsk/socket.ts).
        txRejected += p.readStats()["tx_invalid"] ?? 0;
      } catch { /* counters of a port whose socket failed: nothing to add */ }
    }
    if (txRejected > 0) faults.push(`${txRejected} TX descriptors rejected (invalid offset or length)`);
    for (const p of this.ports) {
      try { p.close(); } catch (e) { errs.push(e as Error); }
    }
    this.mapSources.close();
    let leaked = 0;
    let poolOverflows = 0;
    let doubleFrees: number | null = null;
    let badAllocs: number | null = null;
    let badKernelReturns: number | null = null;
    for (const mp of this.pools.values()) {
      mp.flushCache();
      const missing = mp.count - mp.available();
      leaked += missing;
      poolOverflows += mp.overflows;
      if (missing !== 0) faults.push(`${missing} frames of pool '${mp.name}' not returned (of ${mp.count})`);
      if (mp.overflows !== 0) faults.push(`${mp.overflows} frees did not fit back into pool '${mp.name}' (freed more often than allocated)`);
      if (mp.tracker) {
        const st = countStates(mp.mbufs.owner, mp.first, mp.count);
        if (st.app + st.kernel !== missing) {
          faults.push(`pool '${mp.name}': the tracker holds ${st.app} frames in the application and ${st.kernel} in the kernel, but ${missing} are missing from the pool`);
        }
        doubleFrees = (doubleFrees ?? 0) + mp.tracker.doubleFrees;
        badAllocs = (badAllocs ?? 0) + mp.tracker.badAllocs;
        badKernelReturns = (badKernelReturns ?? 0) + mp.tracker.badKernelReturns;
        const sample = mp.tracker.sampleHandles().join(", ");
        if (mp.tracker.doubleFrees) faults.push(`${mp.tracker.doubleFrees} double frees in pool '${mp.name}' (handles ${sample})`);
        if (mp.tracker.badAllocs) faults.push(`${mp.tracker.badAllocs} frames handed out while not free in pool '${mp.name}'`);
        if (mp.tracker.badKernelReturns) faults.push(`${mp.tracker.badKernelReturns} frames returned by the kernel that it was not given, pool '${mp.name}'`);
      }
    }
    for (const u of this.umems) u.close();
    for (const e of errs) faults.push(e.message);
    return { leakedFrames: leaked, doubleFrees, badAllocs, badKernelReturns, poolOverflows, txRejected, threadErrors: errs.map((e) => e.message), faults };
  }
}

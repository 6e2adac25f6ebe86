/**
 * `xdplane fwd`: the forwarder app (CNDP's cndpfwd). Builds UMEMs, mempools and ports from a jsonc config,
 * starts one pinned worker per configured thread running the mode, reports per-port rates, and on stop
 * drains, detaches programs, and frees everything (reporting leaked frames in debug mode).
 */
import type { AppConfig, Lport as LportCfg } from "../../config/types.js";
import { configError } from "../../config/errors.js";
import { Umem } from "../../mem/umem.js";
import { Mempool } from "../../mem/mempool.js";
import { countStates } from "../../mem/tracker.js";
import type { Lport } from "../../pktdev/lport.js";
import { NullPort } from "../../pktdev/null.js";
import { RingPort } from "../../pktdev/ring-port.js";
import { AfXdpPort } from "../../pktdev/af-xdp.js";
import { startThreads, stopThreads, pauseThread, type RunningThread } from "../../runtime/threads.js";
import { modeId, txTemplate, MODES, M_FWD, M_TXONLY, M_TXONLY_RX, type FwdMode } from "./modes.js";
import type { FwdThreadData } from "./loop.js";
import { XskMapSources } from "./xskmap-source.js";
import { withNetns } from "../../netlink/netns.js";
import { TC_RX, TC_TX, TC_DROP, TC_HANDOFF, TC_IDLE_ENTRIES } from "../../runtime/control.js";
import { Ring } from "../../ring/ring.js";

export interface FwdAppOptions {
  config: AppConfig;
  /** Mode from the command line; else the config's `options.mode`; else "drop"... as cndpfwd requires one. */
  mode?: string;
  /** Packets per burst (default: the config's defaults.burst). */
  burst?: number;
  /** Track frame ownership (double frees, leaks). */
  debugFrames?: boolean;
  /** tx-only packet size (default 64). */
  pktSize?: number;
  /** Destination MAC for tx-only frames. */
  txDstMac?: string;
  /**
   * Network namespace (a name under /run/netns or a path) in which the ports are opened: sockets and
   * XDP attachments belong to it; the worker threads need not run there.
   */
  netns?: string;
  log?: (msg: string) => void;
}

export interface PortRate {
  name: string;
  rxPps: number;
  txPps: number;
  rxMbps: number;
  txMbps: number;
  ipackets: number;
  opackets: number;
  drops: number;
}

/**
 * What stop() found. Every count is exact and must be 0; `faults` lists, in words, every one that is not
 * (and the thread errors), so a caller can fail on `faults.length > 0`.
 */
export interface StopReport {
  /** Frames not back in their pools after every port was closed and every ring drained. */
  leakedFrames: number;
  /** Frames freed twice (tracker only; null without --debug-frames). */
  doubleFrees: number | null;
  /** Frames handed out twice by a pool (tracker only). */
  badAllocs: number | null;
  /** Frames the kernel returned that it was never given (tracker only). */
  badKernelReturns: number | null;
  /** Frees that did not fit back into a pool (more frees than frames: double frees seen without the tracker). */
  poolOverflows: number;
  /** TX descriptors refused: by the socket before posting (invalid length/offset), and by the kernel. */
  txRejected: number;
  /** fwd mode: frames still in threads' inboxes at stop, returned to the pool (not an error). */
  inboxLeftovers: number;
  threadErrors: string[];
  /** Every fault above in words ("3 frames leaked in pool 'umem0'"), empty when all is well. */
  faults: string[];
}

/** A thread to start: its ports (each served by this thread alone) and settings. */
interface ThreadPlan {
  name: string;
  cpus: number[];
  ports: Lport[];
  idleTimeout: number;
  intrTimeout: number;
}

/**
 * The config's threads with their ports. A port is served by one thread (one owner per ring: the config
 * parser refuses a port in two threads; a config built in code is checked here too). In fwd mode every
 * port must be served, since frames forwarded to a port are sent by the thread that serves it.
 */
function planThreads(cfg: AppConfig, ports: Lport[], mid: number, log: (m: string) => void): ThreadPlan[] {
  const byName = new Map(ports.map((p) => [p.name, p]));
  const servedBy = new Map<string, string>();
  const plan: ThreadPlan[] = [];
  for (const t of cfg.threads.values()) {
    if (t.type === "main") continue;
    if (t.lports.length === 0) {
      log(`thread '${t.name}' has no lports: not started`);
      continue;
    }
    const mine: Lport[] = [];
    for (const n of t.lports) {
      const p = byName.get(n);
      if (!p) throw new Error(`thread '${t.name}' names lport '${n}', which was not created`);
      const other = servedBy.get(n);
      if (other !== undefined) {
        throw new Error(`lport '${n}' is listed by thread '${other}'${other === t.name ? " twice" : ` and by thread '${t.name}'`}: a port is served by one thread (its rings have one owner)`);
      }
      servedBy.set(n, t.name);
      mine.push(p);
    }
    plan.push({ name: t.name, cpus: [...t.lcores], ports: mine, idleTimeout: t.idleTimeout, intrTimeout: t.intrTimeout });
  }
  if (mid === M_FWD && plan.length > 0) {
    ports.forEach((p, i) => {
      if (!servedBy.has(p.name)) {
        throw new Error(`fwd mode: lport '${p.name}' (port ${i}) is served by no thread, so no thread could send the frames forwarded to it: add it to the "lports" of a thread in the config's "threads" section`);
      }
    });
  }
  return plan;
}

/** An inbox holds twice the port's TX ring (at least 1024 frames), a power of two. */
function inboxSize(cfg: AppConfig, lport: string): number {
  const lp = cfg.lports.get(lport);
  const tx = lp ? (cfg.umems.get(lp.umem)?.txdesc ?? 1024) : 1024;
  let size = 1024;
  while (size < 2 * tx) size *= 2;
  return size;
}

export class FwdApp {
  readonly config: AppConfig;
  readonly mode: FwdMode;
  readonly ports: Lport[] = [];
  /** The network namespace the ports were opened in (the netns option), if not this thread's. */
  netns: string | undefined;
  threads: RunningThread[] = [];
  private readonly umems: Umem[] = [];
  private readonly pools = new Map<string, Mempool>();
  private readonly mapSources = new XskMapSources();
  /** fwd mode with several threads: each port's inbox, filled by the threads that do not serve it. */
  private readonly inboxes = new Map<string, Ring>();
  /** Ring lports and their pool: frames left in their rings go back to it at stop. */
  private readonly ringPools = new Map<RingPort, Mempool>();
  private last = new Map<string, { t: number; ip: number; op: number; ib: number; ob: number }>();
  private stopped = false;

  private constructor(config: AppConfig, mode: FwdMode) {
    this.config = config;
    this.mode = mode;
  }

  /** Builds everything and starts the threads. On failure, releases what was built and rethrows. */
  static async start(o: FwdAppOptions): Promise<FwdApp> {
    const cfg = o.config;
    const modeOpt = cfg.options.get("mode");
    if (modeOpt !== undefined && typeof modeOpt !== "string") {
      throw new TypeError(`options.mode: expected a string (one of ${MODES.join(", ")}), got ${JSON.stringify(modeOpt)}`);
    }
    const mode = (o.mode ?? modeOpt ?? "drop") as FwdMode;
    let mid: number;
    try {
      mid = modeId(mode);
    } catch (e) {
      // A mode from the config names where it came from (file:line:col).
      if (o.mode === undefined && modeOpt !== undefined) throw configError(cfg, ["options", "mode"], (e as Error).message);
      throw e;
    }
    const app = new FwdApp(cfg, mode);
    app.netns = o.netns;
    const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
    try {
      if (o.netns) withNetns(o.netns, () => app.build(o, log));
      else app.build(o, log);
      const burst = o.burst ?? cfg.defaults.burst;
      if (!Number.isInteger(burst) || burst < 1 || burst > 256) throw new RangeError(`Invalid burst ${burst}: 1 to 256`);
      if (mid === M_FWD) {
        const umemsUsed = new Set(app.ports.map((p) => p.pool?.umem.name).filter((n) => n !== undefined));
        if (umemsUsed.size > 1) throw new Error(`fwd mode needs every port on one umem (found ${[...umemsUsed].join(", ")}): a frame can only be sent from its own UMEM`);
      }
      const pktSize = o.pktSize ?? 64;
      const template = mid === M_TXONLY || mid === M_TXONLY_RX
        ? txTemplate({ size: pktSize, ...(o.txDstMac ? { dst: o.txDstMac } : {}), src: app.ports[0]?.macAddr() ?? "02:00:00:00:00:01" })
        : null;
      const plan = planThreads(cfg, app.ports, mid, log);
      if (plan.length === 0) throw new Error(`No thread polls any lport: add "lports" to a thread in the config's "threads" section`);
      // fwd mode with several threads: an inbox per port that another thread may send to.
      if (mid === M_FWD && plan.length > 1) {
        for (const p of app.ports) {
          app.inboxes.set(p.name, Ring.create({ size: inboxSize(cfg, p.name), multiProducer: true, multiConsumer: false, name: `${p.name}-inbox` }));
        }
      }
      const specs = plan.map((t) => {
        const data: FwdThreadData = {
          name: t.name, mode: mid, burst, ports: t.ports.map((p) => p.toShared()),
          dests: mid === M_FWD
            ? app.ports.map((p) => {
              const local = t.ports.indexOf(p);
              return { local, inbox: local >= 0 ? null : app.inboxes.get(p.name)!.toShared() };
            })
            : [],
          inboxes: t.ports.map((p) => app.inboxes.get(p.name)?.toShared() ?? null),
          idleTimeoutMs: t.idleTimeout, intrTimeoutMs: t.intrTimeout, template, pktSize,
        };
        return { name: t.name, cpus: t.cpus, module: new URL("./loop.js", import.meta.url).href, data };
      });
      // One owner per ring: the main thread's port objects give the data path to the workers.
      for (const p of app.ports) p.release();
      app.threads = await startThreads(specs);
      return app;
    } catch (e) {
      await app.stop();
      throw e;
    }
  }

  private build(o: FwdAppOptions, log: (m: string) => void): void {
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
      case "net_ring":
        // A ring lport on its own loops back: what it sends, it receives.
        {
          const p = RingPort.create({ name: lp.name, pid: lp.index, mbufs: pool.mbufs });
          const port = RingPort.create({ name: lp.name, pid: lp.index, mbufs: pool.mbufs, rx: p.rx, tx: p.rx });
          this.ringPools.set(port, pool);
          return port;
        }
      default:
        throw new Error(`lport '${lp.name}': pmd '${lp.pmd}' is not supported (net_af_xdp, net_null, net_ring)`);
    }
  }

  /** Per-port rates since the previous call, and totals. */
  rates(): PortRate[] {
    const now = performance.now();
    return this.ports.map((p) => {
      const s = p.stats;
      const cur = { t: now, ip: s[0]!, ib: s[1]!, op: s[2]!, ob: s[3]! };
      const prev = this.last.get(p.name) ?? { t: now, ip: 0, ib: 0, op: 0, ob: 0 };
      this.last.set(p.name, cur);
      const dt = (now - prev.t) / 1000;
      const per = (d: number) => (dt > 0 ? d / dt : 0);
      const r = p.readStats();
      return {
        name: p.name,
        rxPps: per(cur.ip - prev.ip),
        txPps: per(cur.op - prev.op),
        rxMbps: per((cur.ib - prev.ib) * 8) / 1e6,
        txMbps: per((cur.ob - prev.ob) * 8) / 1e6,
        ipackets: cur.ip,
        opackets: cur.op,
        drops: (r["imissed"] ?? 0) + (r["odropped"] ?? 0),
      };
    });
  }

  /** Per-thread counters. */
  threadStats(): { name: string; cpus: number[]; rx: number; tx: number; drop: number; handoff: number; idleEntries: number; status: number }[] {
    return this.threads.map((t) => ({
      name: t.name, cpus: t.cpus, rx: t.control.counters[TC_RX]!, tx: t.control.counters[TC_TX]!,
      drop: t.control.counters[TC_DROP]!, handoff: t.control.counters[TC_HANDOFF]!, idleEntries: t.control.counters[TC_IDLE_ENTRIES]!, status: t.control.status,
    }));
  }

  /** Pauses or resumes threads by name or "all" (CNDP's /app/stop and /app/start). */
  pause(which: string, pause: boolean): number {
    let n = 0;
    for (const t of this.threads) if (which === "all" || t.name === which) { pauseThread(t, pause); n++; }
    return n;
  }

  /**
   * Stops the threads (they drain their TX rings), closes the ports (removing sockets from the XSKMAP and
   * detaching the program when the last port on a netdev closes), checks frames, and frees the UMEMs.
   */
  async stop(): Promise<StopReport> {
    if (this.stopped) {
      return { leakedFrames: 0, doubleFrees: null, badAllocs: null, badKernelReturns: null, poolOverflows: 0, txRejected: 0, inboxLeftovers: 0, threadErrors: [], faults: [] };
    }
    this.stopped = true;
    const errs = await stopThreads(this.threads);
    const faults: string[] = [];
    // Threads are gone: the main thread's objects take the rings back. Frames still in inboxes go back to
    // the pool (every port of fwd mode is on one UMEM).
    let inboxLeftovers = 0;
    const scratch = new Uint32Array(1024);
    for (const [name, ring] of this.inboxes) {
      const pool = this.ports.find((p) => p.name === name)?.pool ?? null;
      for (let n; (n = ring.dequeueBurst(scratch, scratch.length)) > 0;) {
        inboxLeftovers += n;
        pool?.freeBulk(scratch, n);
      }
    }
    for (const [rp, pool] of this.ringPools) {
      for (const ring of rp.rx === rp.tx ? [rp.rx] : [rp.rx, rp.tx]) {
        for (let n; (n = ring.dequeueBurst(scratch, scratch.length)) > 0;) pool.freeBulk(scratch, n);
      }
    }
    let txRejected = 0;
    for (const p of this.ports) {
      try {
        const st = p.readStats();
        // tx_invalid: frames txBurst refused plus the kernel's tx_invalid_descs (xsk/socket.ts).
        txRejected += st["tx_invalid"] ?? 0;
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
    return {
      leakedFrames: leaked, doubleFrees, badAllocs, badKernelReturns, poolOverflows, txRejected, inboxLeftovers,
      threadErrors: errs.map((e) => e.message), faults,
    };
  }
}

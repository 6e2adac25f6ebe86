/**
 * `xdplane fwd`: the forwarder app (CNDP's cndpfwd). Builds UMEMs, mempools and ports from a jsonc config,
 * starts one pinned worker per configured thread running the mode, reports per-port rates, and on stop
 * drains, detaches programs, and frees everything (reporting leaked frames in debug mode).
 */
import type { AppConfig, Lport as LportCfg } from "../../config/types.js";
import { Umem } from "../../mem/umem.js";
import { Mempool } from "../../mem/mempool.js";
import { countStates } from "../../mem/tracker.js";
import type { Lport } from "../../pktdev/lport.js";
import { NullPort } from "../../pktdev/null.js";
import { RingPort } from "../../pktdev/ring-port.js";
import { AfXdpPort } from "../../pktdev/af-xdp.js";
import { startThreads, stopThreads, pauseThread, type RunningThread } from "../../runtime/threads.js";
import { modeId, txTemplate, M_FWD, M_TXONLY, M_TXONLY_RX, type FwdMode } from "./modes.js";
import type { FwdThreadData } from "./loop.js";
import { XskMapSources } from "./xskmap-source.js";
import { withNetns } from "../../netlink/netns.js";
import { TC_RX, TC_TX, TC_DROP, TC_IDLE_ENTRIES } from "../../runtime/control.js";

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

export interface StopReport {
  /** Frames not back in their pools after everything was closed (debug mode only, else null). */
  leakedFrames: number | null;
  doubleFrees: number | null;
  threadErrors: string[];
}

export class FwdApp {
  readonly config: AppConfig;
  readonly mode: FwdMode;
  readonly ports: Lport[] = [];
  threads: RunningThread[] = [];
  private readonly umems: Umem[] = [];
  private readonly pools = new Map<string, Mempool>();
  private readonly mapSources = new XskMapSources();
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
    const mode = (o.mode ?? (typeof modeOpt === "string" ? modeOpt : undefined) ?? "drop") as FwdMode;
    const mid = modeId(mode);
    const app = new FwdApp(cfg, mode);
    const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
    try {
      if (o.netns) withNetns(o.netns, () => app.build(o, log));
      else app.build(o, log);
      const burst = o.burst ?? cfg.defaults.burst;
      if (!Number.isInteger(burst) || burst < 1 || burst > 256) throw new RangeError(`Invalid burst ${burst}: 1 to 256`);
      const byName = new Map(app.ports.map((p) => [p.name, p]));
      const all = app.ports.map((p) => p.toShared());
      const pktSize = o.pktSize ?? 64;
      const specs = [];
      for (const t of cfg.threads.values()) {
        if (t.type === "main") continue;
        if (t.lports.length === 0) {
          log(`thread '${t.name}' has no lports: not started`);
          continue;
        }
        const ports = t.lports.map((n) => {
          const p = byName.get(n);
          if (!p) throw new Error(`thread '${t.name}' names lport '${n}', which was not created`);
          return p.toShared();
        });
        const data: FwdThreadData = {
          name: t.name, mode: mid, burst, ports, allPorts: all, idleTimeoutMs: t.idleTimeout, intrTimeoutMs: t.intrTimeout,
          template: mid === M_TXONLY || mid === M_TXONLY_RX ? txTemplate({ size: pktSize, ...(o.txDstMac ? { dst: o.txDstMac } : {}), src: app.ports[0]?.macAddr() ?? "02:00:00:00:00:01" }) : null,
          pktSize,
        };
        specs.push({ name: t.name, cpus: [...t.lcores], module: new URL("./loop.js", import.meta.url).href, data });
      }
      if (specs.length === 0) throw new Error(`No thread polls any lport: add "lports" to a thread in the config's "threads" section`);
      if (mid === M_FWD) {
        const umemsUsed = new Set(app.ports.map((p) => p.pool?.umem.name).filter((n) => n !== undefined));
        if (umemsUsed.size > 1) throw new Error(`fwd mode needs every port on one umem (found ${[...umemsUsed].join(", ")}): a frame can only be sent from its own UMEM`);
      }
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
          return RingPort.create({ name: lp.name, pid: lp.index, mbufs: pool.mbufs, rx: p.rx, tx: p.rx });
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
  threadStats(): { name: string; cpus: number[]; rx: number; tx: number; drop: number; idleEntries: number; status: number }[] {
    return this.threads.map((t) => ({
      name: t.name, cpus: t.cpus, rx: t.control.counters[TC_RX]!, tx: t.control.counters[TC_TX]!,
      drop: t.control.counters[TC_DROP]!, idleEntries: t.control.counters[TC_IDLE_ENTRIES]!, status: t.control.status,
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
    if (this.stopped) return { leakedFrames: null, doubleFrees: null, threadErrors: [] };
    this.stopped = true;
    const errs = await stopThreads(this.threads);
    for (const p of this.ports) {
      try { p.close(); } catch (e) { errs.push(e as Error); }
    }
    this.mapSources.close();
    let leaked: number | null = null;
    let doubleFrees: number | null = null;
    for (const mp of this.pools.values()) {
      mp.flushCache();
      if (mp.tracker) {
        const st = countStates(mp.mbufs.owner, mp.first, mp.count);
        // Every frame must be back in the pool and marked free.
        leaked = (leaked ?? 0) + Math.max(mp.count - mp.available(), st.app + st.kernel);
        doubleFrees = (doubleFrees ?? 0) + mp.tracker.doubleFrees;
      }
    }
    for (const u of this.umems) u.close();
    return { leakedFrames: leaked, doubleFrees, threadErrors: errs.map((e) => e.message) };
  }
}

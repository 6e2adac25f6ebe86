/**
 * `xdplane fwd`: the forwarder app (CNDP's cndpfwd). Builds UMEMs, mempools and ports from a jsonc config,
 * starts one pinned worker per configured thread running the mode, reports per-port rates, and on stop
 * drains, detaches programs, and frees everything (reporting leaked frames in debug mode).
 */
import type { AppConfig } from "../../config/types.js";
import { configError } from "../../config/errors.js";
import type { Lport } from "../../pktdev/lport.js";
import type { RunningThread } from "../../runtime/threads.js";
import { Cnf, type ThreadPlan, type StopReport as CnfStopReport } from "../../cnf/index.js";
import { emptyReport } from "../../cnf/ports.js";
import { modeId, txTemplate, MODES, M_FWD, M_TXONLY, M_TXONLY_RX, M_L3FWD, M_ACL_STRICT, M_ACL_PERMISSIVE, sendsToAnyPort, type FwdMode } from "./modes.js";
import type { FwdThreadData } from "./loop.js";
import type { AclShared } from "../../lookup/acl/index.js";
import { Qsbr } from "../../lookup/qsbr.js";
import { SharedSlot } from "../../lookup/shared-slot.js";
import { parseMac } from "../../lookup/addr.js";
import type { FibRule } from "../../lookup/fib/rules.js";
import { L3fwdRoutes } from "./routes.js";
import { AclRuleTable } from "./acl-rules.js";
import { NH_MAC_STRIDE } from "./next-hops.js";
import { MC_WORDS, modeCounterKeys } from "./mode-counters.js";
import { l3fwdRulesOf, aclRulesOf } from "./mode-options.js";
import { FwdFastPath } from "./fastpath.js";
import type { FastPathCounters } from "../../bpf/l3fwd-fastpath.js";
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
  /**
   * l3fwd only: forward in the kernel what an XDP program can (fastpath.ts), the rest in user space.
   * Needs af_xdp ports with this process's own XDP program (privileged).
   */
  xdpFastpath?: boolean;
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
 * What stop() found: the framework's exact frame report (cnf/ports.ts), plus the frames left in fwd mode's
 * inboxes. Every count must be 0; `faults` lists, in words, every one that is not (and the thread errors).
 */
export interface StopReport extends CnfStopReport {
  /** fwd mode: frames still in threads' inboxes at stop, returned to the pool (not an error). */
  inboxLeftovers: number;
}

/**
 * fwd, l3fwd, ACL modes: every port must be served by a thread, since frames forwarded to a port are sent
 * by the thread that serves it.
 */
function checkAllServed(ports: readonly Lport[], plan: ThreadPlan[], mode: string): void {
  const served = new Set(plan.flatMap((t) => t.ports.map((p) => p.name)));
  ports.forEach((p, i) => {
    if (!served.has(p.name)) {
      throw new Error(`${mode} mode: lport '${p.name}' (port ${i}) is served by no thread, so no thread could send the frames forwarded to it: add it to the "lports" of a thread in the config's "threads" section`);
    }
  });
}

/** An inbox holds twice the port's TX ring (at least 1024 frames), a power of two. */
function inboxSize(cfg: AppConfig, lport: string): number {
  const lp = cfg.lports.get(lport);
  const tx = lp ? (cfg.umems.get(lp.umem)?.txdesc ?? 1024) : 1024;
  let size = 1024;
  while (size < 2 * tx) size *= 2;
  return size;
}

/**
 * The forwarder, built on the CNF framework ({@link Cnf}): the framework builds the ports and threads and
 * reports frames at stop; the forwarder adds its modes, fwd mode's inboxes and its own worker loop.
 */
export class FwdApp {
  readonly config: AppConfig;
  readonly mode: FwdMode;
  private cnf: Cnf | null = null;
  /** fwd mode with several threads: each port's inbox, filled by the threads that do not serve it. */
  private readonly inboxes = new Map<string, Ring>();
  private inboxLeftovers = 0;
  private last = new Map<string, { t: number; ip: number; op: number; ib: number; ob: number }>();
  /** The mode's number (modes.ts M_*). */
  readonly modeId: number;
  /** l3fwd: the routes (FIB, next hops), changed live by the app socket's /l3fwd commands. */
  routes: L3fwdRoutes | null = null;
  /** ACL modes: cndpfwd's rule list (/acl/add, /acl/clear) and the slot a build is published in. */
  aclRules: AclRuleTable | null = null;
  private aclSlot: SharedSlot<AclShared> | null = null;
  private aclBuilt = 0;
  /** l3fwd, ACL modes: per-port counters the workers write (mode-counters.ts), MC_WORDS per port. */
  readonly modeCounters: Float64Array;
  /** l3fwd --xdp-fastpath: the XDP program in front of the workers (null when off or detached). */
  fastPath: FwdFastPath | null = null;
  /** The fast path's counters when it was detached (stop). */
  fastPathFinal: FastPathCounters | null = null;
  /** Per-port figures taken when the threads had stopped (before the ports closed); null until stop. */
  finalRates: PortRate[] | null = null;

  private constructor(config: AppConfig, mode: FwdMode) {
    this.config = config;
    this.mode = mode;
    this.modeId = modeId(mode);
    this.modeCounters = new Float64Array(new SharedArrayBuffer(Math.max(1, config.lports.size) * MC_WORDS * 8));
  }

  /** The ports in config order. */
  get ports(): readonly Lport[] { return this.cnf?.ports ?? []; }
  /** The framework instance the forwarder runs on (null before start()). */
  get framework(): Cnf | null { return this.cnf; }
  /** The network namespace the ports were opened in (the netns option), if not this thread's. */
  get netns(): string | undefined { return this.cnf?.netns; }
  /** The running worker threads. */
  get threads(): RunningThread[] { return this.cnf?.threads ?? []; }

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
    // The mode's options are checked before anything is built (file:line:col errors).
    const fibRules: FibRule[] = mid === M_L3FWD ? l3fwdRulesOf(cfg) : [];
    const aclTexts = mid === M_ACL_STRICT || mid === M_ACL_PERMISSIVE ? aclRulesOf(cfg) : [];
    if (o.xdpFastpath && mid !== M_L3FWD) throw new Error(`--xdp-fastpath works in l3fwd mode only (the mode is ${mode})`);
    const app = new FwdApp(cfg, mode);
    const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
    const burst = o.burst ?? cfg.defaults.burst;
    const pktSize = o.pktSize ?? 64;
    let template: Uint32Array | null = null;
    let plan: ThreadPlan[] = [];
    let qsbr: Qsbr | null = null;
    let portMacs: SharedArrayBuffer | null = null;
    try {
      app.cnf = await Cnf.start({
        config: cfg, worker: new URL("./loop.js", import.meta.url), raw: true, socket: false, signals: false, log, burst,
        name: cfg.application.name || "fwd",
        ...(o.debugFrames !== undefined ? { debugFrames: o.debugFrames } : {}),
        ...(o.netns !== undefined ? { netns: o.netns } : {}),
        beforeStart: (cnf, threads) => {
          plan = threads;
          const anyPort = sendsToAnyPort(mid);
          if (anyPort) {
            const umemsUsed = new Set(cnf.ports.map((p) => p.pool?.umem.name).filter((n) => n !== undefined));
            if (umemsUsed.size > 1) throw new Error(`${mode} mode needs every port on one umem (found ${[...umemsUsed].join(", ")}): a frame can only be sent from its own UMEM`);
          }
          template = mid === M_TXONLY || mid === M_TXONLY_RX
            ? txTemplate({ size: pktSize, ...(o.txDstMac ? { dst: o.txDstMac } : {}), src: cnf.ports[0]?.macAddr() ?? "02:00:00:00:00:01" })
            : null;
          if (anyPort && plan.length > 0) checkAllServed(cnf.ports, plan, mode);
          // Several threads: an inbox per port that another thread may send to.
          if (anyPort && plan.length > 1) {
            for (const p of cnf.ports) {
              app.inboxes.set(p.name, Ring.create({ size: inboxSize(cfg, p.name), multiProducer: true, multiConsumer: false, name: `${p.name}-inbox` }));
            }
          }
          if (mid === M_L3FWD) {
            // One QSBR reader slot per worker; the FIB and the next hops reuse memory after grace periods.
            qsbr = Qsbr.create(Math.max(1, plan.length));
            app.routes = L3fwdRoutes.create({ ports: cnf.ports.length, qsbr });
            for (const r of fibRules) app.routes.add(r);
            // Each port's own MAC (the netdev's), the source MAC of what l3fwd sends there.
            const macs = new Uint8Array(new SharedArrayBuffer(Math.max(1, cnf.ports.length) * NH_MAC_STRIDE));
            cnf.ports.forEach((p, i) => {
              try {
                macs.set(parseMac(p.macAddr()), i * NH_MAC_STRIDE);
              } catch { /* a port without a MAC (null, ring): zeros */ }
            });
            portMacs = macs.buffer as SharedArrayBuffer;
          }
          if (mid === M_ACL_STRICT || mid === M_ACL_PERMISSIVE) {
            const table = new AclRuleTable();
            for (const text of aclTexts) table.add(text);
            app.aclRules = table;
            app.aclSlot = SharedSlot.create<AclShared>(table.build().shared());
            app.aclBuilt = table.length;
          }
        },
        threadData: (t, cnf): FwdThreadData => ({
          name: t.name, mode: mid, burst, ports: t.ports.map((p) => p.toShared()),
          dests: sendsToAnyPort(mid)
            ? cnf.ports.map((p) => {
              const local = t.ports.indexOf(p);
              return { local, inbox: local >= 0 ? null : app.inboxes.get(p.name)!.toShared() };
            })
            : [],
          inboxes: t.ports.map((p) => app.inboxes.get(p.name)?.toShared() ?? null),
          portIndex: t.ports.map((p) => cnf.ports.indexOf(p)),
          modeCounters: app.modeCounters.buffer as SharedArrayBuffer,
          l3fwd: app.routes !== null && qsbr !== null && portMacs !== null
            ? { routes: app.routes.shared(), portMacs, qsbr: qsbr.shared(), qsbrSlot: plan.indexOf(t) }
            : null,
          acl: app.aclSlot !== null ? { slot: app.aclSlot.shared(), permissive: mid === M_ACL_PERMISSIVE } : null,
          idleTimeoutMs: t.idleTimeout, intrTimeoutMs: t.intrTimeout, template, pktSize,
        }),
        // Threads are gone: frames still in inboxes go back to the pool (every port of these modes is on one UMEM).
        onThreadsStopped: (cnf) => {
          // The ports' figures once no thread counts any more, beside the mode counters (read after stop).
          app.finalRates = app.rates();
          app.drainInboxes(cnf.ports);
          app.detachFastPath();
        },
      });
    } catch (e) {
      app.aclSlot?.close();
      throw e;
    }
    if (o.xdpFastpath) {
      try {
        app.fastPath = FwdFastPath.attach(app.ports, app.netns, app.routes!, log);
        log(`l3fwd XDP fast path on ${app.fastPath.netdevs.map((d) => `${d.netdev} (${d.mode}, prog ${d.progId})`).join(", ")}`);
      } catch (e) {
        await app.stop();
        throw e;
      }
    }
    return app;
  }

  /**
   * ACL modes: compiles the rule list as it is now and hands it to the workers (cndpfwd's `/acl/build`;
   * cndpfwd needs every thread stopped first, here the workers switch at their next loop). On failure
   * the workers keep the classifier they have. Returns the number of rules built.
   */
  buildAcl(): number {
    if (this.aclRules === null || this.aclSlot === null) throw new Error(`No ACL in ${this.mode} mode: /acl commands work in acl-strict and acl-permissive`);
    const acl = this.aclRules.build();
    this.aclSlot.publish(acl.shared());
    this.aclBuilt = this.aclRules.length;
    return this.aclBuilt;
  }

  /** ACL modes: rules in the classifier the workers use (the last build). */
  get aclBuiltRules(): number {
    return this.aclBuilt;
  }

  /**
   * The mode's per-port counters (l3fwd, ACL modes) by `/metrics/port_stats` key suffix, e.g.
   * `{ n_l3fwd_no_route_packets: 3, ... }`; empty in other modes.
   */
  portModeCounters(port: number): Record<string, number> {
    const out: Record<string, number> = {};
    modeCounterKeys(this.modeId).forEach((k, i) => {
      out[k] = this.modeCounters[port * MC_WORDS + i] ?? 0;
    });
    return out;
  }

  /** Puts the XSK redirect programs back (before the ports close), keeping the fast path's last counters. */
  private detachFastPath(): void {
    const fp = this.fastPath;
    if (fp === null) return;
    this.fastPath = null;
    try {
      this.fastPathFinal = fp.counters();
    } finally {
      fp.detach();
    }
  }

  private drainInboxes(ports: readonly Lport[]): void {
    const scratch = new Uint32Array(1024);
    for (const [name, ring] of this.inboxes) {
      const pool = ports.find((p) => p.name === name)?.pool ?? null;
      for (let n; (n = ring.dequeueBurst(scratch, scratch.length)) > 0;) {
        this.inboxLeftovers += n;
        pool?.freeBulk(scratch, n);
      }
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
    return this.cnf?.pause(which, pause) ?? 0;
  }

  /**
   * Stops the threads (they drain their TX rings), closes the ports (removing sockets from the XSKMAP and
   * detaching the program when the last port on a netdev closes), checks frames, and frees the UMEMs.
   */
  async stop(): Promise<StopReport> {
    const report = await this.cnf?.stop();
    this.aclSlot?.close();
    if (!report) return { ...emptyReport(), inboxLeftovers: 0 };
    return { ...report, inboxLeftovers: this.inboxLeftovers };
  }
}

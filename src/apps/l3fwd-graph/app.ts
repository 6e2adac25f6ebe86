/**
 * `xdplane l3fwd-graph`: an IPv4 router built from the packet graph (CNDP's examples/l3fwd-graph). The
 * routes come from the jsonc's `options."l3fwd-fib-rules"`; the ports and threads from the rest of it
 * through the CNF framework; each thread walks its own graph (pktdev_rx -> pkt_cls -> ip4_lookup ->
 * ip4_rewrite -> pktdev_tx, pkt_drop) and the main thread reads every graph's stats from shared memory
 * (`/graph/stats`, `/graph/dot` on the app socket). At stop every frame is accounted for, as in `fwd`.
 */
import type { AppConfig } from "../../config/types.js";
import type { Lport } from "../../pktdev/lport.js";
import type { RunningThread } from "../../runtime/threads.js";
import { TC_RX, TC_TX, TC_DROP, TC_HANDOFF, TC_IDLE_ENTRIES, TC_LOOPS } from "../../runtime/control.js";
import { Cnf, type StopReport as CnfStopReport } from "../../cnf/index.js";
import { emptyReport } from "../../cnf/ports.js";
import type { AppSocket, AppSocketOptions } from "../../telemetry/app-socket.js";
import { Ring } from "../../ring/ring.js";
import { Fib4 } from "../../lookup/fib/fib4.js";
import { parseMac, formatIp4, formatMac } from "../../lookup/addr.js";
import { RewriteTable } from "../../graph/nodes/rewrite-table.js";
import { l3fwdTopology, type L3fwdGraphDesc } from "../../graph/l3fwd.js";
import { GraphStats, sumGraphStats, type GraphStatsSnapshot } from "../../graph/stats.js";
import { toDot } from "../../graph/dot.js";
import { routesFromConfig, type L3fwdRoutes } from "./routes.js";
import { l3fwdPlan } from "./plan.js";
import type { L3fwdThreadData } from "./worker.js";

export interface L3fwdGraphOptions {
  config: AppConfig;
  /** Packets per burst, 1-256 (default: the config's defaults.burst). */
  burst?: number;
  /** Track frame ownership (double frees, leaks). */
  debugFrames?: boolean;
  /** Network namespace (a name under /run/netns or a path) in which the ports are opened. */
  netns?: string;
  /** Graph statistics: "all" (default: counts and time), "counts" (no clock reads), "none". */
  collect?: "all" | "counts" | "none";
  /** The app socket with `/graph/stats` and `/graph/dot`: options, or false for none (default: open). */
  socket?: false | AppSocketOptions;
  log?: (msg: string) => void;
}

/** What stop() found: the framework's exact frame report, plus the frames left in inboxes (returned). */
export interface L3fwdStopReport extends CnfStopReport {
  /** Frames other threads had handed over and nobody sent before the stop, returned to the pool. */
  inboxLeftovers: number;
}

export interface PortRate {
  name: string;
  rxPps: number;
  txPps: number;
  ipackets: number;
  opackets: number;
  drops: number;
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
 * The graphs (as text) a config would run: checked routes and plan, no port opened (`--dot`).
 *
 * @example
 * process.stdout.write(l3fwdGraphDot(config));
 */
export function l3fwdGraphDot(cfg: AppConfig): string {
  routesFromConfig(cfg);
  return l3fwdPlan(cfg).map((d) => toDot(l3fwdTopology(d))).join("");
}

/** The router. */
export class L3fwdGraphApp {
  readonly config: AppConfig;
  readonly routes: L3fwdRoutes;
  /** One graph per thread, in thread order. */
  readonly plan: readonly L3fwdGraphDesc[];
  /** Each thread's graph stats (shared memory the worker writes), by thread name. */
  readonly stats: ReadonlyMap<string, GraphStats>;
  private cnf: Cnf | null = null;
  private readonly inboxes = new Map<number, Ring>();
  private inboxLeftovers = 0;
  private last = new Map<string, { t: number; ip: number; op: number }>();

  private constructor(config: AppConfig, routes: L3fwdRoutes, plan: L3fwdGraphDesc[]) {
    this.config = config;
    this.routes = routes;
    this.plan = plan;
    this.stats = new Map(plan.map((d) => [d.name, GraphStats.create(l3fwdTopology(d))]));
  }

  /** The ports in config order (a port's pid is its lport index). */
  get ports(): readonly Lport[] { return this.cnf?.ports ?? []; }
  /** The running worker threads. */
  get threads(): RunningThread[] { return this.cnf?.threads ?? []; }
  /** The framework instance (null before start). */
  get framework(): Cnf | null { return this.cnf; }
  /** The app socket, when open. */
  get socket(): AppSocket | null { return this.cnf?.socket ?? null; }

  /**
   * Checks the routes and the plan, builds the FIB and next hops, the ports (CNF framework), the inboxes
   * when there are several threads, and starts one graph per thread. On failure releases what was built.
   */
  static async start(o: L3fwdGraphOptions): Promise<L3fwdGraphApp> {
    const cfg = o.config;
    const collect = o.collect ?? "all";
    if (collect !== "all" && collect !== "counts" && collect !== "none") throw new RangeError(`Invalid graph stats setting '${String(collect)}': all, counts or none`);
    const routes = routesFromConfig(cfg);
    const plan = l3fwdPlan(cfg);
    const app = new L3fwdGraphApp(cfg, routes, plan);
    const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
    // One tbl8 group per route deeper than /24 at most; a few spare.
    const fib = Fib4.create({ maxTbl8Groups: 16 + routes.routes.filter((r) => r.depth > 24).length });
    for (const r of routes.routes) fib.add(r.ip, r.depth, r.nextHop);
    const nextHops = RewriteTable.create(Math.max(1, routes.nextHops.length));
    routes.nextHops.forEach((h, i) => nextHops.set(i, h.mac, h.port));
    if (routes.builtIn) log(`l3fwd-graph: no options."l3fwd-fib-rules": using CNDP's built-in routes ${routes.routes.map((r) => r.text).join("; ")}`);
    const macs: [number, Uint8Array][] = [];
    const descOf = new Map(plan.map((d) => [d.name, d]));
    app.cnf = await Cnf.start({
      config: cfg, worker: new URL("./worker.js", import.meta.url), signals: false, log,
      name: cfg.application.name || "l3fwd-graph",
      ...(o.burst !== undefined ? { burst: o.burst } : {}),
      ...(o.debugFrames !== undefined ? { debugFrames: o.debugFrames } : {}),
      ...(o.netns !== undefined ? { netns: o.netns } : {}),
      socket: o.socket === false ? false : (o.socket ?? {}),
      commands: {
        "/graph/stats": (params) => app.statsReply(params[0]),
        "/graph/dot": (params) => app.dotReply(params[0]),
      },
      beforeStart: (cnf, threads) => {
        const umems = new Set(cnf.ports.map((p) => p.pool?.umem.name).filter((n) => n !== undefined));
        if (umems.size > 1) throw new Error(`l3fwd-graph needs every lport on one umem (found ${[...umems].join(", ")}): a frame is sent from the UMEM it was received in`);
        for (const p of cnf.ports) {
          try {
            macs.push([p.pid, parseMac(p.macAddr())]);
          } catch (e) {
            throw new Error(`lport '${p.name}': cannot read its MAC '${p.macAddr()}': ${(e as Error).message}`);
          }
        }
        if (threads.map((t) => t.name).join(",") !== plan.map((d) => d.name).join(",")) {
          throw new Error(`l3fwd-graph: the framework plans threads ${threads.map((t) => t.name).join(", ")}, the graphs are for ${plan.map((d) => d.name).join(", ")}`);
        }
        if (threads.length > 1) {
          for (const p of cnf.ports) {
            app.inboxes.set(p.pid, Ring.create({ size: inboxSize(cfg, p.name), multiProducer: true, multiConsumer: false, name: `${p.name}-inbox` }));
          }
          // A thread cannot be woken by the others (its poll() waits on its own sockets): idle, it checks
          // its inboxes every millisecond, so handed-over frames wait at most that long.
          for (const t of threads) t.intrTimeout = Math.min(t.intrTimeout > 0 ? t.intrTimeout : 100, 1);
        }
      },
      threadData: (t): L3fwdThreadData => {
        const desc = descOf.get(t.name)!;
        const mine = new Set(desc.rx);
        return {
          desc, stats: app.stats.get(t.name)!.shared(), collect, fib: fib.shared(), nextHops: nextHops.shared(), macs,
          outboxes: [...app.inboxes].filter(([p]) => !mine.has(p)).map(([p, r]) => [p, r.toShared()]),
          inboxes: desc.inbox.map((p) => [p, app.inboxes.get(p)!.toShared()]),
        };
      },
      onThreadsStopped: (cnf) => app.drainInboxes(cnf),
    });
    return app;
  }

  /** Threads are gone: frames still in inboxes go back to the pool (every port is on one UMEM). */
  private drainInboxes(cnf: Cnf): void {
    const pool = [...cnf.pools.values()][0];
    const scratch = new Uint32Array(1024);
    for (const ring of this.inboxes.values()) {
      for (let n; (n = ring.dequeueBurst(scratch, scratch.length)) > 0;) {
        this.inboxLeftovers += n;
        pool?.freeBulk(scratch, n);
      }
    }
  }

  /** Every thread's graph stats, and their sum by node name (CNDP's cluster stats). */
  graphStats(): { threads: GraphStatsSnapshot[]; total: GraphStatsSnapshot } {
    const threads = [...this.stats.values()].map((s) => s.read());
    return { threads, total: sumGraphStats(threads) };
  }

  /** The `dot` text of every thread's graph (or of one). */
  dot(thread?: string): string {
    return this.plan.filter((d) => thread === undefined || d.name === thread).map((d) => toDot(l3fwdTopology(d))).join("");
  }

  /** `/graph/stats[,<thread>]`: per node calls, objects, time; summed over the threads, and per thread. */
  private statsReply(thread: string | undefined): Record<string, unknown> {
    const { threads, total } = this.graphStats();
    if (thread !== undefined) {
      const one = threads.find((t) => t.name === thread);
      if (!one) return { error: `unknown thread '${thread}' (threads: ${this.plan.map((d) => d.name).join(", ")})` };
      return { ...one };
    }
    return { walks: total.walks, nodes: total.nodes, threads };
  }

  /** `/graph/dot[,<thread>]`: Graphviz text per thread. */
  private dotReply(thread: string | undefined): Record<string, unknown> {
    if (thread !== undefined && !this.plan.some((d) => d.name === thread)) {
      return { error: `unknown thread '${thread}' (threads: ${this.plan.map((d) => d.name).join(", ")})` };
    }
    const graphs: Record<string, string> = {};
    for (const d of this.plan) if (thread === undefined || d.name === thread) graphs[d.name] = toDot(l3fwdTopology(d));
    return { graphs };
  }

  /** The routes as text (`198.18.0.0/24 -> 02:00:00:00:00:00 on lport 0`). */
  routeLines(): string[] {
    return this.routes.routes.map((r) => `${formatIp4(r.ip)}/${r.depth} -> ${formatMac(r.mac)} on lport ${r.port}`);
  }

  /** Per-port rates since the previous call, and totals. */
  rates(): PortRate[] {
    const now = performance.now();
    return this.ports.map((p) => {
      const s = p.stats;
      const cur = { t: now, ip: s[0]!, op: s[2]! };
      const prev = this.last.get(p.name) ?? { t: now, ip: 0, op: 0 };
      this.last.set(p.name, cur);
      const dt = (now - prev.t) / 1000;
      const per = (d: number) => (dt > 0 ? d / dt : 0);
      const r = p.readStats();
      return { name: p.name, rxPps: per(cur.ip - prev.ip), txPps: per(cur.op - prev.op), ipackets: cur.ip, opackets: cur.op, drops: (r["imissed"] ?? 0) + (r["odropped"] ?? 0) };
    });
  }

  /** Per-thread counters (rx, sent, dropped, handed over to other threads). */
  threadStats(): { name: string; cpus: number[]; rx: number; tx: number; drop: number; handoff: number; loops: number; idleEntries: number }[] {
    return this.threads.map((t) => {
      const c = t.control.counters;
      return { name: t.name, cpus: t.cpus, rx: c[TC_RX]!, tx: c[TC_TX]!, drop: c[TC_DROP]!, handoff: c[TC_HANDOFF]!, loops: c[TC_LOOPS]!, idleEntries: c[TC_IDLE_ENTRIES]! };
    });
  }

  /** Stops the threads, closes the ports and reports every frame. Later calls return the same figures. */
  async stop(): Promise<L3fwdStopReport> {
    const report = await this.cnf?.stop();
    if (!report) return { ...emptyReport(), inboxLeftovers: 0 };
    return { ...report, inboxLeftovers: this.inboxLeftovers };
  }
}

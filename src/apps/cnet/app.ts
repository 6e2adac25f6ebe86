/**
 * `xdplane cnet`: the user-space stack on the config's lports (CNDP's cnet). The main thread learns each
 * lport netdev's addresses, routes and neighbours from Linux (and follows them: {@link LinuxLearner},
 * polled every 100 ms); each configured thread runs a {@link CnetStack} over its lports with its own ARP
 * table; built-in services (`udpEcho`) run on channels in the workers. The app socket shows the stack:
 * `/cnet/stats` (per-protocol counters, summed over threads), `/cnet/interfaces`, `/cnet/addresses`,
 * `/cnet/routes`, `/cnet/arp`.
 */
import type { AppConfig } from "../../config/types.js";
import type { Lport } from "../../pktdev/lport.js";
import { Cnf, type StopReport } from "../../cnf/index.js";
import { emptyReport } from "../../cnf/ports.js";
import type { AppSocket, AppSocketOptions } from "../../telemetry/app-socket.js";
import { NetlinkSocket } from "../../netlink/socket.js";
import { getLink } from "../../netlink/link.js";
import { parseMac } from "../../lookup/addr.js";
import { NetTables } from "../../cnet/tables.js";
import { ArpTable } from "../../cnet/arp-table.js";
import { CnetCounters } from "../../cnet/counters.js";
import { LinuxLearner, NeighbourFeed } from "../../cnet/learn.js";
import type { StackPort } from "../../cnet/context.js";
import type { ArpTimers } from "../../cnet/nodes/arp.js";
import type { CnetThreadData } from "./worker.js";

/** Options of {@link CnetApp.start}. */
export interface CnetOptions {
  config: AppConfig;
  /** Run a UDP echo service on this port. */
  udpEcho?: number;
  burst?: number;
  debugFrames?: boolean;
  /** The namespace the lports' netdevs are in. */
  netns?: string;
  /** The app socket: options, or false for none (default: open). */
  socket?: false | AppSocketOptions;
  timers?: ArpTimers;
  log?: (msg: string) => void;
}

/** The running stack. */
export class CnetApp {
  readonly tables: NetTables;
  private cnf: Cnf | null = null;
  private learner: LinuxLearner | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly counters = new Map<string, CnetCounters>();
  private readonly arps = new Map<string, ArpTable>();
  private stopped: Promise<StopReport> | null = null;
  /** The stacks' clock (ms), written every 10 ms: workers read it without allocating. */
  private readonly clock = new Float64Array(new SharedArrayBuffer(8));
  private ticker: NodeJS.Timeout | null = null;

  private constructor() {
    this.tables = NetTables.create();
  }

  /** The ports in config order. */
  get ports(): readonly Lport[] { return this.cnf?.ports ?? []; }
  /** The app socket, when open. */
  get socket(): AppSocket | null { return this.cnf?.socket ?? null; }

  /**
   * Opens the ports, learns from Linux, starts one stack per thread. On failure releases everything.
   *
   * @example
   * const app = await CnetApp.start({ config, udpEcho: 7777 });
   */
  static async start(o: CnetOptions): Promise<CnetApp> {
    const app = new CnetApp();
    const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
    if (o.udpEcho !== undefined && (!Number.isInteger(o.udpEcho) || o.udpEcho < 1 || o.udpEcho > 65535)) throw new RangeError(`cnet: --udp-echo port ${o.udpEcho} is not 1 to 65535`);
    const stackPorts: StackPort[] = [];
    app.clock[0] = Date.now();
    app.ticker = setInterval(() => { app.clock[0] = Date.now(); }, 10);
    app.ticker.unref();
    const feeds = new Map<string, NeighbourFeed>();
    try {
      app.cnf = await Cnf.start({
        config: o.config, worker: new URL("./worker.js", import.meta.url), signals: false, log,
        name: o.config.application.name || "cnet",
        ...(o.burst !== undefined ? { burst: o.burst } : {}),
        ...(o.debugFrames !== undefined ? { debugFrames: o.debugFrames } : {}),
        ...(o.netns !== undefined ? { netns: o.netns } : {}),
        socket: o.socket === false ? false : (o.socket ?? {}),
        commands: {
          "/cnet/stats": () => app.stats(),
          "/cnet/interfaces": () => ({ interfaces: app.tables.describe().interfaces }),
          "/cnet/addresses": () => ({ addresses: app.tables.describe().addresses }),
          "/cnet/routes": () => ({ routes: app.tables.describe().routes }),
          "/cnet/arp": () => app.arpEntries(),
        },
        beforeStart: (cnf, threads) => {
          const nl = NetlinkSocket.open(o.netns !== undefined ? { netns: o.netns } : {});
          try {
            for (const p of cnf.ports) {
              const netdev = p.info().netdev;
              if (netdev === null) throw new Error(`cnet: lport '${p.name}' (${p.driver}) has no netdev: the stack learns its addresses from Linux (use net_af_xdp or net_af_packet lports)`);
              const mac = parseMac(p.macAddr());
              stackPorts.push({ pid: p.pid, ifindex: getLink(nl, netdev).index, mac });
            }
          } finally {
            nl.close();
          }
          for (const t of threads) {
            feeds.set(t.name, NeighbourFeed.create());
            app.counters.set(t.name, CnetCounters.create());
            app.arps.set(t.name, ArpTable.create());
          }
          app.learner = LinuxLearner.open({
            tables: app.tables, feeds: [...feeds.values()], log,
            interfaces: stackPorts.map((s) => ({ ...s, mtu: 1500 })),
            ...(o.netns !== undefined ? { netns: o.netns } : {}),
          });
        },
        threadData: (t): CnetThreadData => ({
          tables: app.tables.shared(), arp: app.arps.get(t.name)!.shared(), feed: feeds.get(t.name)!.shared(),
          counters: app.counters.get(t.name)!.shared(), stackPorts, udpEcho: o.udpEcho ?? null, timers: o.timers ?? {},
          clock: app.clock.buffer as SharedArrayBuffer,
        }),
      });
    } catch (e) {
      if (app.ticker) clearInterval(app.ticker);
      app.learner?.close();
      throw e;
    }
    const learner = app.learner!;
    app.timer = setInterval(() => {
      try {
        learner.poll();
      } catch (e) {
        log(`cnet: netlink: ${(e as Error).message}`);
      }
    }, 100);
    app.timer.unref();
    return app;
  }

  /**
   * The per-protocol counters summed over the threads, and what the learner applied.
   *
   * @example
   * console.log(app.stats().counters.udp_rx);
   */
  stats(): { counters: ReturnType<typeof CnetCounters.sum>; learner: LinuxLearner["counters"] | null } {
    return { counters: CnetCounters.sum([...this.counters.values()]), learner: this.learner ? { ...this.learner.counters } : null };
  }

  /**
   * Every thread's ARP entries.
   *
   * @example
   * console.log(app.arpEntries());
   */
  arpEntries(): Record<string, unknown> {
    const now = Date.now();
    return Object.fromEntries([...this.arps].map(([t, a]) => [t, a.entries(now)]));
  }

  /**
   * Stops the threads, closes the ports and the learner, reports every frame. Later calls return the
   * same report.
   *
   * @example
   * const report = await app.stop();
   */
  stop(): Promise<StopReport> {
    this.stopped ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      if (this.ticker) clearInterval(this.ticker);
      const report = (await this.cnf?.stop()) ?? emptyReport();
      this.learner?.close();
      return report;
    })();
    return this.stopped;
  }
}

/**
 * `xdplane cnet`: the user-space stack on the config's lports (CNDP's cnet). The main thread learns each
 * lport netdev's addresses, routes and neighbours from Linux (and follows them: {@link LinuxLearner},
 * polled every 100 ms); each configured thread runs a {@link CnetStack} over its lports with its own ARP
 * and ND tables; built-in services run in the workers: `udpEcho` on a UDP channel, `tcpEcho`,
 * `tcpDiscard` and `http` (Node's http server) as Node streams on the worker's event loop (worker.ts says
 * how the stack runs then). The app socket shows the stack: `/cnet/stats` (per-protocol counters, summed
 * over threads), `/cnet/interfaces`, `/cnet/addresses`, `/cnet/routes`, `/cnet/arp`, `/cnet/nd`,
 * `/cnet/tcp` (connections and their states), and `/metrics/app` for the Prometheus exporter
 * (telemetry.ts).
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
import { NdTable } from "../../cnet/ip6/nd-table.js";
import { TcpConnTable } from "../../cnet/tcp/conn-table.js";
import { cnetCommands } from "./telemetry.js";
import { openPuntTap, type PuntTap } from "../../cnet/punt.js";
import type { ReasmOptions } from "../../cnet/frag/reasm.js";

/** Options of {@link CnetApp.start}. */
export interface CnetOptions {
  config: AppConfig;
  /** Run a UDP echo service on this port. */
  udpEcho?: number;
  /** Run a TCP echo service on this port (Node streams over the stack). */
  tcpEcho?: number;
  /** Run a TCP discard service on this port. */
  tcpDiscard?: number;
  /** Serve a page of the stack's counters with Node's http module on this port. */
  http?: number;
  /** Run an iperf3 server (TCP, the client sending; src/apps/cnet/iperf3.ts) on this port. */
  iperf3?: number;
  /**
   * Punt what the stack does not handle to the kernel through a TAP (src/cnet/punt.ts): the first lport's
   * netdev gets a TAP `pt-<netdev>` (or this name) and the kernel is set up to answer through it.
   */
  punt?: boolean | string;
  /** IPv4 reassembly bounds and timeout (src/cnet/frag/reasm.ts; default 64 datagrams, 30 s). */
  reasm?: ReasmOptions;
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
  /** Per thread: its ND table and its TCP connection table (written by the worker, read here). */
  readonly nds = new Map<string, NdTable>();
  readonly tcpTables = new Map<string, TcpConnTable>();
  private stopped: Promise<StopReport> | null = null;
  /** The stacks' clock (ms), written every 10 ms: workers read it without allocating. */
  private readonly clock = new Float64Array(new SharedArrayBuffer(8));
  private ticker: NodeJS.Timeout | null = null;
  /** The punt's TAP (frag engineer's punt.ts), and the lport it stands for. */
  private punt: { p: PuntTap; pid: number } | null = null;

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
    for (const [flag, v] of [["--udp-echo", o.udpEcho], ["--tcp-echo", o.tcpEcho], ["--tcp-discard", o.tcpDiscard], ["--http", o.http], ["--iperf3", o.iperf3]] as const) {
      if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 65535)) throw new RangeError(`cnet: ${flag} port ${v} is not 1 to 65535`);
    }
    const tcpPorts = [o.tcpEcho, o.tcpDiscard, o.http, o.iperf3].filter((v) => v !== undefined);
    if (new Set(tcpPorts).size !== tcpPorts.length) throw new RangeError(`cnet: --tcp-echo, --tcp-discard, --http and --iperf3 need different ports (got ${tcpPorts.join(", ")})`);
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
          ...cnetCommands(app),
        },
        beforeStart: (cnf, threads) => {
          const mtus = new Map<number, number>(); // pid -> the netdev's MTU: ip4_output fragments to it
          const nl = NetlinkSocket.open(o.netns !== undefined ? { netns: o.netns } : {});
          try {
            for (const p of cnf.ports) {
              const netdev = p.info().netdev;
              if (netdev === null) throw new Error(`cnet: lport '${p.name}' (${p.driver}) has no netdev: the stack learns its addresses from Linux (use net_af_xdp or net_af_packet lports)`);
              const mac = parseMac(p.macAddr());
              const link = getLink(nl, netdev);
              mtus.set(p.pid, link.mtu);
              stackPorts.push({ pid: p.pid, ifindex: link.index, mac });
            }
          } finally {
            nl.close();
          }
          for (const t of threads) {
            feeds.set(t.name, NeighbourFeed.create());
            app.counters.set(t.name, CnetCounters.create());
            app.arps.set(t.name, ArpTable.create());
            app.nds.set(t.name, NdTable.create());
            app.tcpTables.set(t.name, TcpConnTable.create(1024));
          }
          if (o.punt) {
            const p = cnf.ports[0]!;
            const tapPid = Math.max(...cnf.ports.map((q) => q.pid)) + 1;
            const pt = openPuntTap({ netdev: p.info().netdev!, pid: tapPid, mempool: p.pool!, ...(typeof o.punt === "string" ? { iface: o.punt } : {}), ...(o.netns !== undefined ? { netns: o.netns } : {}) });
            pt.tap.release(); // the worker serving the lport drives it
            app.punt = { p: pt, pid: p.pid };
          }
          app.learner = LinuxLearner.open({
            tables: app.tables, feeds: [...feeds.values()], log,
            interfaces: stackPorts.map((s) => ({ ...s, mtu: mtus.get(s.pid) || 1500 })),
            ...(o.netns !== undefined ? { netns: o.netns } : {}),
          });
        },
        threadData: (t): CnetThreadData => ({
          tables: app.tables.shared(), arp: app.arps.get(t.name)!.shared(), feed: feeds.get(t.name)!.shared(),
          counters: app.counters.get(t.name)!.shared(), stackPorts, udpEcho: o.udpEcho ?? null, timers: o.timers ?? {},
          nd: app.nds.get(t.name)!.shared(), tcpTable: app.tcpTables.get(t.name)!.shared(),
          tcpEcho: o.tcpEcho ?? null, tcpDiscard: o.tcpDiscard ?? null, http: o.http ?? null, iperf3: o.iperf3 ?? null,
          clock: app.clock.buffer as SharedArrayBuffer,
          punt: app.punt && t.ports.some((q) => q.pid === app.punt!.pid) ? { tap: app.punt.p.tap.toShared(), pid: app.punt.pid } : null,
          reasm: o.reasm ?? null,
        }),
      });
    } catch (e) {
      if (app.ticker) clearInterval(app.ticker);
      app.learner?.close();
      app.punt?.p.close();
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
   * Each thread's counters (live: the workers write them).
   *
   * @example
   * for (const [thread, c] of app.threadCounters()) console.log(thread, c.read().tcp_rx);
   */
  threadCounters(): ReadonlyMap<string, CnetCounters> {
    return this.counters;
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
      this.punt?.p.close();
      return report;
    })();
    return this.stopped;
  }
}

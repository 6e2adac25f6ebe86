/**
 * The stack on the current thread, for programs that want Node's own APIs over it: opens the config's
 * lports here (not in workers), learns their addresses, routes and neighbours from Linux, builds one
 * {@link CnetStack} over all of them and runs it on this thread's event loop with a {@link StackHost}.
 * `createServer`/`connect` of `xdplane/cnet` then use it (it is the thread's current host), so Node's
 * `http.createServer()` serves over the stack:
 *
 * ```ts
 * const local = await LocalStack.open({ config: "cnet.jsonc" });
 * const web = http.createServer((req, res) => res.end("hello\n"));
 * createServer((sock) => web.emit("connection", sock)).listen(80); // from "xdplane/cnet"
 * // ...
 * const report = await local.close(); // every frame back
 * ```
 *
 * One thread does everything here: it suits a service, a test or a demo; `xdplane cnet` spreads the
 * stack over the config's threads instead (src/apps/cnet/app.ts).
 *
 * @example
 * import { LocalStack } from "xdplane";
 * const local = await LocalStack.open({ config: "cnet.jsonc" });
 * console.log(local.tables.describe().addresses);
 * await local.close();
 */
import type { AppConfig } from "../../config/types.js";
import { loadConfig } from "../../config/index.js";
import { PortSet, type StopReport } from "../../cnf/ports.js";
import { NetlinkSocket } from "../../netlink/socket.js";
import { getLink } from "../../netlink/link.js";
import { parseMac } from "../../lookup/addr.js";
import { NetTables } from "../../cnet/tables.js";
import { ArpTable } from "../../cnet/arp-table.js";
import { CnetCounters } from "../../cnet/counters.js";
import { LinuxLearner, NeighbourFeed } from "../../cnet/learn.js";
import { CnetStack } from "../../cnet/stack.js";
import type { StackPort } from "../../cnet/context.js";
import type { TcpOptions } from "../../cnet/tcp/engine.js";
import { TcpConnTable } from "../../cnet/tcp/conn-table.js";
import { StackHost, type StackHostOptions } from "../../cnet/stream/host.js";

/** Options of {@link LocalStack.open}. */
export interface LocalStackOptions {
  /** The parsed config, or the path of a CNDP jsonc (every lport of it is served here). */
  config: AppConfig | string;
  /** The namespace the lports' netdevs are in. */
  netns?: string;
  /** Packets per burst (default: the config's). */
  burst?: number;
  /** Track frame ownership (the close report counts double frees). */
  debugFrames?: boolean;
  /** TCP buffers, timers and limits. */
  tcp?: TcpOptions;
  /** How the host walks (walks per turn, idle backoff). */
  host?: Omit<StackHostOptions, "fds">;
  log?: (msg: string) => void;
}

/**
 * The stack running on this thread. See the module comment.
 *
 * @example
 * import { LocalStack } from "xdplane";
 * const local = await LocalStack.open({ config: "cnet.jsonc", netns: "blue" });
 */
export class LocalStack {
  readonly stack: CnetStack;
  readonly host: StackHost;
  readonly tables: NetTables;
  readonly counters: CnetCounters;
  readonly arp: ArpTable;
  readonly tcpTable: TcpConnTable;
  private readonly ports: PortSet;
  private readonly learner: LinuxLearner;
  private readonly timers: NodeJS.Timeout[];
  private closed: Promise<StopReport> | null = null;

  private constructor(p: { stack: CnetStack; host: StackHost; tables: NetTables; counters: CnetCounters; arp: ArpTable; tcpTable: TcpConnTable; ports: PortSet; learner: LinuxLearner; timers: NodeJS.Timeout[] }) {
    this.stack = p.stack;
    this.host = p.host;
    this.tables = p.tables;
    this.counters = p.counters;
    this.arp = p.arp;
    this.tcpTable = p.tcpTable;
    this.ports = p.ports;
    this.learner = p.learner;
    this.timers = p.timers;
  }

  /**
   * Opens the ports on this thread, learns from Linux, starts the stack on the event loop. On failure
   * releases everything it set up.
   *
   * @example
   * import { LocalStack } from "xdplane";
   * const local = await LocalStack.open({ config: "cnet.jsonc" });
   */
  static async open(o: LocalStackOptions): Promise<LocalStack> {
    const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
    let config: AppConfig;
    if (typeof o.config === "string") {
      const r = loadConfig(o.config, o.netns !== undefined ? { netdevCheck: "off" } : {});
      for (const w of r.warnings) log(`config: ${w.text}`);
      config = r.config;
    } else config = o.config;
    const burst = o.burst ?? config.defaults.burst;
    if (!Number.isInteger(burst) || burst < 1 || burst > 256) throw new RangeError(`LocalStack: burst ${burst} is not 1 to 256`);
    const ports = PortSet.build(config, { log, ...(o.debugFrames !== undefined ? { debugFrames: o.debugFrames } : {}), ...(o.netns !== undefined ? { netns: o.netns } : {}) });
    let learner: LinuxLearner | null = null;
    const timers: NodeJS.Timeout[] = [];
    let stack: CnetStack | null = null;
    try {
      const stackPorts: StackPort[] = [];
      const nl = NetlinkSocket.open(o.netns !== undefined ? { netns: o.netns } : {});
      try {
        for (const p of ports.ports) {
          const netdev = p.info().netdev;
          if (netdev === null) throw new Error(`LocalStack: lport '${p.name}' (${p.driver}) has no netdev: the stack learns its addresses from Linux (use net_af_xdp or net_af_packet lports)`);
          stackPorts.push({ pid: p.pid, ifindex: getLink(nl, netdev).index, mac: parseMac(p.macAddr()) });
        }
      } finally {
        nl.close();
      }
      const mempool = ports.ports.find((p) => p.pool !== null)?.pool ?? null;
      if (mempool === null) throw new Error("LocalStack: the config's lports have no mempool");
      const tables = NetTables.create();
      const feed = NeighbourFeed.create();
      const counters = CnetCounters.create();
      const arp = ArpTable.create();
      const tcpTable = TcpConnTable.create(1024);
      learner = LinuxLearner.open({ tables, feeds: [feed], log, interfaces: stackPorts.map((s) => ({ ...s, mtu: 1500 })), ...(o.netns !== undefined ? { netns: o.netns } : {}) });
      const clock = Float64Array.of(Date.now());
      stack = CnetStack.create({
        ports: ports.ports, mempool, burst, stackPorts, tables, arp, counters, feed, clock, name: "cnet_local",
        ...(o.tcp !== undefined ? { tcp: o.tcp } : {}), tcpTable,
      });
      const l = learner;
      timers.push(setInterval(() => { clock[0] = Date.now(); }, 10));
      timers.push(setInterval(() => {
        try {
          l.poll();
        } catch (e) {
          log(`cnet: netlink: ${(e as Error).message}`);
        }
      }, 100));
      for (const t of timers) t.unref();
      const fds = ports.ports.map((p) => p.pollFd()).filter((fd) => fd >= 0);
      const host = StackHost.start(stack, { ...(o.host ?? {}), fds });
      return new LocalStack({ stack, host, tables, counters, arp, tcpTable, ports, learner, timers });
    } catch (e) {
      for (const t of timers) clearInterval(t);
      stack?.close();
      learner?.close();
      ports.close();
      throw e;
    }
  }

  /**
   * The stack's counters by name (every protocol's).
   *
   * @example
   * import { LocalStack } from "xdplane";
   * const local = await LocalStack.open({ config: "cnet.jsonc" });
   * console.log(local.stats().tcp_rx);
   */
  stats(): ReturnType<typeof CnetCounters.sum> {
    return CnetCounters.sum([this.counters]);
  }

  /**
   * Stops the host (open connections reset, servers closed), closes the stack (every frame it held
   * back to the pool), the learner and the ports; returns the frame report. Later calls return the same.
   *
   * @example
   * import { LocalStack } from "xdplane";
   * const local = await LocalStack.open({ config: "cnet.jsonc" });
   * const report = await local.close();
   */
  close(): Promise<StopReport> {
    this.closed ??= (async () => {
      await this.host.stop();
      for (const t of this.timers) clearInterval(t);
      const errors: Error[] = [];
      try {
        this.stack.close();
      } catch (e) {
        errors.push(e as Error);
      }
      this.learner.close();
      return this.ports.close(errors);
    })();
    return this.closed;
  }
}

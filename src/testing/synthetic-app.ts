/**
 * A synthetic app: an {@link AppModel} whose port counters grow at a set rate while the port is admin up
 * and its thread runs. For tests and demos of the command socket, the exporter and `xdplane stats`
 * without traffic. A test double: tests only (spawned by telemetry-fixtures.ts).
 *
 * Run as a process: `node dist/src/testing/synthetic-app.js --socket-dir <dir> [--name synth]
 * [--ports a:0,b:0] [--pps 1000] [--size 64]`; it prints `ready <socket path>` once listening and exits
 * cleanly on SIGINT/SIGTERM. Extra commands: `/synth/admin,<port>,up|down` and `/synth/link,<port>,up|down`.
 */
import { pathToFileURL } from "node:url";
import { AppSocket } from "../telemetry/app-socket.js";
import type { AppModel, PortStats, ThreadInfo } from "../telemetry/model.js";

export interface SyntheticOptions {
  name?: string;
  /** Port names, CNDP style `<netdev>:<qid>`. Default `["synth0:0", "synth1:0"]`. */
  ports?: string[];
  /** Packets per second each port receives (and forwards). Default 1000. */
  pps?: number;
  /** Bytes per packet. Default 64. */
  size?: number;
  /** Clock in ms, for tests. */
  now?: () => number;
}

interface PortState {
  name: string;
  adminUp: boolean;
  linkUp: boolean;
  accMs: number;
  since: number | null;
}

/** The synthetic model. Thread 0 is `main`; thread i+1 (`fwd:i`) serves port i. */
export class SyntheticApp implements AppModel {
  readonly name: string;
  readonly pps: number;
  readonly size: number;
  private readonly now: () => number;
  private readonly portState: PortState[];
  private readonly running: boolean[];

  constructor(opts: SyntheticOptions = {}) {
    this.name = opts.name ?? "synth";
    this.pps = opts.pps ?? 1000;
    this.size = opts.size ?? 64;
    this.now = opts.now ?? (() => performance.timeOrigin + performance.now());
    const t = this.now();
    this.portState = (opts.ports ?? ["synth0:0", "synth1:0"]).map((name) => ({ name, adminUp: true, linkUp: true, accMs: 0, since: t }));
    this.running = this.portState.map(() => true);
  }

  ports(): PortStats[] {
    const t = this.now();
    return this.portState.map((p, i) => {
      const ms = p.accMs + (p.since !== null ? t - p.since : 0);
      const pkts = Math.floor((this.pps * ms) / 1000);
      const [netdev = p.name, q = "0"] = p.name.split(":");
      return {
        id: i,
        name: p.name,
        netdev,
        qid: Number(q) || 0,
        pmd: "net_synthetic",
        adminUp: p.adminUp,
        linkUp: p.linkUp,
        stats: {
          ipackets: pkts,
          opackets: pkts,
          ibytes: pkts * this.size,
          obytes: pkts * this.size,
          ierrors: 0,
          oerrors: 0,
          imissed: 0,
          odropped: 0,
          rx_burst_called: Math.floor(pkts / 32),
        },
      };
    });
  }

  threads(): ThreadInfo[] {
    const ports = this.ports();
    const out: ThreadInfo[] = [{ id: 0, name: "main", group: "initial", type: "main", ports: [], running: true }];
    ports.forEach((p, i) => {
      out.push({
        id: i + 1,
        name: `fwd:${i}`,
        group: "default",
        type: "fwd",
        ports: [p.name],
        running: this.running[i]!,
        counters: { rx_bursts: p.stats.rx_burst_called ?? 0, packets: p.stats.ipackets ?? 0 },
      });
    });
    return out;
  }

  startThread(id: number): void {
    this.setRunning(id, true);
  }

  stopThread(id: number): void {
    this.setRunning(id, false);
  }

  /** Sets a port's admin state (its counters stop while down). */
  setAdmin(port: string, up: boolean): void {
    const p = this.port(port);
    p.adminUp = up;
    this.settle(this.portState.indexOf(p));
  }

  /** Sets a port's link state (counters go on; readiness follows it). */
  setLink(port: string, up: boolean): void {
    this.port(port).linkUp = up;
  }

  private port(name: string): PortState {
    const p = this.portState.find((x) => x.name === name);
    if (p === undefined) throw new Error(`Port '${name}' not found`);
    return p;
  }

  private setRunning(id: number, on: boolean): void {
    const i = id - 1;
    if (i < 0 || i >= this.running.length) throw new Error(`Thread ${id} cannot be controlled`);
    this.running[i] = on;
    this.settle(i);
  }

  private settle(i: number): void {
    const p = this.portState[i]!;
    const t = this.now();
    if (p.since !== null) p.accMs += t - p.since;
    p.since = p.adminUp && this.running[i] ? t : null;
  }
}

/** Adds `/synth/admin,<port>,up|down` and `/synth/link,<port>,up|down` to a socket. */
export function registerSyntheticCommands(sock: AppSocket, app: SyntheticApp): void {
  const parse = (params: string[]): [string, boolean] => {
    const [port, state] = params;
    if (port === undefined || (state !== "up" && state !== "down")) throw new Error("Usage: <port>,up|down");
    return [port, state === "up"];
  };
  sock.registerCommand("/synth/admin", (params) => {
    const [port, up] = parse(params);
    app.setAdmin(port, up);
    return { port, admin_up: up };
  }, "Set a port admin up or down: /synth/admin,<port>,up|down");
  sock.registerCommand("/synth/link", (params) => {
    const [port, up] = parse(params);
    app.setLink(port, up);
    return { port, link_up: up };
  }, "Set a port's link up or down: /synth/link,<port>,up|down");
}

/** Runs a synthetic app process until SIGINT/SIGTERM. */
export function main(argv: string[]): void {
  const opts: SyntheticOptions = {};
  let socketDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === "--socket-dir") socketDir = v();
    else if (a === "--name") opts.name = v();
    else if (a === "--ports") opts.ports = v().split(",");
    else if (a === "--pps") opts.pps = Number(v());
    else if (a === "--size") opts.size = Number(v());
    else throw new Error(`Unknown option '${a}'`);
  }
  const app = new SyntheticApp(opts);
  const sock = AppSocket.open(app, socketDir !== undefined ? { socketDir } : {});
  registerSyntheticCommands(sock, app);
  const stop = (): void => {
    sock.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  process.stdout.write(`ready ${sock.path}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2));
}

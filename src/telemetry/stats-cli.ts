/**
 * `xdplane stats [--socket-dir <dir>] [--app <name|pid>] [--interval <ms>] [--count <n>] [--json]`: the
 * terminal client. Reads the apps' command sockets directly (no exporter needed) and prints their ports
 * (totals, packet and bit rates, errors) and threads, refreshed every interval: redrawn in place on a
 * terminal, one block (or one JSON line with --json) per interval otherwise.
 */
import { readdirSync, lstatSync } from "node:fs";
import { join } from "node:path";
import { AppClient, type AppSnapshot, type PortView } from "./app-client.js";
import { APP_SOCKET_PREFIX, DEFAULT_SOCKET_DIR } from "./app-socket.js";
import { cliValues, str } from "./cli-args.js";
import { portUp } from "./model.js";

export const STATS_USAGE = `Usage: xdplane stats [options]

Prints the ports and threads of running xdplane (or CNDP) apps, live.

Options:
  --socket-dir <dir>   app socket folder (default ${DEFAULT_SOCKET_DIR})
  --app <name|pid>     only this app
  --interval <ms>      refresh interval (default 1000)
  --count <n>          stop after n refreshes (default: until Ctrl-C)
  --json               one JSON object per refresh
  -h, --help           this text
`;

export interface StatsArgs {
  socketDir: string;
  app?: string;
  intervalMs: number;
  count: number;
  json: boolean;
  help: boolean;
}

/** Parses the arguments; throws RangeError with a message for the user. */
export function parseStatsArgs(argv: readonly string[]): StatsArgs {
  const v = cliValues(argv, {
    "socket-dir": { type: "string" }, app: { type: "string" }, interval: { type: "string" },
    count: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" },
  });
  const int = (name: string, x: string | undefined, min: number, dflt: number): number => {
    if (x === undefined) return dflt;
    const n = Number(x);
    if (x === "" || !Number.isInteger(n) || n < min) throw new RangeError(`Invalid --${name} '${x}': an integer >= ${min}`);
    return n;
  };
  const a: StatsArgs = {
    socketDir: str(v["socket-dir"]) ?? DEFAULT_SOCKET_DIR,
    intervalMs: int("interval", str(v["interval"]), 50, 1000),
    count: int("count", str(v["count"]), 1, Infinity),
    json: v["json"] === true,
    help: v["help"] === true,
  };
  const app = str(v["app"]);
  if (app !== undefined) a.app = app;
  return a;
}

/** Per-second rates of a port between two snapshots. */
export interface PortRates {
  rxPps: number;
  txPps: number;
  rxBps: number;
  txBps: number;
}

/** Rates from `prev` to `cur` (undefined without a previous reading or time). */
export function portRates(prev: PortView | undefined, cur: PortView, dtMs: number): PortRates | undefined {
  if (prev === undefined || dtMs <= 0) return undefined;
  const d = (a: number | undefined, b: number | undefined): number => Math.max(0, (b ?? 0) - (a ?? 0)) / (dtMs / 1000);
  return {
    rxPps: d(prev.stats.ipackets, cur.stats.ipackets),
    txPps: d(prev.stats.opackets, cur.stats.opackets),
    rxBps: 8 * d(prev.stats.ibytes, cur.stats.ibytes),
    txBps: 8 * d(prev.stats.obytes, cur.stats.obytes),
  };
}

const fmtInt = (n: number | undefined): string => (n === undefined ? "-" : Math.round(n).toLocaleString("en-US"));
const fmtRate = (n: number | undefined, div = 1): string =>
  n === undefined ? "-" : (n / div).toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** Aligns columns: the first `left` columns to the left, the others (numbers) to the right. */
function table(rows: string[][], left: number): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) => r.map((c, i) => (i < left ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd())
    .join("\n");
}

/** An app-defined metric family as `/metrics/app` answers it (only what is printed). */
export interface AppMetricView {
  name: string;
  samples: { labels?: Record<string, string>; value: number }[];
}

/** The families of a `/metrics/app` reply, malformed entries left out. */
export function appMetricsOf(reply: Record<string, unknown>): AppMetricView[] {
  const list = Array.isArray(reply["metrics"]) ? (reply["metrics"] as unknown[]) : [];
  return list.flatMap((f) => {
    const o = (f ?? {}) as { name?: unknown; samples?: unknown };
    if (typeof o.name !== "string" || !Array.isArray(o.samples)) return [];
    const samples = (o.samples as { labels?: unknown; value?: unknown }[])
      .filter((x) => typeof x?.value === "number")
      .map((x) => ({ value: x.value as number, ...(x.labels && typeof x.labels === "object" ? { labels: x.labels as Record<string, string> } : {}) }));
    return [{ name: o.name, samples }];
  });
}

/** Renders one app as text: ports, threads, the ports' other counters (a mode's), app-defined metrics. */
export function renderApp(s: AppSnapshot, prev: AppSnapshot | undefined, metrics: readonly AppMetricView[] = []): string {
  const dt = prev !== undefined ? s.time - prev.time : 0;
  const rows: string[][] = [["Port", "State", "RX pkts", "RX pps", "RX Mbps", "TX pkts", "TX pps", "TX Mbps", "Errors", "Missed", "Dropped"]];
  for (const p of s.ports) {
    const r = portRates(prev?.ports.find((x) => x.name === p.name), p, dt);
    const state = !p.adminUp ? "down" : p.linkUp === false ? "no-link" : "up";
    rows.push([
      p.name,
      state,
      fmtInt(p.stats.ipackets),
      fmtRate(r?.rxPps),
      fmtRate(r?.rxBps, 1e6),
      fmtInt(p.stats.opackets),
      fmtRate(r?.txPps),
      fmtRate(r?.txBps, 1e6),
      fmtInt((p.stats.ierrors ?? 0) + (p.stats.oerrors ?? 0)),
      fmtInt(p.stats.imissed),
      fmtInt(p.stats.odropped),
    ]);
  }
  const trows: string[][] = [["Thread", "Type", "Status", "Ports", "Counters"]];
  for (const t of s.threads) {
    const counters = Object.entries(t.counters).map(([k, v]) => `${k}=${fmtInt(v)}`).join(" ");
    trows.push([t.name, t.type, t.running ? "running" : "paused", t.ports.join(",") || "-", counters]);
  }
  const up = s.ports.filter(portUp).length;
  const head = `${s.name} (pid ${s.pid}, ${s.version || "unknown version"}): ${s.ports.length} ports (${up} up), ${s.threads.length} threads`;
  let extra = "";
  const xrows = s.ports.filter((p) => Object.keys(p.extra).length > 0).map((p) => [p.name, Object.entries(p.extra).map(([k, v]) => `${k}=${fmtInt(v)}`).join(" ")]);
  if (xrows.length > 0) extra += `\n${table([["Port", "Counters"], ...xrows], 2)}\n`;
  const mrows = metrics.flatMap((m) => m.samples.map((x) => {
    const l = Object.entries(x.labels ?? {}).map(([k, v]) => `${k}="${v}"`).join(",");
    return [`${m.name}${l ? `{${l}}` : ""}`, fmtInt(x.value)];
  }));
  if (mrows.length > 0) extra += `\n${table([["App metric", "Value"], ...mrows], 1)}\n`;
  return `${head}\n${table(rows, 2)}\n\n${table(trows, 5)}\n${extra}`;
}

/** The JSON form of one app with rates (and its app-defined metrics, when it has any). */
export function appJson(s: AppSnapshot, prev: AppSnapshot | undefined, metrics: readonly AppMetricView[] = []): Record<string, unknown> {
  const dt = prev !== undefined ? s.time - prev.time : 0;
  return {
    name: s.name,
    pid: s.pid,
    version: s.version,
    ports: s.ports.map((p) => ({ ...p, rates: portRates(prev?.ports.find((x) => x.name === p.name), p, dt) ?? null })),
    threads: s.threads,
    ...(metrics.length > 0 ? { metrics } : {}),
  };
}

/** The app socket paths in a folder. */
export function listAppSockets(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(APP_SOCKET_PREFIX))
    .map((n) => join(dir, n))
    .filter((p) => {
      try {
        return lstatSync(p).isSocket();
      } catch {
        return false;
      }
    })
    .sort();
}

export interface StatsIo {
  out: { write(s: string): unknown; isTTY?: boolean };
  err: { write(s: string): unknown };
}

/** Runs `xdplane stats`; resolves with the exit code (0, 2 on bad arguments). */
export async function main(argv: readonly string[], io: StatsIo = { out: process.stdout, err: process.stderr }): Promise<number> {
  let args: StatsArgs;
  try {
    args = parseStatsArgs(argv);
  } catch (e) {
    io.err.write(`xdplane stats: ${(e as Error).message}\n\n${STATS_USAGE}`);
    return 2;
  }
  if (args.help) {
    io.out.write(STATS_USAGE);
    return 0;
  }
  const live = io.out.isTTY === true && !args.json;
  const clients = new Map<string, AppClient>();
  const prev = new Map<string, AppSnapshot>();
  let stopping = false;
  let wake: (() => void) | null = null;
  const onSig = (): void => {
    stopping = true;
    wake?.();
  };
  process.on("SIGINT", onSig);
  try {
    for (let round = 0; round < args.count && !stopping; round++) {
      if (round > 0) {
        // Referenced timer and clients: while the command waits for the next round or for an app's reply,
        // they are what keeps the process alive (unref'd, Node exited before printing anything).
        let t: NodeJS.Timeout | undefined;
        await new Promise<void>((r) => {
          wake = r;
          t = setTimeout(r, args.intervalMs);
        });
        clearTimeout(t);
        wake = null;
        if (stopping) break;
      }
      // Connect to new sockets; forget closed ones.
      const paths = listAppSockets(args.socketDir);
      for (const [p, c] of clients) if (c.isClosed || !paths.includes(p)) { c.close(); clients.delete(p); prev.delete(p); }
      for (const p of paths) {
        if (clients.has(p)) continue;
        try {
          const c = await AppClient.connect(p, { timeoutMs: 2000 });
          clients.set(p, c);
        } catch {
          // stale socket or app going away: skip
        }
      }
      const snaps: { path: string; snap: AppSnapshot; metrics: AppMetricView[] }[] = [];
      for (const [p, c] of clients) {
        try {
          const snap = await c.snapshot();
          if (args.app !== undefined && snap.name !== args.app && String(snap.pid) !== args.app) continue;
          const metrics = (await c.commands()).includes("/metrics/app") ? appMetricsOf(await c.request("/metrics/app")) : [];
          snaps.push({ path: p, snap, metrics });
        } catch {
          c.close();
          clients.delete(p);
        }
      }
      const time = new Date().toISOString();
      if (args.json) {
        io.out.write(`${JSON.stringify({ time, apps: snaps.map(({ path, snap, metrics }) => appJson(snap, prev.get(path), metrics)) })}\n`);
      } else {
        let text = live ? "\x1b[H\x1b[2J" : "";
        text += `xdplane stats  ${time}  ${args.socketDir}${live ? "  (Ctrl-C to quit)" : ""}\n\n`;
        if (snaps.length === 0) text += `No ${args.app !== undefined ? `app '${args.app}'` : "apps"} found in ${args.socketDir}\n`;
        for (const { path, snap, metrics } of snaps) text += `${renderApp(snap, prev.get(path), metrics)}\n`;
        io.out.write(text);
      }
      for (const { path, snap } of snaps) prev.set(path, snap);
    }
  } finally {
    process.off("SIGINT", onSig);
    for (const c of clients.values()) c.close();
  }
  return 0;
}

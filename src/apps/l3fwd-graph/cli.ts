/**
 * `xdplane l3fwd-graph -c <cfg.jsonc>`: command line of the graph router (CNDP's l3fwd-graph example).
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../../config/index.js";
import { createLogger } from "../../telemetry/log.js";
import { frameReportLine, reportExitCode, runUntilStopped } from "../../cnf/cli-run.js";
import { formatGraphStats } from "../../graph/stats.js";
import { L3fwdGraphApp, l3fwdGraphDot } from "./app.js";

export const usage = `Usage: xdplane l3fwd-graph -c <cfg.jsonc> [options]

Routes IPv4 between the config's lports through a packet graph, one graph per configured thread
(CNDP's l3fwd-graph): pktdev_rx -> pkt_cls -> ip4_lookup -> ip4_rewrite -> pktdev_tx, and pkt_drop.
Routes: the config's options."l3fwd-fib-rules", "<ip>/<depth>,<next-hop MAC>,<tx lport index>" each
(default: CNDP's 198.18.<i>.0/24 to lport i, next hop 02:00:00:00:00:<i>).

Options:
  -c, --config <file>     jsonc configuration (CNDP jcfg format)
  -b, --burst <n>         packets per burst, 1-256 (default: config defaults.burst, 64)
      --dot               print each thread's graph (Graphviz) and exit; opens no port
      --graph-stats <s>   all (calls, objects, time; default), counts (no clock reads) or none
      --duration <s>      stop after this many seconds (default: run until SIGINT/SIGTERM)
      --interval <ms>     stats interval (default 1000); 0 prints no periodic stats
      --json              print stats lines and the final summary as JSON
      --debug-frames      track frame ownership; exit 1 on leaks, double frees, bad kernel returns
      --socket-dir <dir>  where the command socket app_socket.<pid> goes (default /var/run/cndp)
      --no-socket         open no command socket
  -h, --help              this text

App socket commands: /graph/stats[,<thread>] (per node calls, objects, time), /graph/dot[,<thread>].
`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      burst: { type: "string", short: "b" },
      dot: { type: "boolean" },
      "graph-stats": { type: "string" },
      duration: { type: "string" },
      interval: { type: "string" },
      json: { type: "boolean" },
      "debug-frames": { type: "boolean" },
      "socket-dir": { type: "string" },
      "no-socket": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (!values.config) {
    process.stderr.write(`xdplane l3fwd-graph: missing -c <cfg.jsonc>\n\n${usage}`);
    return 2;
  }
  if (positionals.length > 0) {
    process.stderr.write(`xdplane l3fwd-graph: unexpected argument(s) ${positionals.join(" ")}\n`);
    return 2;
  }
  const collect = values["graph-stats"] ?? "all";
  if (collect !== "all" && collect !== "counts" && collect !== "none") {
    process.stderr.write(`xdplane l3fwd-graph: --graph-stats '${collect}': expected all, counts or none\n`);
    return 2;
  }
  const logger = createLogger({ name: "l3fwd-graph" });
  if (values.dot) {
    // The graphs of the config as it stands: no netdev, CPU or memory is needed to draw them.
    const { config } = loadConfig(values.config, { netdevCheck: "off", cpuCheck: "off", memoryCheck: "off" });
    process.stdout.write(l3fwdGraphDot(config));
    return 0;
  }
  const json = values.json ?? false;
  const debug = values["debug-frames"] ?? false;
  const { config, warnings } = loadConfig(values.config);
  for (const w of warnings) createLogger({ name: "config" }).log("warning", w.text);
  const num = (v: string | undefined, what: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new RangeError(`Invalid ${what} '${v}': a non-negative number`);
    return n;
  };
  const burst = num(values.burst, "--burst");
  const duration = num(values.duration, "--duration");
  const interval = num(values.interval, "--interval") ?? 1000;
  const log = (m: string) => logger.log("info", m);
  let app: L3fwdGraphApp;
  try {
    app = await L3fwdGraphApp.start({
      config, log, collect,
      ...(burst !== undefined ? { burst } : {}),
      ...(debug ? { debugFrames: true } : {}),
      socket: values["no-socket"] ? false : { ...(values["socket-dir"] ? { socketDir: values["socket-dir"] } : {}) },
    });
  } catch (e) {
    const err = e as Error;
    if (/socket/i.test(err.message) && !values["no-socket"]) {
      throw new Error(`${err.message} (use --socket-dir <dir> or --no-socket)`);
    }
    throw e;
  }
  log(`xdplane l3fwd-graph: ${app.ports.length} port(s), ${app.threads.length} graph(s), ${app.routes.routes.length} route(s)${app.socket ? `, socket ${app.socket.path}` : ""}`);
  for (const r of app.routeLines()) log(`route ${r}`);
  app.rates();
  const stop = async (): Promise<number> => {
    clearInterval(timer);
    const final = app.rates();
    const threads = app.threadStats();
    const report = await app.stop();
    const graph = app.graphStats();
    const summary = { ports: final, threads, graph: { walks: graph.total.walks, nodes: graph.total.nodes }, ...report };
    if (json) process.stdout.write(`${JSON.stringify({ type: "summary", ...summary })}\n`);
    else {
      process.stdout.write(formatGraphStats(graph.total));
      for (const p of final) process.stdout.write(`${p.name}: rx ${p.ipackets} tx ${p.opackets} drops ${p.drops}\n`);
      process.stdout.write(frameReportLine(report, `, inbox leftovers: ${report.inboxLeftovers}`));
    }
    for (const f of report.faults) logger.log("err", f);
    return reportExitCode(report, debug);
  };
  const timer = setInterval(() => {
    const rates = app.rates();
    const graph = app.graphStats().total;
    if (json) process.stdout.write(`${JSON.stringify({ type: "stats", t: Date.now(), ports: rates, graph: { walks: graph.walks, nodes: graph.nodes } })}\n`);
    else {
      for (const r of rates) process.stdout.write(`${r.name.padEnd(16)} rx ${fmt(r.rxPps)} pps  tx ${fmt(r.txPps)} pps  drops ${r.drops}\n`);
      process.stdout.write(formatGraphStats(graph));
    }
  }, interval > 0 ? interval : 2 ** 30);
  return await runUntilStopped(stop, duration);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US").padStart(12);
}

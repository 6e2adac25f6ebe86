/**
 * `xdplane cnet -c <cfg.jsonc>`: the user-space stack on the config's lports, with built-in services.
 */
import { parseArgs } from "node:util";
import { frameReportLine, reportExitCode, runUntilStopped } from "../../cnf/cli-run.js";
import { loadConfig } from "../../config/index.js";
import { createLogger } from "../../telemetry/log.js";
import { CnetApp } from "./app.js";

export const usage = `Usage: xdplane cnet -c <cfg.jsonc> [options]

Runs the cnet stack (CNDP's cnet) on the config's lports: ARP, IPv4, ICMP echo and port unreachable,
UDP with channels. Addresses, routes and neighbours are Linux's, learned from each lport's netdev over
rtnetlink and followed live (ip addr/route/neigh on the netdev).

Options:
  -c, --config <file>     jsonc configuration (CNDP jcfg format)
      --udp-echo <port>   echo UDP datagrams received on this port back to their sender
      --tcp-echo <port>   echo TCP connections on this port (Node streams over the stack)
      --tcp-discard <port>  read and drop what TCP connections on this port send
      --http <port>       Node's http server over the stack: a page of the stack's counters (/stats.json: JSON)
      --iperf3 <port>     an iperf3 server over the stack (TCP, the client sending: iperf3 -c <address> -p <port>)
      --punt              what the stack does not handle goes to the kernel through a TAP (pt-<netdev>)
  -b, --burst <n>         packets per burst, 1-256 (default: config defaults.burst)
      --netns <ns>        namespace of the lports' netdevs (a name under /run/netns or a path)
      --duration <s>      stop after this many seconds (default: run until SIGINT/SIGTERM)
      --json              print the final summary as JSON
      --debug-frames      track frame ownership; exit 1 on leaks, double frees, bad kernel returns
      --socket-dir <dir>  where the command socket app_socket.<pid> goes (default /var/run/cndp)
      --no-socket         open no command socket
  -h, --help              this text

App socket commands: /cnet/stats (per-protocol counters), /cnet/interfaces, /cnet/addresses,
/cnet/routes, /cnet/arp, /cnet/nd, /cnet/tcp (connections and states), /metrics/app (Prometheus: the
exporter publishes xdplane_app_cnet_<protocol>_total{counter} and xdplane_app_cnet_tcp_connections{state}).

With --tcp-echo, --tcp-discard, --http or --iperf3 each thread runs its stack on its event loop (Node streams);
otherwise it busy-polls (idle_timeout in the config lets it sleep).
`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      "udp-echo": { type: "string" },
      "tcp-echo": { type: "string" },
      "tcp-discard": { type: "string" },
      http: { type: "string" },
      iperf3: { type: "string" },
      punt: { type: "boolean" },
      burst: { type: "string", short: "b" },
      netns: { type: "string" },
      duration: { type: "string" },
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
    process.stderr.write(`xdplane cnet: missing -c <cfg.jsonc>\n\n${usage}`);
    return 2;
  }
  if (positionals.length > 0) {
    process.stderr.write(`xdplane cnet: unexpected argument(s) ${positionals.join(" ")}\n`);
    return 2;
  }
  const num = (v: string | undefined, what: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new RangeError(`Invalid ${what} '${v}': a non-negative number`);
    return n;
  };
  const udpEcho = num(values["udp-echo"], "--udp-echo");
  const tcpEcho = num(values["tcp-echo"], "--tcp-echo");
  const tcpDiscard = num(values["tcp-discard"], "--tcp-discard");
  const httpPort = num(values.http, "--http");
  const iperf3 = num(values.iperf3, "--iperf3");
  const burst = num(values.burst, "--burst");
  const duration = num(values.duration, "--duration");
  const logger = createLogger({ name: "cnet" });
  const log = (m: string) => logger.log("info", m);
  const { config, warnings } = loadConfig(values.config, values.netns !== undefined ? { netdevCheck: "off" } : {});
  for (const w of warnings) createLogger({ name: "config" }).log("warning", w.text);
  const debug = values["debug-frames"] ?? false;
  const app = await CnetApp.start({
    config, log,
    ...(udpEcho !== undefined ? { udpEcho } : {}),
    ...(tcpEcho !== undefined ? { tcpEcho } : {}),
    ...(tcpDiscard !== undefined ? { tcpDiscard } : {}),
    ...(httpPort !== undefined ? { http: httpPort } : {}),
    ...(iperf3 !== undefined ? { iperf3 } : {}),
    ...(values.punt ? { punt: true } : {}),
    ...(burst !== undefined ? { burst } : {}),
    ...(values.netns !== undefined ? { netns: values.netns } : {}),
    ...(debug ? { debugFrames: true } : {}),
    socket: values["no-socket"] ? false : { ...(values["socket-dir"] ? { socketDir: values["socket-dir"] } : {}) },
  });
  const d = app.tables.describe();
  log(`xdplane cnet: ${app.ports.length} port(s), addresses ${d.addresses.join(", ") || "none"}${udpEcho !== undefined ? `, UDP echo on ${udpEcho}` : ""}${tcpEcho !== undefined ? `, TCP echo on ${tcpEcho}` : ""}${tcpDiscard !== undefined ? `, TCP discard on ${tcpDiscard}` : ""}${httpPort !== undefined ? `, HTTP on ${httpPort}` : ""}${iperf3 !== undefined ? `, iperf3 on ${iperf3}` : ""}${app.socket ? `, socket ${app.socket.path}` : ""}`);
  const stop = async (): Promise<number> => {
    const stats = app.stats();
    const report = await app.stop();
    const summary = { ...stats, ...report };
    if (values.json) process.stdout.write(`${JSON.stringify({ type: "summary", ...summary })}\n`);
    else {
      for (const [k, v] of Object.entries(stats.counters)) if (v !== 0) process.stdout.write(`${k.padEnd(24)} ${v}\n`);
      process.stdout.write(frameReportLine(report));
    }
    for (const f of report.faults) logger.log("err", f);
    return reportExitCode(report, debug);
  };
  return await runUntilStopped(stop, duration);
}
